"""Issue 18: nothing lost, ever. Concurrent runs, folders densekit did not create, forced resumes
that would change what ran, torn history lines, unbounded reads, and misleading messages."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import densekit
from densekit.rundir.checkpoint import CheckpointFolder
from densekit.rundir.claim import MARKER
from tests.conftest import run_subprocess
from tests.helpers.runs import copy_run, history, start, wait_for_checkpoint

QUICK = ["--hidden", "8", "--epochs", "2", "--set", "train.tensorboard=false", "-q"]
# Long enough to still be training while a second process starts (imports take seconds).
LONG = ["--data", "digits", "--hidden", "16", "--epochs", "100000", "--batch-size", "8",
        "--set", "train.tensorboard=false", "-q"]


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)  # saves a checkpoint and exits 130
    proc.communicate(timeout=120)


# ------------------------------------------------------------------ 1. one process per run


@pytest.mark.slow
def test_a_second_train_into_a_running_folder_names_the_first(tmp_path):
    run = tmp_path / "run"
    first = start("train", *LONG, "--out", run)
    try:
        wait_for_checkpoint(run, after_step=1)
        code, _, err = run_subprocess("train", "--data", "iris", *QUICK, "--out", run)
        assert code == 2 and "Traceback" not in err
        assert f"pid {first.pid}" in err and str(run) in err
    finally:
        stop(first)
    assert first.returncode == 130
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["data"]["source"] == "digits"  # nothing of the second run's settings


@pytest.mark.slow
def test_two_trains_started_together_one_wins(tmp_path):
    run = tmp_path / "run"
    args = ["train", *LONG, "--set", "train.tensorboard=true", "--out", run]
    procs = [start(*args, "--seed", seed) for seed in (1, 2)]
    try:
        first_done = wait_for_either(procs)
        winner = procs[1 - first_done]
        # Proof that they raced: the loser was refused while the winner was still training.
        assert winner.poll() is None, "the two runs did not overlap"
        _, err = procs[first_done].communicate(timeout=60)
        assert procs[first_done].returncode == 2, err
        assert "Traceback" not in err and str(run) in err and f"pid {winner.pid}" in err, err
        # The loser can be refused as soon as the winner holds the folder, before the winner's
        # first checkpoint: stopped then, the winner would leave nothing but its claim.
        wait_for_checkpoint(run, after_step=1)
    finally:
        for proc in procs:
            if proc.poll() is None:
                stop(proc)
    assert winner.returncode == 130  # stopped by the test, checkpoint saved
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["seed"] == 2 - first_done
    assert len(list((run / "tensorboard").iterdir())) == 1  # one event file, not two


def wait_for_either(procs: list[subprocess.Popen], timeout: float = 300) -> int:
    """The index of the first process to end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for index, proc in enumerate(procs):
            if proc.poll() is not None:
                return index
        time.sleep(0.05)
    raise AssertionError(f"neither process ended in {timeout} s")


@pytest.mark.slow
def test_two_resumes_at_once_one_is_refused(tmp_path):
    run = tmp_path / "run"
    first = start("train", *LONG, "--out", run)
    wait_for_checkpoint(run, after_step=1)
    stop(first)
    resumed = start("resume", run, "-q")
    try:
        wait_for_checkpoint(run, after_step=CheckpointFolder(run).load_newest(print).meta["loop"]["step"] + 1)
        code, _, err = run_subprocess("resume", run, "-q")
        assert code == 2 and f"pid {resumed.pid}" in err and "Traceback" not in err
    finally:
        stop(resumed)
    steps = [r["step"] for r in history(run)]
    assert steps == sorted(set(steps))  # no record twice


def test_a_failed_start_leaves_no_folder_behind(cli, tmp_path):
    code, _, err = cli("train", "--data", tmp_path / "absent.csv", "--out", tmp_path / "run")
    assert code == 2 and not (tmp_path / "run").exists()


# ------------------------------------------------------------------ 2. only densekit's folders


