"""Training in several processes: `--nproc N` starts N copies of the command through
torchrun's launcher (torch.distributed.run); the first process (rank 0) is an ordinary run
that writes the run directory, the others follow it step for step and write nothing.

    densekit train … --nproc 2                        # on this machine
    torchrun --nnodes 2 --nproc-per-node 4 --rdzv-endpoint HOST:29500 -m densekit.cli train …
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

from densekit.config import Config
from densekit.rundir.checkpoint import CheckpointFolder
from densekit.session.train import execute
from densekit.training.interrupt import TrainingInterrupted


def rank() -> int:
    """This process's rank when torchrun started it; 0 otherwise."""
    return int(os.environ.get("RANK", "0")) if int(os.environ.get("WORLD_SIZE", "1")) > 1 else 0


def launch(argv: list[str], nproc: int, out: Path) -> int:
    """Run `densekit ARGV` (with --nproc removed) in `nproc` local processes writing to `out`."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={nproc}", "-m", "densekit.cli", *without_nproc(argv)]
    if "--out" not in argv and "--output" not in argv and "-o" not in argv and argv[0] == "train":
        command += ["--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    code = run_passing_signals_on(command, env)
    if code not in (0, 2, 130):
        print(f"densekit: error: a training process ended with exit code {code} (its message is "
              f"above). The checkpoints in {out} are intact: continue with `densekit resume "
              f"{out} --nproc {nproc}` (or any other number of processes that divides "
              "train.micro_shards).", file=sys.stderr)
    return code


def run_passing_signals_on(command: list[str], env: dict) -> int:
    """torchrun in a session of its own, so that a Ctrl-C reaches the training processes once,
    through this launcher, which passes each SIGINT or SIGTERM on to them (they agree on the
    step to stop at, the first saves, all end cleanly). torchrun itself is left out: told of a
    signal, it would report the run as failed, traceback and all."""
    child = subprocess.Popen(command, env=env, start_new_session=True)
    interrupted = []

    def pass_on(signum, frame):
        interrupted.append(signum)
        for pid in training_processes(child.pid) or [child.pid]:
            os.kill(pid, signum)

    previous = {sig: signal.signal(sig, pass_on) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 130 if interrupted else code


def training_processes(torchrun: int) -> list[int]:
    """The processes torchrun started (Linux's /proc); empty where that cannot be read."""
    try:
        children = Path(f"/proc/{torchrun}/task/{torchrun}/children").read_text().split()
    except OSError:
        return []
    return [int(pid) for pid in children]


def without_nproc(argv: list[str]) -> list[str]:
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            kept.append(arg)
    return kept


def follow(cfg: Config, resume_from: Optional[Path], force: bool) -> int:
    """A process after the first: the same steps on its share of every batch, no files, no
    output. It resumes from the checkpoint the first process resumes from."""
    checkpoint = None
    if resume_from is not None and CheckpointFolder(resume_from).exists():
        checkpoint = CheckpointFolder(resume_from).load_newest(warn=lambda _: None)
    try:
        execute(cfg, None, lambda _: None, quiet=True, checkpoint=checkpoint, force=force,
                handle_signals=True)
    except TrainingInterrupted:
        return 0  # stopped as agreed; the first process tells the user
    return 0
