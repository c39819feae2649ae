"""A newcomer's first hour (issue 19): what a new user ran into, each checked where it can fail."""

import warnings

import pytest

import densekit


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
    # Training still refuses the gaps under the default data.missing: error.
    code, _, err = cli("train", "--data", path, "--label", "target", "--out", tmp_path / "run", "-q")
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
