"""Prediction latency in-process: 10,000 Fashion-MNIST test images at once, and one row.

    python benchmarks/inference.py
Goals: 10,000 images in at most 50 ms; one row in at most 1 ms.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import densekit
from densekit.config import DataConfig
from densekit.data import load_source

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record_lines  # noqa: E402  (benchmarks/results.py)


def timed(fn, repeats: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    run = densekit.train(data__source="fashion-mnist", model__hidden=[128], train__epochs=1,
                         out=Path(tempfile.mkdtemp()) / "run", quiet=True).run_dir
    model = densekit.load(run)
    x = load_source(DataConfig(source="fashion-mnist")).test.x
    batch = timed(lambda: model.predict(x), 20)
    one = timed(lambda: model.predict(x[:1]), 200)
    lines = [f"predict 10,000 images: {batch * 1000:.1f} ms (goal ≤ 50 ms)",
             f"predict one row: {one * 1000:.2f} ms (goal ≤ 1 ms)"]
    lines.append("784-128-10 network, `densekit.load(run).predict(x)`, median of repeated calls")
    record_lines("Inference latency", "python benchmarks/inference.py", lines)


if __name__ == "__main__":
    main()
