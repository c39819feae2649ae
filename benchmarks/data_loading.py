"""From files to training tensors: Fashion-MNIST's gzip IDX files, and a 200,000-row mixed CSV
with 40 columns (30 numeric, 10 categorical). Goals: ≤ 1.5 s and ≤ 5 s on 2 cores.

    python benchmarks/data_loading.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from densekit.config import Config
from densekit.session.pipeline import prepare

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record_lines  # noqa: E402  (benchmarks/results.py)


def mixed_csv(path: Path, rows: int = 200_000) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"num_{i}": rng.normal(size=rows).round(4) for i in range(30)})
    for i in range(10):
        frame[f"cat_{i}"] = rng.choice([f"level_{k}" for k in range(12)], size=rows)
    frame["label"] = (frame["num_0"] + (frame["cat_0"] == "level_3") > 0.5).astype(int)
    frame.to_csv(path, index=False)


def seconds_to_tensors(source: str, **data) -> tuple[float, tuple]:
    cfg = Config.from_dict({"data": {"source": source, **data}})
    started = time.perf_counter()
    prepared = prepare(cfg, torch.device("cpu"))
    return time.perf_counter() - started, tuple(prepared.train.x.shape)


def main() -> None:
    prepare(Config.from_dict({"data": {"source": "iris"}}), torch.device("cpu"))  # warm imports
    fashion, shape = seconds_to_tensors("fashion-mnist")
    lines = [f"Fashion-MNIST gzip IDX → tensors (train {shape}): {fashion:.2f} s (goal ≤ 1.5 s)"]
    path = Path(tempfile.mkdtemp()) / "mixed.csv"
    mixed_csv(path)
    csv, shape = seconds_to_tensors(str(path), label="label")
    lines.append(f"200,000-row CSV, 30 numeric + 10 categorical columns → tensors (train {shape}, "
                 f"one-hot): {csv:.2f} s (goal ≤ 5 s)")
    lines.append("times include splitting, encoding and scaling: everything before the first step")
    record_lines("Data loading", "python benchmarks/data_loading.py", lines)


if __name__ == "__main__":
    main()
