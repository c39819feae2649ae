"""Several outputs from one network (tasks/outputs.py): iris's species (a class) and its petal
width (a number) from one table, end to end through the command line, Python, the report,
predict, evaluate and serve; and each refusal of a bad output setting."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

import densekit
from densekit.data import dataset_from_memory
from tests.helpers.refusals import refused

LABELS = "species,petal_width"


@pytest.fixture(scope="module")
def two_heads(tmp_path_factory):
    """A finished run on iris's CSV with a class and a number as its two outputs."""
    from tests.conftest import write_iris_csv
    folder = tmp_path_factory.mktemp("outputs")
    csv = write_iris_csv(folder)
    result = densekit.train(data__source=str(csv), data__label=LABELS.split(","), train__seed=0,
                            out=folder / "run", quiet=True)
    return result.run_dir, csv


def test_each_output_has_its_figures_history_and_summary_row(two_heads):
    run, _ = two_heads
    metrics = json.loads((run / "metrics.json").read_text())
    test = metrics["test"]
    assert test["species_accuracy"] >= 0.9, test
    assert test["petal_width_r2"] >= 0.8, test
    assert set(test["outputs"]) == {"species", "petal_width"}
    assert len(test["outputs"]["species"]["confusion_matrix"]) == 3
    first = json.loads((run / "history.jsonl").read_text().splitlines()[0])
    assert {"val_loss", "val_species_accuracy", "val_petal_width_mae"} <= set(first)
    summary = (run / "model.json").read_text()
    assert "species" in summary and "petal_width" in summary


def test_the_command_line_trains_predicts_and_evaluates_two_outputs(cli, iris_csv, tmp_path):
    code, out, err = cli("train", "--data", iris_csv, "--label", LABELS, "--epochs", 40,
                         "--out", tmp_path / "run")
    assert code == 0, err
    assert "species (Dense)" in out and "petal_width (Dense)" in out, out
    assert "2 outputs" in out and "val_species_accuracy" in out
    code, _, err = cli("predict", tmp_path / "run", iris_csv, "--output", tmp_path / "p.csv")
    assert code == 0, err
    predicted = pd.read_csv(tmp_path / "p.csv")
    assert list(predicted.columns) == ["species", "species_prob_setosa", "species_prob_versicolor",
                                       "species_prob_virginica", "petal_width"]
    truth = pd.read_csv(iris_csv)
    assert (predicted["species"] == truth["species"]).mean() >= 0.85
    assert np.abs(predicted["petal_width"] - truth["petal_width"]).mean() < 0.3
    code, out, err = cli("evaluate", tmp_path / "run", iris_csv, "--json")
    assert code == 0, err
    assert {"species_accuracy", "petal_width_mae", "outputs"} <= set(json.loads(out))


def test_the_report_has_a_section_per_output(two_heads):
    run, _ = two_heads
    html = (run / "report.html").read_text()
    assert "Output: species" in html and "Output: petal_width" in html
    species = html.index("Output: species")
    assert "Confusion matrix" in html[species:] and "esidual" in html[html.index("Output: petal_width"):]


def test_python_takes_a_dict_of_targets_and_predicts_a_dict(tmp_path):
    from sklearn.datasets import load_iris
    bunch = load_iris()
    x, names = bunch.data[:, :3], bunch.target_names[bunch.target]
    dataset = dataset_from_memory(x, {"species": names, "petal_width": bunch.data[:, 3]})
    result = densekit.train(dataset=dataset, train__epochs=40, out=tmp_path / "run", quiet=True)
    assert result.metrics["test"]["species_accuracy"] >= 0.85
    predicted = densekit.load(result.run_dir).predict(x)
    assert set(predicted) == {"species", "petal_width"}
    assert (predicted["species"] == names).mean() >= 0.85
    assert np.abs(predicted["petal_width"].ravel() - bunch.data[:, 3]).mean() < 0.3


def test_early_stopping_can_watch_one_output(cli, iris_csv, tmp_path):
    code, out, err = cli("train", "--data", iris_csv, "--label", LABELS, "--epochs", 30,
                         "--set", "train.early_stopping.monitor=val_species_accuracy",
                         "--out", tmp_path / "run")
    assert code == 0, err
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["train"]["early_stopping"]["monitor"] == "val_species_accuracy"


