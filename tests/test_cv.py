"""K-fold cross-validation: folds as ordinary runs, averaged curves, retraining, continuing."""

import json

import pytest

import densekit
from densekit.errors import DensekitError


def test_cross_validation_averages_folds_and_retrains_for_the_best_epoch(tmp_path, cli):
    code, out, _ = cli("cv", "--data", "iris", "--folds", "3", "--epochs", "12", "--lr", "0.01",
                       "--retrain", "--out", tmp_path / "cv", "-q")
    assert code == 0 and "validation over 3 folds" in out
    summary = json.loads((tmp_path / "cv" / "cv.json").read_text())
    assert summary["folds"] == ["fold-1", "fold-2", "fold-3"]
    assert len(summary["mean_curve"]) == 12 and summary["mean_curve"][0]["folds"] == 3
    first = summary["mean_curve"][0]
    fold_values = [json.loads((tmp_path / "cv" / f / "history.jsonl").read_text().splitlines()[0])["val_loss"]
                   for f in summary["folds"]]
    assert first["val_loss"] == pytest.approx(sum(fold_values) / 3)
    best = min(summary["mean_curve"], key=lambda p: p["val_loss"])["epoch"]
    assert summary["best_epoch"] == best
    final = json.loads((tmp_path / "cv" / "final" / "run.json").read_text())
    assert final["epochs"] == best and "validation" not in final["sizes"]
    assert summary["final"]["metrics"]["test"]["accuracy"] >= 0.8
    assert (tmp_path / "cv" / "cv.html").read_text().count("data:image/png") == 3
    (tmp_path / "cv" / "cv.html").unlink()
    code, out, _ = cli("report", tmp_path / "cv")
    assert code == 0 and (tmp_path / "cv" / "cv.html").exists()


def test_validation_folds_partition_the_training_rows(tmp_path):
    sizes = [json.loads((run / "run.json").read_text())["sizes"] for run in
             (densekit.cross_validate(data__source="wine", folds=4, train__epochs=2, quiet=True,
                                      out=tmp_path / "cv").cv_dir).glob("fold-*")]
    # wine: 178 rows, 36 kept for testing, 142 split into 4 validation folds of 35 or 36.
    assert sorted(s["validation"] for s in sizes) == [35, 35, 36, 36]
    assert {s["train"] + s["validation"] for s in sizes} == {142} and {s["test"] for s in sizes} == {36}


def test_running_again_continues_and_keeps_finished_folds(tmp_path):
    cv_dir = tmp_path / "cv"
    densekit.cross_validate(data__source="iris", folds=2, train__epochs=3, quiet=True, out=cv_dir)
    before = (cv_dir / "fold-1" / "model.safetensors").stat().st_mtime_ns
    (cv_dir / "fold-2" / "model.json").unlink()  # as if fold 2 had been interrupted at its end
    messages = []
    densekit.cross_validate(data__source="iris", folds=2, train__epochs=3, out=cv_dir, log=messages.append)
    assert (cv_dir / "fold-1" / "model.safetensors").stat().st_mtime_ns == before
    assert "fold 2 of 2" in messages and "fold 1 of 2" not in messages


def test_another_configuration_in_the_same_folder_is_refused(tmp_path, cli):
    densekit.cross_validate(data__source="iris", folds=2, train__epochs=2, quiet=True, out=tmp_path / "cv")
    code, _, err = cli("cv", "--data", "iris", "--folds", "3", "--epochs", "2", "--out", tmp_path / "cv")
    assert code == 2 and "another configuration or fold count" in err
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "file").write_text("mine")
    code, _, err = cli("cv", "--data", "iris", "--out", tmp_path / "run")
    assert code == 2 and "never writes over" in err


def test_bad_fold_counts_and_monitors_are_explained(tmp_path, cli):
    code, _, err = cli("cv", "--data", "iris", "--folds", "1", "--out", tmp_path / "a")
    assert code == 2 and "--folds must be 2 or more" in err
    code, _, err = cli("cv", "--data", "iris", "--folds", "2", "--epochs", "2", "--monitor", "val_mae",
                       "--out", tmp_path / "b")
    assert code == 2 and "Choose --monitor among" in err and "val_accuracy" in err
    with pytest.raises(DensekitError, match="K-fold needs"):
        densekit.cross_validate(data__source="iris", folds=500, quiet=True, out=tmp_path / "c")


@pytest.mark.slow
def test_ctrl_c_during_a_fold_says_how_to_continue_and_the_rerun_finishes(tmp_path):
    import signal
    from tests.test_resume import start, wait_for_checkpoint
    cv_dir = tmp_path / "cv"
    args = ["cv", "--data", "digits", "--folds", "2", "--epochs", "60", "--set",
            "train.checkpoint.every_steps=20", "--out", cv_dir]
    proc = start(*args)
    wait_for_checkpoint(cv_dir / "fold-1", after_step=40)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "the same densekit cv command" in err and "Traceback" not in err
    result = densekit.cross_validate(data__source="digits", folds=2, train__epochs=60,
                                     train__checkpoint={"every_steps": 20}, out=cv_dir, quiet=True)
    assert len(result.folds) == 2 and (cv_dir / "fold-1" / "model.json").exists()
