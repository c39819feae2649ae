"""Peak memory to load a 1,000,000 × 784 uint8 image set (784 MB) from a raw IDX folder and
from an NPY folder. Goal: peak RSS under the set's own size + 300 MB.

Each measurement runs in a fresh child process: RSS after importing densekit (torch, pandas,
scikit-learn: the same in any run) is the baseline; the figure is the high-water mark (VmHWM)
minus that baseline, with every byte of the images read (so memory-mapped pages count).

    python benchmarks/large_images.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record_lines  # noqa: E402  (benchmarks/results.py)

ROWS, SIDE = 1_000_000, 28

CHILD = r"""
import sys, time
def status(key):
    line = next(l for l in open('/proc/self/status') if l.startswith(key))
    return int(line.split()[1]) * 1024
from densekit.config import Config
from densekit.data import load_source
from densekit.session.pipeline import prepare
import torch, pandas, sklearn  # every import a training run has, before the baseline
base = status('VmRSS')
started = time.perf_counter()
cfg = Config.from_dict({"data": {"source": sys.argv[1], "validation_split": float(sys.argv[2]),
                                 "test_split": float(sys.argv[2]), "holdout": sys.argv[4]}})
if sys.argv[3] == "tensors":
    x = prepare(cfg, torch.device("cpu")).train.x.numpy()
else:
    x = load_source(cfg.data).train.x
checksum = sum(int(x[i:i + 65536].max()) for i in range(0, len(x), 65536))  # reads every page
print(status('VmHWM') - base, time.perf_counter() - started, x.shape[0], checksum)
"""


def write_sets(root: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    images = np.empty((ROWS, SIDE, SIDE), dtype=np.uint8)
    for start in range(0, ROWS, 100_000):  # written in blocks: this script must not need 2× either
        images[start:start + 100_000] = rng.integers(0, 256, (min(100_000, ROWS - start), SIDE, SIDE), dtype=np.uint8)
    labels = rng.integers(0, 10, ROWS).astype(np.uint8)
    idx, npy = root / "idx", root / "npy"
    idx.mkdir()
    npy.mkdir()
    with open(idx / "train-images-idx3-ubyte", "wb") as out:
        out.write(bytes([0, 0, 8, 3]) + np.array(images.shape, dtype=">u4").tobytes())
        out.write(images.tobytes())
    with open(idx / "train-labels-idx1-ubyte", "wb") as out:
        out.write(bytes([0, 0, 8, 1]) + np.array([ROWS], dtype=">u4").tobytes() + labels.tobytes())
    np.save(npy / "x_train.npy", images)
    np.save(npy / "y_train.npy", labels)
    return {"raw IDX folder": idx, "NPY folder": npy}


def measure(folder: Path, fraction: float = 0.0, stage: str = "load", holdout: str = "random") -> tuple[int, float, int]:
    command = [sys.executable, "-c", CHILD, str(folder), str(fraction), stage, holdout]
    extra, seconds, rows, _ = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()
    return int(extra), float(seconds), int(rows)


def line(what: str, extra: int, seconds: float, rows: int, size: int) -> str:
    verdict = "met" if extra <= size + 300e6 else "NOT met"
    return (f"{what} ({rows:,} training rows): peak RSS above the import baseline {extra / 1e6:,.0f} MB "
            f"for {size / 1e6:,.0f} MB of images = size {'+' if extra >= size else '−'} "
            f"{abs(extra - size) / 1e6:,.0f} MB, {seconds:.2f} s (goal size + 300 MB: {verdict})")


def main() -> None:
    size = ROWS * SIDE * SIDE
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        sets = write_sets(Path(tmp))
        for what, folder in sets.items():
            lines.append(line(f"{what}, loaded and every page read", *measure(folder), size))
        folder = sets["NPY folder"]
        lines.append(line("NPY folder to training tensors, no hold-out splits", *measure(folder, 0.0, "tensors"), size))
        lines.append(line("NPY folder to training tensors, 20 % validation + 20 % test held out at random",
                          *measure(folder, 0.2, "tensors"), size))
        lines.append(line("the same with data.holdout: last (the last rows, in file order)",
                          *measure(folder, 0.2, "tensors", "last"), size))
    lines.append("loaded pages are file-backed (the kernel can drop and re-read them); rows held out "
                 "at random are copied (one copy per split), consecutive rows are views; the times are "
                 "with the files just written, so in the page cache")
    record_lines("Loading a 1,000,000 × 784 image set", "python benchmarks/large_images.py", lines)


if __name__ == "__main__":
    main()
