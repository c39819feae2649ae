"""A newcomer's first hour (issue 19): what a new user ran into, each checked where it can fail."""

import json
import warnings

import numpy as np
import pytest

import densekit
from tests.helpers.runs import copy_run


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adam"])
def test_no_scheduler_order_warning(tmp_path, optimizer):
    # The schedule wraps optimizer.step to record each call; a step bound before that wrapper
    # made PyTorch warn that the schedule stepped first (and claim it skipped a value).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        densekit.train(data__source="digits", train__optimizer=optimizer, train__schedule="step",
                       train__step_size=1, train__epochs=2, out=tmp_path / "run", quiet=True,
                       report=False)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "lr_scheduler.step()" in m], messages


def iris_with_gaps(folder, text_column: bool):
    """iris as a user's CSV with about one value in ten missing (and a text column with a gap)."""
    import numpy as np
    from sklearn.datasets import load_iris
    frame = load_iris(as_frame=True).frame
    rng = np.random.default_rng(0)
    for column in frame.columns[:4]:
        frame.loc[rng.random(len(frame)) < 0.1, column] = np.nan
    if text_column:
        frame["colour"] = np.where(rng.random(len(frame)) < 0.5, "red", "blue")
        frame.loc[3, "colour"] = None
    path = folder / f"gaps-{text_column}.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("text_column, inputs", [(False, 4), (True, 4 + 2)])
def test_summary_needs_only_shapes(tmp_path, cli, text_column, inputs):
    path = iris_with_gaps(tmp_path, text_column)
    code, out, _ = cli("summary", "--data", path, "--label", "target", "--hidden", "16")
    assert code == 0
    assert f"{inputs * 16 + 16:,}" in out and f"{16 * 3 + 3:,}" in out  # inputs → 16 → 3 classes
    # Training refuses the gaps under data.missing: error (by default it fills them).
    code, _, err = cli("train", "--data", path, "--label", "target", "--out", tmp_path / "run",
                       "--missing", "error", "-q")
    assert code == 2 and ("missing values" in err or "NaN" in err)


def test_evaluate_a_named_set_scores_the_runs_test_split(tmp_path, cli):
    import json
    # A seed and fraction other than the defaults, and stratified by class, as training split.
    run = tmp_path / "run"
    code, _, err = cli("train", "--data", "digits", "--epochs", "2", "--seed", "7",
                       "--test-split", "0.3", "--out", run, "-q")
    assert code == 0, err
    code, out, err = cli("evaluate", run, "digits", "--json")
    assert code == 0, err
    evaluated, trained = json.loads(out), json.loads((run / "metrics.json").read_text())["test"]
    assert evaluated["accuracy"] == pytest.approx(trained["accuracy"], abs=1e-12)
    assert evaluated["loss"] == pytest.approx(trained["loss"], rel=1e-5)
    assert sum(map(sum, evaluated["confusion_matrix"])) == 540  # 30 % of 1,797 rows, rounded up


def test_evaluate_a_named_set_the_run_never_split(tmp_path, cli, iris_csv):
    run = tmp_path / "run"
    code, _, err = cli("train", "--data", iris_csv, "--label", "species", "--epochs", "1", "--out", run, "-q")
    assert code == 0, err
    code, _, err = cli("evaluate", run, "iris")
    assert code == 2 and "no separate test part" in err and "trained on" in err


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """digits, 2 epochs, finished."""
    run = tmp_path_factory.mktemp("finished") / "run"
    result = densekit.train(data__source="digits", train__epochs=2, out=run, quiet=True)
    return result.run_dir


def test_resume_of_a_finished_run_says_so(finished_run, tmp_path, cli):
    run = copy_run(finished_run, tmp_path)
    before = (run / "metrics.json").read_bytes(), (run / "history.jsonl").read_bytes()
    code, out, _ = cli("resume", run)
    assert code == 0 and "is finished" in out and "2 epochs (72 steps)" in out
    assert f"densekit resume {run} --epochs 4 --force" in out
    assert ((run / "metrics.json").read_bytes(), (run / "history.jsonl").read_bytes()) == before


def test_resume_from_python_of_a_finished_run_returns_it_without_redoing_its_end(finished_run, tmp_path):
    run = copy_run(finished_run, tmp_path)
    files = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    said = []
    result = densekit.resume(run, log=said.append)
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == files
    assert any("is finished" in line for line in said)
    assert result.metrics == json.loads(files["metrics.json"]) and len(result.history) == 2
    x = np.eye(64, dtype=np.float32)
    assert np.array_equal(densekit.load(run).predict(x), densekit.load(finished_run).predict(x))
    assert result.card.n_inputs == 64 and result.model is not None
    assert result.config.train.epochs == 2 and result.run_dir == run


def test_resume_in_processes_of_a_finished_run_starts_none(finished_run, tmp_path, cli):
    run = copy_run(finished_run, tmp_path)
    code, out, _ = cli("resume", run, "--nproc", "2")
    assert code == 0 and "is finished" in out


