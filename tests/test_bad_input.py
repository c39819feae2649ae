"""Each bad input gives a one-paragraph message, a non-zero exit, no traceback, nothing overwritten."""

import numpy as np
import pandas as pd

from tests.conftest import run_subprocess, write_iris_csv
from tests.helpers.refusals import refused


def test_missing_file(cli, tmp_path):
    refused(cli, "train", "--data", tmp_path / "nope.csv", says=["does not exist"])


def test_a_folder_without_images(cli, tmp_path):
    refused(cli, "train", "--data", tmp_path, says=["holds no images"])


def test_unknown_dataset_name_suggests_the_nearest(cli):
    refused(cli, "train", "--data", "fashon-mnist", says=["Did you mean 'fashion-mnist'"])


def test_label_column_not_found_lists_the_columns(cli, iris_csv):
    err = refused(cli, "train", "--data", iris_csv, "--label", "kind", says=["'kind' is not in"])
    assert "sepal_length" in err and "species" in err


def test_no_label_column_named_or_guessed(cli, tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": range(50), "b": range(50)}).to_csv(path, index=False)
    refused(cli, "train", "--data", path, says=["Which column"])


def test_nan_and_inf_features_name_columns_and_count_rows(cli, tmp_path, iris_csv):
    frame = pd.read_csv(iris_csv)
    frame.loc[[3, 7], "petal_width"] = np.nan
    frame.loc[9, "sepal_length"] = np.inf
    path = tmp_path / "nan.csv"
    frame.to_csv(path, index=False)
    err = refused(cli, "train", "--data", path, "--label", "species", "--missing", "error",
                       says=["NaN or infinite"])
    assert "3 row(s)" in err and "petal_width" in err and "sepal_length" in err
    # By default the gaps are filled with the median; an infinity is no gap and is still named.
    err = refused(cli, "train", "--data", path, "--label", "species", says=["NaN or infinite"])
    assert "1 row(s)" in err and "sepal_length" in err and "petal_width" not in err


def test_a_single_class(cli, tmp_path):
    path = tmp_path / "one.csv"
    pd.DataFrame({"a": np.arange(100) + 0.5, "label": ["yes"] * 100}).to_csv(path, index=False)
    refused(cli, "train", "--data", path, "--task", "binary", says=["single class"])


def test_fewer_rows_than_the_batch_size(cli):
    refused(cli, "train", "--data", "iris", "--batch-size", "500", says=["fewer than one batch"])


def test_unknown_activation_and_optimizer(cli):
    refused(cli, "train", "--activation", "relu6", says=["Did you mean 'relu'"])
    refused(cli, "train", "--optimizer", "rmsprp", says=["Did you mean 'rmsprop'"])


def test_bad_config_key_in_a_file(cli, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  learning_rate: 0.1\n")
    refused(cli, "train", path, says=["unknown key 'train.learning_rate'"])


def test_an_existing_run_directory_is_never_written_over(cli, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "model.json").write_text("precious")
    refused(cli, "train", "--data", "iris", "--out", out, says=["already exists"])
    assert (out / "model.json").read_text() == "precious"


def test_predict_input_with_the_wrong_number_of_features(cli, tmp_path):
    code, _, _ = cli("train", "--data", "iris", "--epochs", "1", "--out", tmp_path / "run", "-q")
    assert code == 0
    path = tmp_path / "wide.csv"
    pd.DataFrame(np.ones((3, 7))).to_csv(path, index=False, header=False)
    refused(cli, "predict", tmp_path / "run", path, says=["7 feature column(s) but the model was trained on 4"])


def test_predict_from_a_folder_that_is_not_a_run(cli, tmp_path, iris_csv):
    refused(cli, "predict", tmp_path, iris_csv, says=["not a finished run"])


def test_ragged_csv_reports_the_line(cli, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,label\n1,2,0\n3,4,1\n5,6,7,1\n")
    refused(cli, "train", "--data", path, says=["line 4"])


def test_text_in_a_numeric_column_names_column_line_and_value(cli, tmp_path):
    path = tmp_path / "text.csv"
    rows = "\n".join(f"{i},{i % 2}" for i in range(40))
    path.write_text("a,label\n" + rows + "\nseven,1\n")
    err = refused(cli, "train", "--data", path, says=["Column 'a'"])
    assert "line 42" in err and "'seven'" in err


def test_empty_file(cli, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    refused(cli, "train", "--data", path, says=["is empty"])


def test_an_unseen_label_in_the_test_file(cli, tmp_path, iris_csv):
    frame = pd.read_csv(iris_csv)
    test = frame.head(10).copy()
    test.loc[0, "species"] = "rose"
    path = tmp_path / "test.csv"
    test.to_csv(path, index=False)
    refused(cli, "train", "--data", iris_csv, "--label", "species", "--test-data", path,
                 says=["never seen in training: 'rose'"])


def test_early_stopping_without_validation_data(cli):
    refused(cli, "train", "--data", "iris", "--validation-split", "0", "--patience", "3",
                 says=["no validation data"])


def test_set_without_equals(cli):
    refused(cli, "train", "--set", "train.lr", says=["KEY=VALUE"])


def test_the_console_command_prints_no_traceback(tmp_path):
    code, out, err = run_subprocess("train", "--data", tmp_path / "missing.csv")
    assert code == 2 and "Traceback" not in err and "does not exist" in err


def test_a_closed_pipe_ends_predict_quietly(tmp_path):
    """`densekit predict RUN FILE | head -1`: the reader leaves early; no error, no traceback."""
    import subprocess
    import sys
    import densekit
    csv = write_iris_csv(tmp_path)
    run = densekit.train(data__source=str(csv), data__label="species", train__epochs=1,
                         out=tmp_path / "run", quiet=True).run_dir
    proc = subprocess.Popen([sys.executable, "-m", "densekit.cli", "predict", str(run), str(csv)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # before densekit writes a line: its first write meets a closed pipe
    err = proc.stderr.read()
    assert (proc.wait(timeout=120), err) == (141, "")
