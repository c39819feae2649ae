"""What a user waits for on a small table: the command line's wall-clock time from start to exit,
against scikit-learn's MLP doing the same from a script, and where densekit's start-up goes.

    python benchmarks/startup.py [--repeats 5]

Each command runs in a fresh process, as a user starts it; densekit and scikit-learn alternate
within one invocation so both see the same machine, and the best and the median of the repeats
are printed. `train` is densekit's default run (report, checkpoint and TensorBoard log included);
the scikit-learn script fits MLPClassifier() on the same 120 training rows of iris and pickles it.
Then `python -X importtime` of the same train command: the packages it spends its imports on.
The floor is what importing PyTorch and scikit-learn's metrics alone costs, which training needs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record_lines  # noqa: E402  (benchmarks/results.py)

SKLEARN_TRAIN = """
import pickle, sys
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
x, y = load_iris(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
model = make_pipeline(StandardScaler(), MLPClassifier(max_iter=1000, random_state=0)).fit(x_train, y_train)
print("test accuracy", model.score(x_test, y_test))
pickle.dump(model, open(sys.argv[1], "wb"))
"""
SKLEARN_PREDICT = """
import pickle, sys
import pandas as pd
model = pickle.load(open(sys.argv[1], "rb"))
rows = pd.read_csv(sys.argv[2])
print(model.predict(rows.drop(columns="species").to_numpy()))
"""


def densekit(*args: str) -> list[str]:
    return [sys.executable, "-m", "densekit.cli", *args]


def script(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


def iris_csv(folder: Path) -> Path:
    from sklearn.datasets import load_iris
    bunch = load_iris(as_frame=True)
    frame = bunch.frame.drop(columns="target")
    frame["species"] = bunch.target_names[bunch.target]
    path = folder / "iris.csv"
    frame.to_csv(path, index=False)
    return path


def wall_clock(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def commands(folder: Path, csv: Path, repeat: int) -> dict[str, list[str]]:
    """Fresh output paths each repeat: densekit never writes over a run."""
    run = folder / f"run-{repeat}"
    return {
        "floor: python -c 'import torch, sklearn.metrics'": script("import torch, sklearn.metrics"),
        "densekit --version": densekit("--version"),
        "densekit train --data iris -q": densekit("train", "--data", "iris", "-q", "--out", str(run)),
        "scikit-learn script: fit MLPClassifier on iris, pickle it": script(SKLEARN_TRAIN, str(folder / "mlp.pkl")),
        "densekit predict RUN iris.csv -q": densekit("predict", str(run), str(csv), "-q"),
        "scikit-learn script: unpickle, read the CSV, predict": script(SKLEARN_PREDICT, str(folder / "mlp.pkl"), str(csv)),
    }


def measure(folder: Path, repeats: int) -> dict[str, list[float]]:
    csv = iris_csv(folder)
    times: dict[str, list[float]] = {}
    for repeat in range(repeats):
        for name, command in commands(folder, csv, repeat).items():  # in order: predict needs the run
            times.setdefault(name, []).append(wall_clock(command))
    return times


def import_costs(folder: Path, top: int = 8) -> list[tuple[str, float]]:
    """Cumulative import time of the outermost imports of `densekit train`, largest first.
    Packages imported lazily while the command runs (torch._dynamo once was) are outermost too."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "densekit.cli", "train", "--data",
                           "iris", "-q", "--out", str(folder / "importtime")],
                          capture_output=True, text=True, check=True)
    costs = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        if not name.startswith("  "):  # depth 0: not imported by another module's import
            costs[name.strip()] = costs.get(name.strip(), 0) + int(cumulative) / 1e6
    return sorted(costs.items(), key=lambda kv: -kv[1])[:top]


def summary(name: str, seconds: list[float]) -> str:
    return f"{name}: best {min(seconds):.2f} s, median {statistics.median(seconds):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        times = measure(Path(tmp), args.repeats)
        imports = import_costs(Path(tmp))
    lines = [summary(name, seconds) for name, seconds in times.items()]
    train = statistics.median(times["densekit train --data iris -q"])
    fit = statistics.median(times["scikit-learn script: fit MLPClassifier on iris, pickle it"])
    predict = statistics.median(times["densekit predict RUN iris.csv -q"])
    unpickle = statistics.median(times["scikit-learn script: unpickle, read the CSV, predict"])
    lines.append(f"ratios of the medians: train {train / fit:.2f}× the scikit-learn script, "
                 f"predict {predict / unpickle:.2f}× (targets: train ≤ 1.5× and ≤ 3 s, --version ≤ 0.3 s)")
    lines.append("imports of `densekit train --data iris -q`, outermost, cumulative: "
                 + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in imports))
    record_lines("Start-up: a small table from the command line", "python benchmarks/startup.py", lines)


if __name__ == "__main__":
    main()