def test_resume_refuses_a_folder_densekit_did_not_create(cli, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.yaml").write_text("my: own settings\n")
    (mine / "history.jsonl").write_text("my own notes\n")
    before = files_of(mine)
    code, _, err = cli("train", "--data", "iris", *QUICK, "--out", mine, "--resume")
    assert code == 2 and "not a densekit run" in err and str(mine) in err
    assert files_of(mine) == before and sorted(os.listdir(mine)) == ["config.yaml", "history.jsonl"]


def test_a_run_killed_before_its_first_checkpoint_restarts(cli, tmp_path):
    run = tmp_path / "run"
    assert cli("train", "--data", "iris", *QUICK, "--out", run)[0] == 0
    assert (run / MARKER).exists()
    for name in ("model.json", "model.safetensors", "metrics.json"):
        (run / name).unlink()
    for path in (run / "checkpoints").iterdir():
        path.unlink()
    code, _, err = cli("train", "--data", "iris", *QUICK, "--out", run, "--resume")
    assert code == 0, err
    assert (run / "model.json").exists()


def test_runs_written_before_the_marker_still_resume(cli, tmp_path):
    run = tmp_path / "run"
    assert cli("train", "--data", "iris", *QUICK, "--out", run)[0] == 0
    (run / MARKER).unlink()
    (run / "model.json").unlink()
    code, _, err = cli("train", "--data", "iris", *QUICK, "--out", run, "--resume")
    assert code == 0, err
    # but an older run without checkpoints is not told apart from a user's folder: refused
    for path in (run / "checkpoints").iterdir():
        path.unlink()
    (run / MARKER).unlink(missing_ok=True)
    (run / "model.json").unlink()
    code, _, err = cli("train", "--data", "iris", *QUICK, "--out", run, "--resume")
    assert code == 2 and "not a densekit run" in err


# ------------------------------------------------------------------ 3, 4. forced resumes


@pytest.mark.parametrize("change,named", [
    ("model.hidden=[16]", "model.hidden"),
    ("model.batch_norm=true", "model.batch_norm"),
    ("model.use_bias=false", "model.use_bias"),
])
def test_a_forced_resume_cannot_change_the_architecture(cli, iris_run, tmp_path, change, named):
    before = files_of(iris_run.run)
    code, _, err = cli("resume", iris_run.run, "--set", change, "--force")
    assert code == 2 and "Traceback" not in err
    assert named in err and "architecture" in err
    assert files_of(iris_run.run) == before


def test_a_forced_resume_cannot_change_the_optimizer(cli, iris_run):
    before = files_of(iris_run.run)
    code, _, err = cli("resume", iris_run.run, "--set", "train.optimizer=sgd", "--force")
    assert code == 2 and "train.optimizer" in err
    assert files_of(iris_run.run) == before


def test_a_forced_resume_applies_a_new_learning_rate(cli, tmp_path):
    run = tmp_path / "run"
    assert cli("train", "--data", "iris", *QUICK, "--out", run)[0] == 0
    code, out, err = cli("resume", run, "--set", "train.lr=0.02", "--set", "train.epochs=4", "--force")
    assert code == 0, err
    lrs = [r["lr"] for r in history(run)]
    assert lrs == [0.001, 0.001, 0.02, 0.02]
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["lr"] == 0.02
    assert "learning rate" in out and "0.02" in out


def test_a_forced_resume_scales_a_schedule_to_the_new_rate(tmp_path):
    run = tmp_path / "run"
    common = dict(data__source="iris", model__hidden=[8], train__tensorboard=False, out=run,
                  quiet=True, train__schedule="step", train__step_size=1, train__gamma=0.5)
    densekit.train(train__epochs=2, **common)
    resumed = densekit.train(resume=True, force=True, train__epochs=3, train__lr=0.004,
                             **common)  # the rate had been halved twice: 0.004 / 4
    assert [r["lr"] for r in resumed.history] == [0.001, 0.0005, 0.001]


# ------------------------------------------------------------------ 5. history.jsonl


def test_a_torn_last_history_line_is_skipped_and_reported(cli, iris_run, tmp_path):
    import shutil
    run = tmp_path / "torn"
    shutil.copytree(iris_run.run, run)
    with open(run / "history.jsonl", "a") as handle:
        handle.write('{"step": 99, "epo')
    code, _, err = cli("report", run)
    assert code == 0 and "history.jsonl" in err and "Traceback" not in err
    assert "history.jsonl" in (run / "report.html").read_text()
    code, _, err = cli("compare", run, iris_run.run, "--output", tmp_path / "c.html")
    assert code == 0 and "history.jsonl" in err


def test_history_lines_are_synced_as_they_are_written(monkeypatch, tmp_path):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.readlink(f"/proc/self/fd/{fd}")) or real(fd))
    densekit.train(data__source="iris", model__hidden=[8], train__epochs=3, train__tensorboard=False,
                   train__checkpoint={"every_epochs": 0}, out=tmp_path / "run", quiet=True,
                   report=False)
    assert sum(path.endswith("history.jsonl") for path in synced) >= 3


# ------------------------------------------------------------------ 6. resources


