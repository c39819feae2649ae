"""Training in several processes (torchrun, gloo on 127.0.0.1): the same weights, bit for
bit, as one process; a process that dies leaves a run that resumes in any number of them."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.runs import assert_same_weights, wait_for_checkpoint

SMALL = ["--data", "digits", "--hidden", "32", "--set", "train.tensorboard=false", "-q"]
CHILD_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def densekit(*args, timeout=240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "densekit.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=CHILD_ENV)


@pytest.mark.slow
def test_two_processes_end_with_the_weights_of_one(tmp_path):
    one = densekit("train", *SMALL, "--epochs", "2", "--set", "train.micro_shards=2", "--out", tmp_path / "one")
    two = densekit("train", *SMALL, "--epochs", "2", "--nproc", "2", "--out", tmp_path / "two")
    assert one.returncode == 0 and two.returncode == 0, two.stderr[-3000:]
    assert_same_weights(tmp_path / "one", tmp_path / "two")
    assert (tmp_path / "two" / "history.jsonl").read_text() .count("\n") == 2  # one writer
    assert "micro_shards: 2" in (tmp_path / "two" / "config.yaml").read_text()


def descendants(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = [int(c) for c in children.read_text().split()] if children.exists() else []
    return found + [d for c in found for d in descendants(c)]


def workers(launcher: subprocess.Popen) -> list[int]:
    """The training processes: descendants running densekit.cli under torchrun."""
    def command(pid):
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return ""
    return [p for p in descendants(launcher.pid) if "densekit.cli" in command(p)
            and "torch.distributed.run" not in command(p) and p != launcher.pid]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from /proc")
def test_a_process_killed_mid_run_resumes_in_one_process_to_the_same_weights(tmp_path):
    settings = [*SMALL, "--epochs", "6", "--set", "train.micro_shards=2",
                "--set", "train.checkpoint.every_steps=20"]
    reference = densekit("train", *settings, "--out", tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr[-3000:]
    run = tmp_path / "run"
    launcher = subprocess.Popen([sys.executable, "-m", "densekit.cli", "train", *settings,
                                 "--nproc", "2", "--out", str(run)], env=CHILD_ENV,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_checkpoint(run, after_step=40)
    os.kill(max(workers(launcher)), signal.SIGKILL)   # one of the two, mid-run
    _, err = launcher.communicate(timeout=240)
    assert launcher.returncode != 0 and f"densekit resume {run}" in err
    resumed = densekit("resume", run, "-q")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_same_weights(tmp_path / "reference", run)


@pytest.mark.slow
def test_ctrl_c_stops_every_process_at_one_step_and_the_first_saves(tmp_path):
    run = tmp_path / "run"
    launcher = subprocess.Popen([sys.executable, "-m", "densekit.cli", "train", *SMALL, "--epochs", "300",
                                 "--nproc", "2", "--out", str(run)], env=CHILD_ENV, start_new_session=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_checkpoint(run, after_step=36)
    os.killpg(launcher.pid, signal.SIGINT)   # what a terminal's Ctrl-C does
    _, err = launcher.communicate(timeout=120)
    assert launcher.returncode == 130, err[-3000:]
    assert "A checkpoint was saved" in err and f"densekit resume {run}" in err
    assert "Traceback" not in err


ENDS_AND_SAYS = """
import sys
import torch.distributed as dist
from densekit.cli import main
code = main(sys.argv[1:])
print("process group", "still open" if dist.is_initialized() else "closed", file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.slow
def test_each_process_closes_its_process_group_before_it_exits(tmp_path):
    """Left to the interpreter's exit, gloo's threads sometimes aborted the process
    ("terminate called without an active exception") after a run had stopped cleanly."""
    script = tmp_path / "ends_and_says.py"
    script.write_text(ENDS_AND_SAYS)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc-per-node=2", str(script), "train", *SMALL, "--epochs", "1",
                           "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=240, env=CHILD_ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count("process group closed") == 2, proc.stderr[-3000:]