def test_resume_trains_a_finished_run_longer_when_asked(finished_run, tmp_path, cli):
    import json
    run = copy_run(finished_run, tmp_path)
    code, _, err = cli("resume", run, "--epochs", "3")
    assert code == 2 and "--force" in err and "3 epochs (108 steps)" in err
    code, _, err = cli("resume", run, "--epochs", "3", "--force", "-q")
    assert code == 0, err
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert json.loads((run / "run.json").read_text())["steps"] == 108
    code, out, _ = cli("resume", run)
    assert code == 0 and "3 epochs (108 steps)" in out


def test_resume_of_an_early_stopped_run_says_so(tmp_path, cli):
    run = tmp_path / "run"
    densekit.train(data__source="iris", train__epochs=300, out=run, quiet=True, report=False,
                   **{"train.early_stopping.patience": 1})
    code, out, _ = cli("resume", run, "--epochs", "600", "--force")
    assert code == 0 and "is finished: early stopping" in out and "patience" in out


def test_crashed_runs_report_gives_a_resume_path_that_works_here(finished_run, tmp_path, monkeypatch):
    from densekit.report import build_report
    run = copy_run(finished_run, tmp_path / "project" / "runs")
    (run / "model.json").unlink()  # as a crash leaves it: no model yet
    monkeypatch.chdir(tmp_path / "project")
    assert "densekit resume runs/run</code>" in build_report(run).read_text()
    monkeypatch.chdir(run / "checkpoints")  # inside the run: an absolute path, not ../
    assert f"densekit resume {run.resolve()}</code>" in build_report(run).read_text()


