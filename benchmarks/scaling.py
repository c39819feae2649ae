"""Seconds per epoch against rows (synthetic 784-byte rows) and against width, with peak memory.

    python benchmarks/scaling.py [--rows 10000,100000,1000000] [--widths 128,512,1024,2048,4096]
    python benchmarks/scaling.py --processes 1,2 [--width 1024]

Rows: one epoch of 784 → 128 → 10 at batch 128 in a child process each, peak RSS compared with
the dataset's own bytes. Widths: one epoch over 20,000 rows of 784 → W → 10, compared with the
time the same matrix products take alone (the arithmetic floor). Processes: one epoch of
Fashion-MNIST (60,000 images) through 784 → W → 10 at batch 128 in N processes (--nproc N, one
thread each, two micro-shards per process), rows per second and the share of each step spent
passing gradients between processes, with what that share predicts for more processes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402  (benchmarks/results.py)

BATCH = 128


def synthetic(rows: int, path: Path) -> int:
    """Learnable bytes: the label is the brightest of ten pixel blocks. Returns the bytes held."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (rows, 784), dtype=np.uint8)
    y = x[:, :780].reshape(rows, 10, 78).sum(axis=2, dtype=np.int64).argmax(axis=1)
    np.savez(path, x=x, y=y)
    return x.nbytes + y.nbytes


def peak_mb() -> float:
    """This process's RSS high-water mark. VmHWM, not ru_maxrss: a child's ru_maxrss starts
    from its parent's, which has just written the data set."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(npz: str, width: int) -> None:
    import pandas, sklearn, torch  # noqa: F401  (every import a run has, before the baseline)

    import densekit
    import densekit.session.train  # noqa: F401
    baseline = peak_mb()
    out = Path(tempfile.mkdtemp()) / "run"
    densekit.train(data__source=npz, data__validation_split=0.0, data__test_split=0.0,
                   model__hidden=[width], train__batch_size=BATCH, train__epochs=1,
                   train__tensorboard=False, out=out, quiet=True)
    seconds = json.loads((out / "run.json").read_text())["train_seconds"]
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb(), "baseline_mb": baseline}))


def run_child(npz: Path, width: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", str(npz), "--width", str(width)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def matmul_floor(rows: int, width: int) -> float:
    """Seconds for one epoch's matrix products alone: forward x·W1ᵀ and h·W2ᵀ, backward
    gradients of W1, W2 and h (the arithmetic every implementation must do)."""
    import torch
    x, w1 = torch.rand(BATCH, 784), torch.rand(width, 784)
    h, w2, g = torch.rand(BATCH, width), torch.rand(10, width), torch.rand(BATCH, 10)
    gh = torch.rand(BATCH, width)

    def products():
        torch.mm(x, w1.t()), torch.mm(h, w2.t()), torch.mm(g.t(), h), torch.mm(g, w2)
        torch.mm(gh.t(), x)

    products()
    steps = rows // BATCH
    started = time.perf_counter()
    for _ in range(min(steps, 300)):
        products()
    return (time.perf_counter() - started) / min(steps, 300) * steps


def processes_run(count: int, width: int, shards: int) -> dict:
    out = Path(tempfile.mkdtemp()) / "run"
    subprocess.run([sys.executable, "-m", "densekit.cli", "train", "--data", "fashion-mnist",
                    "--hidden", str(width), "--batch-size", str(BATCH), "--epochs", "1",
                    "--validation-split", "0", "--set", f"train.micro_shards={shards}",
                    "--set", "train.tensorboard=false", "--nproc", str(count), "--out", str(out), "-q"],
                   check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads((out / "run.json").read_text())


def processes_section(counts: list[int], width: int) -> str:
    shards = 2 * max(counts)   # the same cut of every batch for every count: the same weights
    lines = [f"784 → {width} → 10, batch {BATCH}, {shards} micro-shards, one thread per process.",
             "", "| processes | s/epoch | rows/s | exchange s | exchange share |", "|---:|---:|---:|---:|---:|"]
    params = 784 * width + width + width * 10 + 10
    per_byte = None
    for count in counts:
        info = processes_run(count, width, shards)
        seconds, exchange = info["train_seconds"], info["exchange_seconds"]
        lines.append(f"| {count} | {seconds:.2f} | {60_000 / seconds:,.0f} | {exchange:.2f} | "
                     f"{exchange / seconds:.0%} |")
        print(lines[-1], flush=True)
        if count > 1:   # each process receives the other processes' shards every step
            received = (shards - shards // count) * (params + 3) * 4 * (60_000 // BATCH)
            per_byte = exchange / received
    if per_byte:
        lines += ["", "Predicted from the measured exchange cost per byte received, with one "
                  "micro-shard per process (N shards):", ""]
        for count in (8, 64):
            received = (count - 1) * (params + 3) * 4 * (60_000 // BATCH)
            lines.append(f"- {count} processes: about {per_byte * received:.1f} s of exchange per "
                         f"epoch, every process receiving {(count - 1) * (params + 3) * 4 / 2**20:.1f} MB "
                         "per step")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--width", type=int, default=128, help=argparse.SUPPRESS)
    parser.add_argument("--rows", default="10000,100000,1000000")
    parser.add_argument("--widths", default="128,512,1024,2048,4096")
    parser.add_argument("--processes", help="e.g. 1,2: training in that many processes instead")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.width)
        return
    if args.processes:
        counts = [int(n) for n in args.processes.split(",")]
        record("Scaling: processes", f"python benchmarks/scaling.py --processes {args.processes} "
               f"--width {args.width}", processes_section(counts, args.width))
        return
    work = Path(tempfile.mkdtemp(prefix="densekit-scaling-"))
    lines = ["| rows | s/epoch | µs per row | data MB | peak RSS MB | import baseline MB | "
             "peak − baseline − data MB |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for rows in [int(r) for r in args.rows.split(",")]:
        npz = work / f"rows-{rows}.npz"
        data_mb = synthetic(rows, npz) / 2**20
        figures = run_child(npz, 128)
        lines.append(f"| {rows:,} | {figures['seconds']:.2f} | {figures['seconds'] / rows * 1e6:.1f} | "
                     f"{data_mb:.0f} | {figures['peak_mb']:.0f} | {figures['baseline_mb']:.0f} | "
                     f"{figures['peak_mb'] - figures['baseline_mb'] - data_mb:.0f} |")
        print(lines[-1], flush=True)
        npz.unlink()
    lines += ["", "| width | s/epoch (20,000 rows) | matmul floor s | × floor |", "|---:|---:|---:|---:|"]
    npz = work / "width.npz"
    synthetic(20_000, npz)
    for width in [int(w) for w in args.widths.split(",")]:
        figures = run_child(npz, width)
        floor = matmul_floor(20_000, width)
        lines.append(f"| {width:,} | {figures['seconds']:.2f} | {floor:.2f} | {figures['seconds'] / floor:.2f} |")
        print(lines[-1], flush=True)
    record("Scaling: rows and width", "python benchmarks/scaling.py",
           f"Batch {BATCH}, one epoch.\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