def test_a_network_too_large_for_memory_is_refused_before_it_is_built(cli, tmp_path):
    code, _, err = cli("train", "--data", "iris", "--hidden", "1000000000", "--out", tmp_path / "run")
    assert code == 2 and "memory" in err and "GB" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def limited(*args):
    """A densekit command with 2 GB of address space and a minute: an unbounded read fails
    the test instead of filling the machine."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    return subprocess.run([sys.executable, "-m", "densekit.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=120, preexec_fn=limit)


def test_a_fifo_model_card_is_refused_not_waited_on(iris_run, tmp_path):
    run = copy_run(iris_run.run, tmp_path)
    (run / "model.json").unlink()
    os.mkfifo(run / "model.json")
    proc = limited("predict", run, tmp_path / "x.csv")
    assert proc.returncode == 2 and "not a regular file" in proc.stderr


def test_weights_linked_to_dev_zero_are_refused(iris_run, tmp_path):
    run = copy_run(iris_run.run, tmp_path)
    (run / "model.safetensors").unlink()
    (run / "model.safetensors").symlink_to("/dev/zero")
    proc = limited("evaluate", run, "iris")
    assert proc.returncode == 2 and "not a regular file" in proc.stderr


def test_a_checkpoint_linked_to_dev_zero_is_refused(iris_run, tmp_path):
    run = copy_run(iris_run.run, tmp_path)
    folder = CheckpointFolder(run)
    folder.prev.unlink(missing_ok=True)
    folder.last.unlink()
    folder.last.symlink_to("/dev/zero")
    proc = limited("resume", run)
    assert proc.returncode == 2 and "not a regular file" in proc.stderr


def test_a_checkpoint_longer_than_its_header_says_is_refused(iris_run, tmp_path):
    run = copy_run(iris_run.run, tmp_path)
    folder = CheckpointFolder(run)
    folder.prev.unlink(missing_ok=True)
    with open(folder.last, "ab") as handle:
        handle.write(b"\0" * 1000)
    warnings = []
    with pytest.raises(densekit.errors.DensekitError, match="No usable checkpoint"):
        folder.load_newest(warnings.append)
    assert "header" in warnings[0]


def test_a_huge_header_length_is_refused_without_reading(iris_run, tmp_path):
    run = copy_run(iris_run.run, tmp_path)
    folder = CheckpointFolder(run)
    folder.prev.unlink(missing_ok=True)
    folder.last.write_bytes((1 << 62).to_bytes(8, "little") + b"{}")
    warnings = []
    with pytest.raises(densekit.errors.DensekitError):
        folder.load_newest(warnings.append)
    assert "header" in warnings[0]


def test_a_fifo_config_in_a_run_is_refused(iris_run, tmp_path):
    run = copy_run(iris_run.run, tmp_path)
    (run / "config.yaml").unlink()
    os.mkfifo(run / "config.yaml")
    proc = limited("resume", run)
    assert proc.returncode == 2 and "not a regular file" in proc.stderr


# ------------------------------------------------------------------ 7. messages


@pytest.mark.parametrize("good_writes", [0, 3])  # the disk fills at the first event, or later
def test_a_tensorboard_writer_failure_is_one_warning_not_a_traceback(cli, monkeypatch, tmp_path,
                                                                     good_writes):
    from tensorboard.summary.writer import record_writer
    real, writes = record_writer.RecordWriter.write, []

    def filling(self, data):
        writes.append(len(data))
        if len(writes) > good_writes:  # in TensorBoard's writer thread
            raise OSError(28, "No space left on device")
        real(self, data)
    monkeypatch.setattr(record_writer.RecordWriter, "write", filling)
    code, out, err = cli("train", "--data", "iris", "--hidden", "8", "--epochs", "5",
                         "--out", tmp_path / "run")
    assert code == 0 and (tmp_path / "run" / "model.json").exists()
    assert "Traceback" not in err + out and "Exception in thread" not in err + out
    assert (out + err).count("TensorBoard logging stopped") == 1


def test_quiet_does_not_hide_a_report_that_failed(cli, monkeypatch, tmp_path):
    import densekit.report

    def broken(*args, **kwargs):
        raise ValueError("no fonts")
    monkeypatch.setattr(densekit.report, "build_report", broken)
    code, _, err = cli("train", "--data", "iris", *QUICK, "--out", tmp_path / "run")
    assert code == 0 and "report could not be written" in err and "no fonts" in err
    assert not (tmp_path / "run" / "report.html").exists()


def table(tmp_path: Path, name: str, **columns) -> Path:
    path = tmp_path / name
    pd.DataFrame(columns).to_csv(path, index=False)
    return path


def test_missing_labels_are_named_not_blamed_on_the_learning_rate(cli, tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200).astype(float)
    y[:7] = np.nan
    path = table(tmp_path, "t.csv", a=rng.normal(size=200), b=rng.normal(size=200), y=y)
    code, _, err = cli("train", "--data", path, "--label", "y", "--out", tmp_path / "run")
    assert code == 2 and "label column y has 7 missing values" in err
    assert "learning rate" not in err and not (tmp_path / "run").exists()


def test_a_mostly_missing_label_column_names_the_count(cli, tmp_path):
    rng = np.random.default_rng(0)
    y = np.array(["cat", "dog"] * 100, dtype=object)
    y[:150] = None
    path = table(tmp_path, "t.csv", a=rng.normal(size=200), y=y)
    code, _, err = cli("train", "--data", path, "--label", "y", "--out", tmp_path / "run")
    assert code == 2 and "150 missing values" in err and "200" in err


def test_an_empty_text_column_is_called_empty(cli, tmp_path):
    path = table(tmp_path, "t.csv", text=[""] * 100, y=[0, 1] * 50)
    code, _, err = cli("train", "--data", path, "--label", "y", "--out", tmp_path / "run")
    assert code == 2 and "text" in err and "empty" in err and "NaN or infinite" not in err


@pytest.mark.parametrize("columns", [
    {"text": ["good film", "bad film"] * 60, "y": [1, 0] * 60},
    {"a": np.arange(120.0), "c": ["x", "y", "z"] * 40, "y": [1, 0] * 60},
])
def test_npz_input_to_a_model_of_named_columns(cli, tmp_path, columns):
    path = table(tmp_path, "t.csv", **columns)
    assert cli("train", "--data", path, "--label", "y", *QUICK, "--out", tmp_path / "run")[0] == 0
    np.savez(tmp_path / "x.npz", x=np.zeros((3, 2)))
    code, _, err = cli("predict", tmp_path / "run", tmp_path / "x.npz")
    assert code == 2 and "UTF-8" not in err and "columns" in err and ".npz" in err


# ------------------------------------------------------------------ 8. found by the fuzz test


@pytest.mark.parametrize("x,says", [
    (np.float64(3.0), "single value"),            # case 409
    (np.arange(30.0), "one value per row"),       # case 1049
    (np.zeros((0, 2, 2)), "no rows"),             # cases 1261, 1421
])
def test_npz_features_of_odd_shapes(cli, tmp_path, x, says):
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(30) % 2)
    code, _, err = cli("train", "--data", tmp_path / "d.npz", "--out", tmp_path / "run")
    assert code == 2 and says in err and "Traceback" not in err


def test_an_empty_label_list_names_no_column(cli, tmp_path):  # case 1891
    path = table(tmp_path, "t.csv", a=np.arange(40.0), y=[0, 1] * 20)
    code, _, err = cli("train", "--data", path, "--set", "data.label=[]", "--out", tmp_path / "run")
    assert code == 2 and "no label column" in err


@pytest.mark.parametrize("section,says", [("train: null\n", None), ("train: [1]\n", "not a section")])
def test_a_flag_into_a_section_that_is_not_one(cli, tmp_path, section, says):
    config = tmp_path / "c.yaml"
    config.write_text("data: {source: iris}\n" + section)
    code, out, err = cli("config", config, "--lr", "0.01")
    if says is None:  # an empty section takes the flag
        assert code == 0 and "lr: 0.01" in out
    else:
        assert code == 2 and says in err and "Traceback" not in err


def test_a_table_of_labels_only(cli, tmp_path):  # fuzz case 4464
    path = tmp_path / "t.csv"
    path.write_text("label\n" + "\n".join(str(i % 2) for i in range(40)) + "\n")
    code, _, err = cli("train", "--data", path, "--label", "label", "--missing", "most_frequent",
                       "--out", tmp_path / "run")
    assert code == 2 and "no feature columns" in err


def test_an_integer_too_large_for_64_bits(cli, tmp_path):  # fuzz case 4732
    path = tmp_path / "t.csv"
    rows = [f"{i % 2},{i}.5,{'9' * 40 if i == 3 else i}" for i in range(40)]
    path.write_text("y,a,b\n" + "\n".join(rows) + "\n")
    code, _, err = cli("train", "--data", path, "--label", "y", "--out", tmp_path / "run")
    assert code == 2 and "Column 'b'" in err and "9999" in err and "Traceback" not in err