def test_weights_from_the_config_file_reach_the_loss(cli, iris_csv, tmp_path):
    config = tmp_path / "two.yaml"
    config.write_text(f"data: {{source: {iris_csv}}}\n"
                      "model:\n  outputs:\n    species: {}\n"
                      "    petal_width: {task: regression, loss: huber, weight: 0.5}\n"
                      "train: {epochs: 5}\n")
    code, out, err = cli("train", config, "--out", tmp_path / "run")
    assert code == 0, err
    assert "petal_width: regression, loss huber × 0.5" in out


def test_serve_answers_one_field_per_output(two_heads):
    pytest.importorskip("starlette")
    from densekit.serve.inputs import Payload
    from densekit.serve.model import ServedModel
    run, csv = two_heads
    served = ServedModel.load(run, backend="torch")
    rows = pd.read_csv(csv).drop(columns=["species", "petal_width"]).head(3)
    batch = rows.to_dict("list") if served.schema.encoded else rows.to_numpy(np.float32)
    answer = json.loads(served.predict_batch([Payload(batch, 3)])[0])
    first = answer["predictions"][0]
    assert set(first) == {"species", "petal_width"}
    assert first["species"]["label"] == "setosa" and set(first["species"]["probabilities"]) >= {"setosa"}
    assert abs(first["petal_width"]["value"] - 0.2) < 0.3
    assert set(served.metadata({})["outputs"]) == {"species", "petal_width"}


def test_export_says_it_does_not_take_several_outputs_yet(cli, two_heads, tmp_path):
    run, _ = two_heads
    refused(cli, "export", run, "--output", tmp_path / "m.onnx", says=["several outputs"])
    assert not (tmp_path / "m.onnx").exists()


# ------------------------------------------------------------------ bad input


def refused_run(cli, tmp_path, *args, says):
    refused(cli, "train", *args, "--out", tmp_path / "run", says=says)
    assert not (tmp_path / "run").exists()


def test_a_column_named_twice_is_refused(cli, iris_csv, tmp_path):
    refused_run(cli, tmp_path, "--data", iris_csv, "--label", "species,species,petal_width",
                says=["'species'", "named twice"])


def test_an_output_that_is_no_label_column_is_refused(cli, iris_csv, tmp_path):
    refused_run(cli, tmp_path, "--data", iris_csv, "--label", LABELS,
                "--set", "model.outputs.sepal_width.weight=1", says=["sepal_width", "data.label"])


@pytest.mark.parametrize("weight, says", [("-1", "greater than or equal to 0"), ("inf", "finite"),
                                          ("nan", "finite")])
def test_a_negative_or_non_finite_weight_is_refused(cli, iris_csv, tmp_path, weight, says):
    refused_run(cli, tmp_path, "--data", iris_csv, "--label", LABELS,
                "--set", f"model.outputs.petal_width.weight={weight}",
                says=["model.outputs.petal_width.weight", says])


def test_a_monitor_naming_no_output_is_refused(cli, iris_csv, tmp_path):
    refused_run(cli, tmp_path, "--data", iris_csv, "--label", LABELS,
                "--set", "train.early_stopping.monitor=val_colour_accuracy",
                says=["val_colour_accuracy", "val_species_accuracy", "val_petal_width_mae"])


def test_one_loss_for_several_outputs_is_refused(cli, iris_csv, tmp_path):
    refused_run(cli, tmp_path, "--data", iris_csv, "--label", LABELS, "--set", "model.loss=mse",
                says=["model.loss", "model.outputs.NAME.loss"])


def test_one_task_for_several_outputs_is_refused(cli, iris_csv, tmp_path):
    refused_run(cli, tmp_path, "--data", iris_csv, "--set", "model.outputs.species.weight=1",
                "--set", "model.outputs.petal_width.weight=1", "--set", "data.task=regression",
                says=["data.task", "model.outputs.NAME.task"])


def test_a_loss_that_does_not_fit_its_output_names_the_output(cli, iris_csv, tmp_path):
    refused_run(cli, tmp_path, "--data", iris_csv, "--label", LABELS,
                "--set", "model.outputs.petal_width.loss=cross_entropy",
                says=["Output 'petal_width'", "cross_entropy", "Allowed"])