def diabetes_csv(folder, rows=None, step=1):
    """scikit-learn's diabetes table with its target (disease progression) as integers,
    counted in units of `step`."""
    from sklearn.datasets import load_diabetes
    frame = load_diabetes(as_frame=True).frame.iloc[:rows]
    frame["target"] = (frame["target"] // step).round().astype(int)
    path = folder / "diabetes.csv"
    frame.to_csv(path, index=False)
    return path


def test_integer_targets_with_too_many_values_to_be_classes_are_inferred_a_quantity(tmp_path, cli):
    path = diabetes_csv(tmp_path, rows=300)  # 176 distinct whole numbers in 300 rows
    code, out, err = cli("train", "--data", path, "--epochs", "1", "--out", tmp_path / "run")
    assert code == 0, err
    assert "regression (inferred from integer labels with 176 distinct values" in out + err


def test_an_inferred_multiclass_task_suggests_regression(tmp_path, cli):
    # 300 rows hold 32 distinct integer targets (tens of the progression): few enough to be
    # inferred as classes, and the validation split holds values training never saw.
    path = diabetes_csv(tmp_path, rows=300, step=10)
    code, _, err = cli("train", "--data", path, "--epochs", "1", "--out", tmp_path / "a", "-q")
    assert code == 2 and "never seen in training" in err
    assert "multiclass was inferred" in err and "--task regression" in err
    # Given by the user, the task is not second-guessed...
    code, _, err = cli("train", "--data", path, "--epochs", "1", "--task", "multiclass",
                       "--out", tmp_path / "b", "-q")
    assert code == 2 and "never seen in training" in err and "--task regression" not in err
    # ...and the suggestion works.
    code, out, err = cli("train", "--data", path, "--epochs", "1", "--task", "regression",
                         "--out", tmp_path / "c", "-q")
    assert code == 0 and "mae" in out, err


def test_cv_refuses_a_bad_monitor_before_any_fold(tmp_path, cli):
    code, _, err = cli("cv", "--data", "iris", "--folds", "2", "--epochs", "2", "--monitor",
                       "val_mae", "--out", tmp_path / "cv")
    assert code == 2 and "Choose --monitor among" in err and "val_accuracy" in err
    assert not (tmp_path / "cv").exists()  # no fold trained, no folder made


def test_cv_with_missing_data_leaves_no_folder(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for out in (["--out", tmp_path / "cv"], []):  # a named folder, or the default runs/…
        code, _, err = cli("cv", "--data", tmp_path / "absent.csv", "--folds", "2", *out)
        assert code == 2 and "does not exist" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sep, decimal", [(";", ","), (";", "."), ("\t", "."), ("|", "."), (",", ".")])
def test_a_csv_file_is_read_whatever_its_separator(tmp_path, sep, decimal):
    from sklearn.datasets import load_iris
    from densekit.data.frames import read_frame
    frame = load_iris(as_frame=True).frame
    frame["name"] = "iris; " + frame["target"].astype(str)  # text holding a separator, quoted
    path = tmp_path / "iris.csv"
    frame.to_csv(path, sep=sep, decimal=decimal, index=False)
    read = read_frame(path)
    assert list(read.columns) == list(frame.columns)
    assert read.drop(columns="name").to_numpy().tolist() == frame.drop(columns="name").to_numpy().tolist()
    assert read["name"].tolist() == frame["name"].tolist()


def test_a_one_column_csv_is_read(tmp_path):
    from densekit.data.frames import read_frame
    path = tmp_path / "one.csv"
    path.write_text("y\n1.5\n2\n3\n")
    assert read_frame(path)["y"].tolist() == [1.5, 2.0, 3.0]


@pytest.fixture(scope="module")
def semicolon_iris_run(tmp_path_factory):
    """A model trained on iris written as a spreadsheet in a semicolon locale writes it."""
    from sklearn.datasets import load_iris
    folder = tmp_path_factory.mktemp("semicolon")
    frame = load_iris(as_frame=True).frame
    frame.to_csv(folder / "train.csv", sep=";", decimal=",", index=False)
    result = densekit.train(data__source=str(folder / "train.csv"), train__epochs=30,
                            train__lr=0.01, out=folder / "run", quiet=True, report=False)
    return result, frame


def test_a_semicolon_csv_trains(semicolon_iris_run):
    result, _ = semicolon_iris_run
    assert result.card.feature_names[0] == "sepal length (cm)" and result.task == "multiclass"
    assert result.metrics["test"]["accuracy"] >= 0.8


def test_predict_carries_an_id_column_through(semicolon_iris_run, tmp_path, cli):
    import pandas as pd
    result, frame = semicolon_iris_run
    rows = frame.drop(columns="target").iloc[::10]
    rows.to_csv(tmp_path / "plain.csv", index=False)
    rows.insert(0, "flower_id", [f"F{i:03d}" for i in rows.index])
    rows.to_csv(tmp_path / "with_id.csv", index=False)
    for name in ("plain", "with_id"):
        args = ["--id", "flower_id"] if name == "with_id" else []
        code, _, err = cli("predict", result.run_dir, tmp_path / f"{name}.csv", *args,
                           "--output", tmp_path / f"{name}-out.csv")
        assert code == 0, err
    plain, with_id = (pd.read_csv(tmp_path / f"{n}-out.csv") for n in ("plain", "with_id"))
    assert list(with_id.columns) == ["flower_id", *plain.columns]
    assert with_id["flower_id"].tolist() == [f"F{i:03d}" for i in range(0, 150, 10)]
    assert with_id.drop(columns="flower_id").equals(plain)  # the ID was no feature
    code, _, err = cli("predict", result.run_dir, tmp_path / "with_id.csv", "--id", "flower")
    assert code == 2 and "no column 'flower'" in err and "flower_id" in err
    code, _, err = cli("predict", result.run_dir, tmp_path / "with_id.csv", "--id", "petal width (cm)")
    assert code == 2 and "trained with 'petal width (cm)' as an input" in err


def test_regression_prints_r2_in_its_final_line(tmp_path):
    lines = []
    densekit.train(data__source=str(diabetes_csv(tmp_path)), data__task="regression",
                   model__hidden=[64, 64], train__epochs=3, out=tmp_path / "run",
                   log=lines.append, report=False)
    final = next(line for line in lines if line.startswith("validation mae"))
    metrics = json_file(tmp_path / "run" / "metrics.json")
    assert f"validation mae {metrics['validation']['mae']:.4f}, r2 {metrics['validation']['r2']:.4f}" in final
    assert f"test mae {metrics['test']['mae']:.4f}, r2 {metrics['test']['r2']:.4f}" in final


def json_file(path):
    import json
    return json.loads(path.read_text())


@pytest.mark.parametrize("epochs, warned", [(2, True), (20, False)])
def test_a_run_that_ends_still_improving_says_so(tmp_path, epochs, warned):
    # digits: two epochs leave the validation loss falling steeply (1.71 → 1.17, test accuracy
    # 0.83); twenty level it off (0.16, test accuracy 0.97).
    lines = []
    densekit.train(data__source="digits", train__epochs=epochs, out=tmp_path / "run",
                   log=lines.append, report=False, train__tensorboard=False)
    warnings = [line for line in lines if "still falling" in line]
    assert bool(warnings) == warned, lines[-4:]
    if warned:
        assert "validation loss" in warnings[0] and "--epochs 4" in warnings[0]


def test_an_early_stopped_run_is_not_called_unconverged(tmp_path):
    from densekit.session.convergence import still_improving
    from densekit.config import TrainConfig
    falling = [{"step": s, "val_loss": 2.0 - 0.1 * s} for s in range(1, 11)]  # a steady fall
    assert "still falling" in still_improving(falling, TrainConfig(epochs=10))
    assert still_improving(falling[:1], TrainConfig()) is None
    levelled = [{"step": s, "val_loss": 1.0 + 2.0 ** -s} for s in range(1, 21)]
    assert still_improving(levelled, TrainConfig()) is None
    lines = []
    densekit.train(data__source="iris", train__epochs=400, out=tmp_path / "run", log=lines.append,
                   report=False, train__tensorboard=False, **{"train.early_stopping.patience": 1})
    assert any("early stopping" in line for line in lines)
    assert not [line for line in lines if "still falling" in line]
