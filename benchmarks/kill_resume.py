"""Kill a real training run with SIGKILL at random moments, resume it, and compare the final
weights and history.jsonl with the same run left alone. Prints how many runs ended
bit-identical (weights and every history record but its wall-clock seconds) and how many
damaged checkpoints were met.

    python benchmarks/kill_resume.py [--trials 20] [--seed 1]
    python benchmarks/kill_resume.py --nproc 2     # runs in 2 processes, every one killed at once;
                                                   # resumed in 1 and 2 processes by turns
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from safetensors.torch import load_file

from densekit.rundir.checkpoint import CheckpointFolder, decode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402  (benchmarks/results.py)

# Dropout, a learning-rate schedule, class weights and early stopping in play; checkpoints at
# every epoch end (the default) and every 50 steps, so kills land on both kinds.
CONFIG = {
    "data": {"source": "digits"},
    "model": {"hidden": [64, 32], "dropout": 0.3},
    "train": {"epochs": 15, "batch_size": 8, "schedule": "cosine", "class_weight": "balanced",
              "early_stopping": {"patience": 50}, "checkpoint": {"every_epochs": 1, "every_steps": 50}},
}


def densekit(*args: object) -> list[str]:
    return [sys.executable, "-m", "densekit.cli", *map(str, args)]


def train_to_end(config: Path, run: Path) -> float:
    started = time.perf_counter()
    subprocess.run(densekit("train", config, "--out", run, "-q"), check=True, capture_output=True)  # one process
    return time.perf_counter() - started


def training_window(run: Path) -> float:
    """Seconds the reference spent in its training loop (from its own run.json)."""
    return json.loads((run / "run.json").read_text())["train_seconds"]


def kill_at_random(config: Path, run: Path, window: float, rng: random.Random, nproc: int) -> float:
    launch = ["--nproc", nproc] if nproc > 1 else []
    proc = subprocess.Popen(densekit("train", config, "--out", run, "-q", *launch),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not (run / "checkpoints").exists() and proc.poll() is None:
        time.sleep(0.01)  # the first checkpoint (step 50) marks the start of the loop
    delay = rng.uniform(0, window)
    time.sleep(delay)
    for pid in [proc.pid, *descendants(proc.pid)]:  # the launcher, torchrun, every process
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    return delay


def descendants(pid: int) -> list[int]:
    """Child processes, from Linux's /proc (torchrun's processes are in a session of their own)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = [int(c) for c in children.read_text().split()] if children.exists() else []
    return found + [d for c in found for d in descendants(c)]


def damaged_checkpoints(run: Path) -> int:
    folder = CheckpointFolder(run)
    damaged = 0
    for path in (folder.staged, folder.last, folder.prev, folder.best):
        if path.exists():
            try:
                decode(path.read_bytes(), path)
            except ValueError:
                damaged += 1
    return damaged


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    return wa.keys() == wb.keys() and all(wa[k].equal(wb[k]) for k in wa)


def history(run: Path) -> list[dict]:
    """history.jsonl without the wall-clock seconds, the one figure a resume may change."""
    records = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines() if line]
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def same_history(a: Path, b: Path) -> bool:
    return history(a) == history(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--nproc", type=int, default=1, help="processes per run (micro-shards: as many)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="densekit-kill-"))
    config = work / "config.yaml"
    settings = CONFIG
    if args.nproc > 1:  # the reference runs in one process, cutting batches as the trials do
        settings = {**CONFIG, "train": {**CONFIG["train"], "micro_shards": args.nproc}}
    config.write_text(yaml.safe_dump(settings))
    reference = work / "reference"
    seconds = train_to_end(config, reference)
    window = training_window(reference)
    print(f"reference run: {seconds:.1f} s in all, {window:.1f} s in the training loop")
    identical = damaged = 0
    lines = []
    for trial in range(1, args.trials + 1):
        run = work / f"trial-{trial}"
        delay = kill_at_random(config, run, window, rng, args.nproc)
        damaged += damaged_checkpoints(run)
        step = "none"
        if CheckpointFolder(run).exists():
            step = CheckpointFolder(run).load_newest(warn=print).meta["loop"]["step"]
        resume_in = args.nproc if trial % 2 == 0 else 1   # by turns: as many processes, or one
        launch = ["--nproc", resume_in] if resume_in > 1 else []
        subprocess.run(densekit("train", config, "--out", run, "--resume", "-q", *launch),
                       check=True, capture_output=True)
        weights_ok, history_ok = same_weights(reference, run), same_history(reference, run)
        ok = weights_ok and history_ok
        identical += ok
        verdict = "identical" if ok else ", ".join(
            f"{what} DIFFERENT" for what, good in (("weights", weights_ok), ("history", history_ok))
            if not good)
        lines.append(f"trial {trial:2d}: killed {delay:5.2f} s after the first checkpoint, resumed "
                     f"from step {step} in {resume_in} process(es): {verdict}")
        print(lines[-1], flush=True)
    verdict = (f"{identical}/{args.trials} resumed runs bit-identical to the uninterrupted run "
               "(weights and history.jsonl); "
               f"{damaged} damaged checkpoint file(s) seen")
    print("\n" + verdict)
    heading = "Kill and resume" + (f", {args.nproc} processes" if args.nproc > 1 else "")
    command = f"python benchmarks/kill_resume.py --trials {args.trials} --seed {args.seed}"
    record(heading, command + (f" --nproc {args.nproc}" if args.nproc > 1 else ""),
           "Digits, 15 epochs, batch 8, dropout, cosine schedule, balanced class weights, early "
           f"stopping.\n\n**{verdict}.**\n\n```\n" + "\n".join(lines) + "\n```")


if __name__ == "__main__":
    main()