def test_rows_missing_one_label_are_counted_per_column(cli, iris_csv, tmp_path):
    frame = pd.read_csv(iris_csv)
    frame.loc[[3, 7], "petal_width"] = np.nan
    frame.loc[5, "species"] = None
    frame.to_csv(iris_csv, index=False)
    refused_run(cli, tmp_path, "--data", iris_csv, "--label", LABELS,
                says=["species 1 missing", "petal_width 2 missing", "3 rows", "dropna"])


# ------------------------------------------------------------------ a multi-label group and a number


def digits_properties(folder):
    """The digits as a user's CSV: 64 pixels, then what the digit is (even, above four, a
    prime: three 0/1 labels of one multilabel output) and its value as a number."""
    from sklearn.datasets import load_digits
    bunch = load_digits()
    frame = pd.DataFrame(bunch.data, columns=[f"p{i}" for i in range(64)])
    digit = bunch.target
    frame["even"], frame["above_four"] = (digit % 2 == 0).astype(int), (digit > 4).astype(int)
    frame["prime"] = np.isin(digit, [2, 3, 5, 7]).astype(int)
    frame["value"] = digit.astype(float)
    path = folder / "digits.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_multilabel_group_and_a_number_train_as_two_heads(cli, tmp_path):
    config = tmp_path / "group.yaml"
    config.write_text(f"data: {{source: {digits_properties(tmp_path)}}}\n"
                      "model:\n  outputs:\n    digit_is: {columns: [even, above_four, prime]}\n"
                      "    value: {task: regression}\n"
                      "train: {epochs: 30}\n")
    code, out, err = cli("train", config, "--out", tmp_path / "run")
    assert code == 0, err
    assert "digit_is: multilabel, 3 labels" in out and "digit_is (Dense)" in out, out
    test = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    assert test["outputs"]["digit_is"]["f1_micro"] >= 0.9 and test["value_r2"] >= 0.8, test
    assert set(test["outputs"]["digit_is"]["per_label"]) == {"even", "above_four", "prime"}
    code, _, err = cli("predict", tmp_path / "run", tmp_path / "digits.csv", "--output", tmp_path / "p.csv")
    assert code == 0, err
    assert list(pd.read_csv(tmp_path / "p.csv").columns) == [
        "digit_is_even", "digit_is_above_four", "digit_is_prime",
        "digit_is_prob_even", "digit_is_prob_above_four", "digit_is_prob_prime", "value"]


def test_a_group_of_one_column_or_of_text_is_refused(cli, iris_csv, tmp_path):
    refused_run(cli, tmp_path, "--data", iris_csv, "--set", "model.outputs.kind.columns=[species]",
                says=["two or more", "model.outputs.kind"])
    refused_run(cli, tmp_path, "--data", iris_csv, "--set", "model.outputs.kind.columns=[species,petal_width]",
                says=["Output 'kind'", "0/1"])


def test_a_column_in_two_outputs_is_refused(cli, iris_csv, tmp_path):
    refused_run(cli, tmp_path, "--data", iris_csv, "--set", "model.outputs.a.columns=[species,petal_width]",
                "--set", "model.outputs.petal_width.weight=1", says=["'petal_width'", "more than one output"])


def test_kill_9_mid_epoch_then_resume_is_bit_identical(tmp_path):
    from tests.helpers.runs import kill_resume_and_compare, reference_run
    values = {"data": {"source": str(digits_properties(tmp_path))},
              "model": {"hidden": [16], "outputs": {"digit_is": {"columns": ["even", "above_four", "prime"]},
                                                    "value": {"task": "regression", "weight": 0.5}}},
              "train": {"epochs": 3, "batch_size": 8, "tensorboard": False,
                        "checkpoint": {"every_epochs": 0, "every_steps": 25}}}
    (tmp_path / "reference").mkdir()
    ref_run, config = reference_run(tmp_path / "reference", values)
    kill_resume_and_compare(ref_run, config, tmp_path / "run", after_step=150)


def test_a_group_given_another_task_is_refused(cli, tmp_path):
    refused_run(cli, tmp_path, "--data", digits_properties(tmp_path),
                "--set", "model.outputs.digit_is.columns=[even,above_four,prime]",
                "--set", "model.outputs.digit_is.task=regression", "--set", "model.outputs.value.task=regression",
                says=["Output 'digit_is'", "not regression", "multilabel"])
