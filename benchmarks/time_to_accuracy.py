"""Time to accuracy on Fashion-MNIST: the default recipe (`densekit train --data fashion-mnist`,
no other flags) and the best recipes found so far. Goal: ≥ 0.90 test accuracy in ≤ 20 s of
training on 2 cores. Each run is a fresh child process; the time is densekit's own training
time (RUN/run.json), evaluations included.

    python benchmarks/time_to_accuracy.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record_lines  # noqa: E402  (benchmarks/results.py)

COMMON = ["--dropout", "0.2", "--batch-size", "128", "--lr", "0.002", "--schedule", "cosine",
        "--validation-split", "0.1"]
RECIPES = {
    "default (no flags)": [],
    "hidden 256, batch 128, lr 0.002, cosine, 28 epochs, 10 % validation": ["--hidden", "256", *COMMON, "--epochs", "28"],
    "hidden 200, dropout 0.15, the same, 28 epochs": ["--hidden", "200", *COMMON, "--dropout", "0.15", "--epochs", "28"],
    "hidden 256, lr 0.003, 5 % validation, 24 epochs": ["--hidden", "256", *COMMON, "--lr", "0.003",
                                                        "--validation-split", "0.05", "--epochs", "24"],
}


def run(flags: list[str]) -> tuple[float, float]:
    out = Path(tempfile.mkdtemp()) / "run"
    command = [sys.executable, "-m", "densekit.cli", "train", "--data", "fashion-mnist", *flags,
               "--set", "train.tensorboard=false", "--out", str(out), "-q"]
    subprocess.run(command, check=True, capture_output=True)
    accuracy = json.loads((out / "metrics.json").read_text())["test"]["accuracy"]
    return accuracy, json.loads((out / "run.json").read_text())["train_seconds"]


def main() -> None:
    lines = []
    for name, flags in RECIPES.items():
        accuracy, seconds = run(flags)
        verdict = "met" if accuracy >= 0.90 and seconds <= 20 else "not met"
        lines.append(f"{name}: test accuracy {accuracy:.4f} in {seconds:.1f} s of training ({verdict})")
    lines.append("every recipe but the first is given as flags: the default stays the Keras "
                 "tutorial's network until a recipe meets the goal run after run (times on this "
                 "machine vary by up to a third between runs)")
    record_lines("Time to accuracy: Fashion-MNIST", "python benchmarks/time_to_accuracy.py", lines)


if __name__ == "__main__":
    main()
