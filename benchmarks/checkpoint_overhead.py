"""Checkpoint cost on Fashion-MNIST: seconds per save, and the share of an epoch it takes at the
default frequency (one checkpoint per epoch).

    python benchmarks/checkpoint_overhead.py [--epochs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import densekit
from densekit.training import loop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record_lines  # noqa: E402  (benchmarks/results.py)


def timed_saves(run: Path, epochs: int) -> tuple[float, list[float], list[float], int]:
    """Train, timing every save of `last` (the whole loop state) and of `best` (the weights).
    Returns (seconds per epoch, last-save times, best-save times, bytes of `last`)."""
    last_times: list[float] = []
    best_times: list[float] = []
    originals = {"save_checkpoint": loop.Trainer.save_checkpoint,
                 "save_best": loop.CheckpointFolder.save_best}

    def timed(original, times):
        def wrapper(*args):
            started = time.perf_counter()
            original(*args)
            times.append(time.perf_counter() - started)
        return wrapper

    loop.Trainer.save_checkpoint = timed(originals["save_checkpoint"], last_times)
    loop.CheckpointFolder.save_best = timed(originals["save_best"], best_times)
    try:
        result = densekit.train(data__source="fashion-mnist", model__hidden=[128], train__epochs=epochs,
                                out=run, quiet=True)
    finally:
        loop.Trainer.save_checkpoint = originals["save_checkpoint"]
        loop.CheckpointFolder.save_best = originals["save_best"]
    seconds = result.history[-1]["seconds"] / len(result.history)
    return seconds, last_times, best_times, (run / "checkpoints" / "last.safetensors").stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="densekit-ckpt-"))
    epoch_seconds, last, best, size = timed_saves(work / "run", args.epochs)
    per_last, per_best = statistics.median(last), statistics.median(best)
    print(f"Fashion-MNIST 784-128-10, batch 32: {epoch_seconds:.2f} s per epoch (saves included)")
    print(f"last checkpoint: {size / 1e6:.2f} MB, {per_last * 1000:.1f} ms per save (median of {len(last)})")
    print(f"best weights: {per_best * 1000:.1f} ms per save (median of {len(best)}), at most once per epoch")
    worst = per_last + per_best
    lines = [f"Fashion-MNIST 784-128-10, batch 32: {epoch_seconds:.2f} s per epoch (saves included)",
             f"last checkpoint: {size / 1e6:.2f} MB, {per_last * 1000:.1f} ms per save",
             f"best weights: {per_best * 1000:.1f} ms per save, at most once per epoch",
             f"overhead at the default frequency (one checkpoint per epoch): "
             f"{100 * worst / (epoch_seconds - worst):.2f}% of an epoch at most (goal: under 3%)"]
    record_lines("Checkpoint overhead", f"python benchmarks/checkpoint_overhead.py --epochs {args.epochs}",
                 lines)


if __name__ == "__main__":
    main()
