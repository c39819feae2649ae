"""Checkpoints and resume: bit-exact continuation, refusal on changes, damaged files, full disk."""

import os
import signal
import subprocess
from pathlib import Path

import pytest

import densekit
from densekit.errors import DensekitError
from densekit.rundir.checkpoint import CheckpointFolder, decode
from tests.helpers.runs import (assert_same_weights, kill_resume_and_compare, reference_run,
                                start, wait_for_checkpoint)

# Dropout, a step schedule, class weights and early stopping all in play; 144 steps per epoch.
HARD_CASE = {
    "data": {"source": "digits"},
    "model": {"hidden": [64, 32], "dropout": 0.3},
    "train": {"epochs": 12, "batch_size": 8, "schedule": "step", "step_size": 2, "gamma": 0.7,
              "class_weight": "balanced", "early_stopping": {"patience": 50},
              "checkpoint": {"every_epochs": 0, "every_steps": 25}},
}


# The fast path (fastpath.py): plain stack, no class weights; dropout, schedule, early stopping.
FAST_CASE = {
    "data": {"source": "digits"},
    "model": {"hidden": [64, 32], "dropout": 0.3},
    "train": {"epochs": 12, "batch_size": 8, "schedule": "cosine", "early_stopping": {"patience": 50},
              "checkpoint": {"every_epochs": 1, "every_steps": 25}},
}


# The same, small enough for the default set: 3 epochs, killed in the second.
SHORT_CASE = {
    "data": {"source": "digits"},
    "model": {"hidden": [16], "dropout": 0.3},
    "train": {"epochs": 3, "batch_size": 8, "schedule": "step", "step_size": 1, "gamma": 0.7,
              "tensorboard": False, "checkpoint": {"every_epochs": 0, "every_steps": 25}},
}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return reference_run(tmp_path_factory.mktemp("reference"), HARD_CASE)


@pytest.fixture(scope="module")
def fast_reference(tmp_path_factory):
    return reference_run(tmp_path_factory.mktemp("fast"), FAST_CASE)


@pytest.fixture(scope="module")
def short_reference(tmp_path_factory):
    return reference_run(tmp_path_factory.mktemp("short"), SHORT_CASE)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["reference", "fast_reference"])
def test_sigkill_mid_epoch_then_resume_is_bit_identical(case, request, tmp_path):
    kill_resume_and_compare(*request.getfixturevalue(case), tmp_path / "run", after_step=300)


def test_sigkill_mid_epoch_then_resume_is_bit_identical_short(short_reference, tmp_path):
    kill_resume_and_compare(*short_reference, tmp_path / "run", after_step=150)


def test_ctrl_c_saves_prints_the_resume_command_and_resumes_exactly(reference, tmp_path):
    ref_run, config = reference
    run = tmp_path / "run"
    proc = start("train", config, "--out", run)
    wait_for_checkpoint(run, after_step=100)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert f"densekit resume {run}" in err and "Traceback" not in err
    resumed = densekit.resume(run, quiet=True)
    assert resumed.run_dir == run
    assert_same_weights(ref_run, run)


def test_resume_refuses_a_changed_configuration(reference, tmp_path, cli):
    ref_run, config = reference
    code, _, err = cli("train", config, "--out", ref_run, "--resume", "--lr", "0.01")
    assert code == 2
    assert "train.lr: 0.001 → 0.01" in err and "--force" in err


def test_resume_refuses_changed_training_data(tmp_path, iris_csv):
    run = tmp_path / "run"
    common = dict(data__source=str(iris_csv), data__label="species", train__epochs=3, out=run,
                  quiet=True)
    densekit.train(**common)
    lines = iris_csv.read_text().splitlines()
    lines[5] = lines[5].replace("3.", "4.", 1)
    iris_csv.write_text("\n".join(lines) + "\n")
    with pytest.raises(DensekitError, match="training data"):
        densekit.train(resume=True, **common)
    forced = densekit.train(resume=True, force=True, **common)  # forced: it goes on, on the new data
    assert forced.history[-1]["epoch"] == 3
    assert forced.metrics["test"]["accuracy"] > 0.5


