"""Several outputs with the default weights (1.0 each, regression targets standardised):
is each output within noise of a network trained for it alone?

On three of scikit-learn's bundled tables, a class and a number are predicted from the other
columns, by one network with two heads and by two networks with one head each, with the same
defaults and seeds. Prints each figure's mean ± spread over the seeds and the joint − alone
difference.

    python benchmarks/outputs.py [--seeds 3]
"""

import argparse

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_iris, load_wine

from densekit.api import train_in_memory
from densekit.data import dataset_from_memory


def tables():
    """name → (inputs, class labels, the number, the number's output name)."""
    iris, wine, cancer = load_iris(), load_wine(), load_breast_cancer()
    return {
        "iris": (iris.data[:, :3], iris.target_names[iris.target], iris.data[:, 3], "petal_width"),
        "wine": (wine.data[:, 1:], wine.target.astype(str), wine.data[:, 0], "alcohol"),
        "breast_cancer": (cancer.data[:, 4:], cancer.target_names[cancer.target],
                          cancer.data[:, 0], "mean_radius"),
    }


def test_figures(x, targets, seed):
    dataset = dataset_from_memory(x, targets)
    return train_in_memory(None, dataset, train__seed=seed).metrics["test"]


def run_table(table, seeds):
    x, classes, number, number_name = table
    rows = {"joint accuracy": [], "alone accuracy": [], "joint MAE": [], "alone MAE": []}
    for seed in range(seeds):
        joint = test_figures(x, {"kind": classes, number_name: number}, seed)
        rows["joint accuracy"].append(joint["kind_accuracy"])
        rows["joint MAE"].append(joint[f"{number_name}_mae"])
        rows["alone accuracy"].append(test_figures(x, classes, seed)["accuracy"])
        rows["alone MAE"].append(test_figures(x, number.astype(np.float64), seed)["mae"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'table':<14} {'figure':<15} {'mean':>8} {'± std':>8}")
    for name, table in tables().items():
        rows = run_table(table, args.seeds)
        for figure, values in rows.items():
            print(f"{name:<14} {figure:<15} {np.mean(values):8.4f} {np.std(values):8.4f}")
        for kind in ("accuracy", "MAE"):
            diff = np.mean(rows[f"joint {kind}"]) - np.mean(rows[f"alone {kind}"])
            print(f"{name:<14} joint − alone {kind}: {diff:+.4f}")


if __name__ == "__main__":
    main()
