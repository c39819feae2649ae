"""Tiny real runs of every task kind, for the export and serving tests, and the rows to ask
them about (as a user's CSV)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

EPOCHS = {"train__epochs": 2, "model__hidden": [16], "quiet": True, "train__seed": 0,
          "train__tensorboard": False}


def mixed_table(rows: int = 400) -> pd.DataFrame:
    """Numbers, two categorical columns and a text label: bought or not, by age, income, city."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(18, 80, rows),
                          "income": rng.normal(50, 12, rows).round(2),
                          "city": rng.choice(["paris", "lyon", "nice"], rows),
                          "member": rng.choice(["yes", "no"], rows)})
    frame["label"] = np.where((frame.age > 40) ^ (frame.city == "nice"), "buy", "skip")
    return frame


def reviews(rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    good = ["great fun film", "a brilliant moving story", "loved every minute", "superb acting"]
    bad = ["boring dull film", "a waste of time", "terrible plot and acting", "far too long"]
    text = [f"{rng.choice(good)} {rng.choice(good)}" for _ in range(rows // 2)] + \
           [f"{rng.choice(bad)} {rng.choice(bad)}" for _ in range(rows - rows // 2)]
    return pd.DataFrame({"review": text, "sentiment": ["pos"] * (rows // 2) + ["neg"] * (rows - rows // 2)})


def multilabel_table() -> pd.DataFrame:
    from sklearn.datasets import make_multilabel_classification
    x, y = make_multilabel_classification(300, n_features=6, n_classes=3, random_state=0)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(6)])
    for j, name in enumerate(["sports", "news", "music"]):
        frame[name] = y[:, j]
    return frame


def diabetes_table() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes
    return load_diabetes(as_frame=True).frame   # ten numbers and "target"


# name -> (training source or table, label, extra settings)
KINDS = {
    "digits": ("digits", None, {}),
    "breast-cancer": ("breast-cancer", None, {}),
    "multilabel": (multilabel_table, ["sports", "news", "music"], {}),
    "regression": (diabetes_table, "target", {"data__task": "regression"}),
    # Trained to refuse gaps, so a null in a request is refused (by default gaps are filled).
    "mixed": (mixed_table, "label", {"data__missing": "error"}),
    "text": (reviews, "sentiment", {}),
}


def train_run(folder: Path, kind: str) -> Path:
    import densekit
    source, label, extra = KINDS[kind]
    settings = dict(EPOCHS, **extra)
    if callable(source):
        path = folder / f"{kind}.csv"
        source().to_csv(path, index=False)
        settings.update(data__source=str(path), data__label=label)
    else:
        settings.update(data__source=source)
    out = folder / f"run-{kind}"
    densekit.train(out=str(out), **settings)
    return out


def feature_rows(kind: str, run: Path, count: int, seed: int = 0) -> pd.DataFrame:
    """`count` rows (drawn with replacement) of the columns the model reads, as a CSV has them."""
    from densekit.session.predict import Predictor
    source, label, _ = KINDS[kind]
    if callable(source):
        frame = source()
        frame = frame.drop(columns=label if isinstance(label, list) else [label])
    else:  # scikit-learn's bundled sets, in the columns the run names
        from sklearn import datasets
        x = {"digits": datasets.load_digits, "breast-cancer": datasets.load_breast_cancer}[source]().data
        frame = pd.DataFrame(x, columns=Predictor.load(run).feature_names)
    picks = np.random.default_rng(seed).integers(0, len(frame), count)
    return frame.iloc[picks].reset_index(drop=True)


def predicted(cli, run: Path, rows: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """`densekit predict RUN rows.csv --output preds.csv`, read back."""
    source, target = folder / "input.csv", folder / "preds.csv"
    rows.to_csv(source, index=False)
    code, _, err = cli("predict", run, source, "--output", target, "--overwrite", "-q")
    assert code == 0, err
    return pd.read_csv(target, keep_default_na=False)


def many_classes_run(folder: Path) -> Path:
    """Digits under a sampled softmax (task many_classes): answers are the top classes."""
    import densekit
    out = folder / "run-many-classes"
    densekit.train(out=str(out), data__source="digits", model__output="sampled_softmax",
                   model__num_sampled=5, **EPOCHS)
    return out
