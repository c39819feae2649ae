"""Runs in a child process, as a user starts them, and their files compared."""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from safetensors.torch import load_file

from densekit.rundir.checkpoint import CheckpointFolder, decode


def copy_run(run: Path, folder: Path, name: str = "run") -> Path:
    """A copy of a run to damage or continue, leaving the module's shared one as it was."""
    return Path(shutil.copytree(run, folder / name))


def write_config(folder: Path, values: dict) -> Path:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "densekit.cli", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_checkpoint(run: Path, after_step: int, timeout: float = 120) -> None:
    last = CheckpointFolder(run).last
    deadline = time.time() + timeout
    while time.time() < deadline:
        if last.exists():
            try:
                if decode(last.read_bytes(), last).meta["loop"]["step"] >= after_step:
                    return
            except (ValueError, OSError):
                pass  # being replaced right now
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint past step {after_step} within {timeout}s")


def weights(run: Path) -> dict:
    return load_file(run / "model.safetensors")


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert wa[key].equal(wb[key]), f"{key} differs"


def history(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines() if line]


def history_without_times(run: Path) -> list[dict]:
    """history.jsonl's records less their wall-clock seconds (the one field a resume may change)."""
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history(run)]


def assert_same_history(a: Path, b: Path) -> None:
    assert history_without_times(a) == history_without_times(b)


def reference_run(folder: Path, values: dict) -> tuple[Path, Path]:
    """The run, left alone."""
    config = write_config(folder, values)
    proc = subprocess.run([sys.executable, "-m", "densekit.cli", "train", config, "--out",
                           folder / "run", "-q"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return folder / "run", config


def kill_resume_and_compare(ref_run: Path, config: Path, run: Path, after_step: int) -> None:
    """kill -9 after a checkpoint past `after_step`, resume: the same weights and history."""
    proc = start("train", config, "--out", run, "-q")
    wait_for_checkpoint(run, after_step=after_step)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    newest = CheckpointFolder(run).load_newest(warn=print)
    order = newest.tensors.get("order")  # an epoch's row order is kept only while it runs
    assert order is not None and 0 < newest.meta["position"] < len(order), "not mid-epoch"
    result = subprocess.run([sys.executable, "-m", "densekit.cli", "resume", run, "-q"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert_same_weights(ref_run, run)
    assert_same_history(ref_run, run)