def test_a_corrupted_last_checkpoint_falls_back_to_the_previous(tmp_path, capsys):
    run = tmp_path / "run"
    densekit.train(data__source="digits", train__epochs=4, train__checkpoint={"min_seconds": 0},
                   out=run, quiet=True)
    folder = CheckpointFolder(run)
    prev_step = decode(folder.prev.read_bytes(), folder.prev).meta["loop"]["step"]
    blob = bytearray(folder.last.read_bytes())
    blob[len(blob) // 2] ^= 0x55
    folder.last.write_bytes(bytes(blob))
    warnings = []
    assert folder.load_newest(warn=warnings.append).meta["loop"]["step"] == prev_step
    assert "damaged" in warnings[0] and "checksum" in warnings[0]


def test_a_truncated_checkpoint_and_no_fallback_is_a_clear_error(tmp_path, cli):
    run = tmp_path / "run"
    densekit.train(data__source="digits", train__epochs=2, out=run, quiet=True)
    folder = CheckpointFolder(run)
    folder.prev.unlink(missing_ok=True)
    folder.last.write_bytes(folder.last.read_bytes()[:500])
    code, _, err = cli("resume", run)
    assert code == 2 and "No usable checkpoint" in err


def test_resume_without_checkpoints_is_a_clear_error(tmp_path, cli):
    code, _, err = cli("resume", tmp_path)
    assert code == 2 and "no checkpoint to resume from" in err


def test_non_finite_loss_keeps_the_last_good_checkpoint(tmp_path):
    run = tmp_path / "run"
    with pytest.raises(DensekitError, match=r"at step \d+") as info:
        densekit.train(data__source="breast-cancer", data__task="regression", train__optimizer="sgd",
                       train__lr=3e4, train__epochs=20, train__checkpoint={"every_steps": 1},
                       out=run, quiet=True)
    assert "last good checkpoint" in str(info.value)
    newest = CheckpointFolder(run).load_newest(warn=print)
    model = {k: v for k, v in newest.tensors.items() if k.startswith("model.")}
    assert model and all(t.isfinite().all() for t in model.values())


def test_resuming_never_unpickles(tmp_path, monkeypatch):
    import pickle
    import torch
    run = tmp_path / "run"
    densekit.train(data__source="iris", train__epochs=3, out=run, quiet=True)
    (run / "model.json").unlink()  # as if the run had been killed before the end

    def refuse(*args, **kwargs):
        raise AssertionError("pickle was called while resuming")
    for module, name in [(pickle, "load"), (pickle, "loads"), (torch, "load")]:
        monkeypatch.setattr(module, name, refuse)
    densekit.resume(run, quiet=True)
    assert (run / "model.json").exists()


def mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir()
    if os.geteuid() != 0:
        return False
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                            capture_output=True)
    return result.returncode == 0


def test_a_full_disk_while_saving_leaves_the_previous_checkpoint_intact(tmp_path, cli):
    disk = tmp_path / "small-disk"
    if not mount_tmpfs(disk, "1600k"):
        pytest.skip("mounting a small tmpfs needs root")
    try:
        # Each checkpoint of this network is about 0.5 MB: the disk fills within a few saves.
        code, _, err = cli("train", "--data", "digits", "--hidden", "512", "--epochs", "30",
                           "--set", "train.checkpoint.min_seconds=0", "--out", disk / "run", "-q")
        assert code == 2 and "Traceback" not in err
        assert "No space left on device" in err and "Free some disk space" in err
        newest = CheckpointFolder(disk / "run").load_newest(warn=print)
        assert newest.meta["loop"]["step"] > 0
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_epoch_end_checkpoints_keep_their_distance_in_seconds(tmp_path):
    """Tiny epochs would spend their time writing checkpoints: those at epoch ends are at
    least train.checkpoint.min_seconds apart; the end of training always writes one."""
    spaced = densekit.train(data__source="iris", train__epochs=30, out=tmp_path / "spaced",
                            train__checkpoint={"min_seconds": 3600}, quiet=True, report=False)
    every = densekit.train(data__source="iris", train__epochs=30, out=tmp_path / "every",
                           train__checkpoint={"min_seconds": 0}, quiet=True, report=False)
    assert not CheckpointFolder(spaced.run_dir).prev.exists()  # the final save, alone
    assert CheckpointFolder(every.run_dir).prev.exists()
    final = CheckpointFolder(spaced.run_dir).load_newest(warn=print)
    assert final.meta["loop"]["step"] == spaced.history[-1]["step"]
