"""Training time with one and two PyTorch threads, on a quiet machine and beside another
program that keeps one core busy (what a shared laptop or CI runner looks like).

    python benchmarks/threads.py [--repeats 2]

Each workload is a real densekit run (train_in_memory: no files), timed end to end; the
thread counts alternate within one process so both see the same machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record_lines  # noqa: E402  (benchmarks/results.py)

from densekit.api import train_in_memory  # noqa: E402
from densekit.config import DataConfig  # noqa: E402
from densekit.data import load_source  # noqa: E402

WORKLOADS = {  # name: (dataset, settings)
    "digits, 64-128-10, batch 32, 20 epochs": ("digits", {}),
    "Fashion-MNIST, 784-128-10, batch 32, 1 epoch": ("fashion-mnist", {"train__epochs": 1}),
    "Fashion-MNIST, 784-512-512-10, batch 128, 1 epoch": (
        "fashion-mnist", {"train__epochs": 1, "model__hidden": [512, 512], "train__batch_size": 128}),
}


def seconds(dataset, settings: dict, threads: int) -> float:
    started = time.perf_counter()
    train_in_memory(None, dataset, train__threads=threads, **settings)
    return time.perf_counter() - started


def measure(datasets: dict, repeats: int) -> dict:
    best = {}
    for name, (source, settings) in WORKLOADS.items():
        for _ in range(repeats):
            for threads in (1, 2):  # alternate, so both see the same machine
                took = seconds(datasets[source], settings, threads)
                best[name, threads] = min(best.get((name, threads), np.inf), took)
    return best


def busy_core() -> subprocess.Popen:
    """Another program wanting one core the whole time."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    datasets = {name: load_source(DataConfig(source=name)) for name in ("digits", "fashion-mnist")}
    quiet = measure(datasets, args.repeats)
    other = busy_core()
    try:
        contended = measure(datasets, args.repeats)
    finally:
        other.kill()
    lines = []
    for name in WORKLOADS:
        q1, q2, c1, c2 = quiet[name, 1], quiet[name, 2], contended[name, 1], contended[name, 2]
        lines.append(f"{name}: quiet 1 thread {q1:.1f} s, 2 threads {q2:.1f} s ({q1 / q2:.2f}× "
                     f"from the second); one core busy elsewhere: 1 thread {c1:.1f} s, 2 threads "
                     f"{c2:.1f} s ({c2 / c1:.1f}× slower with two)")
    record_lines("Threads: one or two", "python benchmarks/threads.py", lines)


if __name__ == "__main__":
    main()
