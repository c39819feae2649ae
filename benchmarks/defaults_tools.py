"""The tools of benchmarks/defaults.py, each trained on a set's files in a child process.

densekit runs in densekit's environment, on the files exactly as a user would give them (the
training file, the label column(s) and the test file, nothing else but the seed). The peers run
in their own environment (benchmarks/.peers-defaults) with their documented defaults and the
preprocessing a textbook puts in front of them. Every worker returns the same figures, computed
by the same function (`score`): the main metric, MAE for regression, and the seconds from the
file on disk to a trained model (reading and preprocessing included, predicting excluded).
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from defaults_sets import source_files

PEER_TOOLS = ["sklearn-mlp", "hist-gb", "lightgbm", "realmlp-td", "tabm"]
TOOLS = ["densekit"] + PEER_TOOLS
# Not run by default: densekit told how to fill gaps (`--missing median`), to see how its
# defaults fare on the sets with missing values that it refuses with no flags.
DENSEKIT_VARIANTS = {"densekit": {}, "densekit-median": {"data__missing": "median"}}
# The ingredients tried for the defaults, one setting each on top of the network of 0b14b92
# (one layer of 128, no embeddings: BEFORE, pinned so that a rerun measures the same thing);
# benchmarks/ingredients.py screens them, RESULTS.md says what each did.
BEFORE = {"model__hidden": [128], "model__embedding": "none"}
INGREDIENTS = {name: {**BEFORE, **setting} for name, setting in {
    "densekit-wide": {"model__hidden": [256, 256, 256], "model__dropout": 0.15},
    "densekit-wide-ls": {"model__hidden": [256, 256, 256], "model__dropout": 0.15,
                         "model__label_smoothing": 0.1},
    "densekit-wide-ls-pat": {"model__hidden": [256, 256, 256], "model__dropout": 0.15,
                             "model__label_smoothing": 0.1, "train__early_stopping__patience": 16},
    "densekit-2x256": {"model__hidden": [256, 256]},
    "densekit-512": {"model__hidden": [512]},
    "densekit-ls": {"model__label_smoothing": 0.1},
    "densekit-adamw": {"train__optimizer": "adamw", "train__weight_decay": 0.01},
    "densekit-d0.1": {"model__dropout": 0.1},
    "densekit-m4": {"model__members": 4},
    "densekit-m8": {"model__members": 8},
    "densekit-emb": {"model__embedding": "periodic"},
    "densekit-emb-m8": {"model__embedding": "periodic", "model__members": 8},
    "densekit-512-emb": {"model__hidden": [512], "model__embedding": "periodic"},
    "densekit-pat16": {"train__early_stopping__patience": 16},
    "densekit-512-pat16": {"model__hidden": [512], "train__early_stopping__patience": 16},
}.items()}
DENSEKIT_VARIANTS.update(INGREDIENTS)
# The second round (2026-12-04), one setting each on top of the defaults of cf8e611 (one layer
# of 512 for tables, periodic embeddings from 10,000 rows): nothing pinned.
ROUND_TWO = {
    "dk-lr3e-3": {"train__lr": 0.003},
    "dk-lr3e-4": {"train__lr": 0.0003},
    "dk-d0": {"model__dropout": 0.0},
    "dk-d0.3": {"model__dropout": 0.3},
    "dk-val0.1": {"data__validation_split": 0.1},
    "dk-b64": {"train__batch_size": 64},
    "dk-cos": {"train__schedule": "cosine", "train__early_stopping__patience": None},
    "dk-selu": {"model__activation": "selu", "model__kernel_initializer": "lecun_normal"},
    "dk-gelu": {"model__activation": "gelu"},
    "dk-1024": {"model__hidden": [1024]},
    "dk-bn": {"model__batch_norm": True},
    "dk-m8": {"model__members": 8},
    "dk-pat30": {"train__early_stopping__patience": 30},
    "dk-emb": {"model__embedding": "periodic"},
    "dk-ls": {"model__label_smoothing": 0.1},
    "dk-m4-emb": {"model__members": 4, "model__embedding": "periodic"},
}
DENSEKIT_VARIANTS.update(ROUND_TWO)
TFIDF_WORDS = 10_000     # scikit-learn's MLP reads sparse TF-IDF: the whole vocabulary densekit keeps
DENSE_WORDS = 1_000      # the tree and RealMLP need dense inputs: the 1,000 most frequent words


# ------------------------------------------------------------------ one metric for everyone


def as_comparable(values: np.ndarray) -> np.ndarray:
    """Labels as text, with numbers written one way: a tool may hand back 1, 1.0 or '1'."""
    values = np.asarray(values).ravel()
    numbers = pd.to_numeric(pd.Series(values), errors="coerce")
    if numbers.notna().all():
        return numbers.astype(float).map(repr).to_numpy()
    return pd.Series(values).astype(str).to_numpy()


def score(task: str, truth: np.ndarray, predicted: np.ndarray) -> dict:
    """{"score": accuracy | micro-F1 | R², "mae": … for regression}: higher score is better."""
    from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score
    if task == "regression":
        truth, predicted = np.asarray(truth, float), np.asarray(predicted, float).reshape(np.shape(truth))
        return {"score": float(r2_score(truth, predicted)), "mae": float(mean_absolute_error(truth, predicted))}
    if task == "multilabel":
        return {"score": float(f1_score(np.asarray(truth, int), np.asarray(predicted, int), average="micro"))}
    return {"score": float(accuracy_score(as_comparable(truth), as_comparable(predicted)))}


# ------------------------------------------------------------------ reading a set (peers)


def read_split(meta: dict):
    """(x_train, y_train, x_test, y_test): frames for tables, arrays for images."""
    train_file, test_file = source_files(meta)
    if meta["kind"] == "image":
        with np.load(train_file) as arrays:
            x, y = arrays["x_train"].reshape(-1, 784), arrays["y_train"]
            tx, ty = arrays["x_test"].reshape(-1, 784), arrays["y_test"]
        return x, y, tx, ty
    label = meta["label"] if isinstance(meta["label"], list) else [meta["label"]]
    train, test = pd.read_csv(train_file), pd.read_csv(test_file)
    y, ty = train[label].to_numpy(), test[label].to_numpy()
    if len(label) == 1:
        y, ty = y.ravel(), ty.ravel()
    return train.drop(columns=label), y, test.drop(columns=label), ty


def categorical_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]


# ------------------------------------------------------------------ scikit-learn's MLP


def sklearn_mlp(meta: dict, seed: int, x, y):
    """MLPClassifier/MLPRegressor at their defaults behind the textbook ColumnTransformer."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    model = (MLPRegressor if meta["task"] == "regression" else MLPClassifier)(random_state=seed)
    return make_pipeline(mlp_inputs(meta, x), model).fit(x, y)


def mlp_inputs(meta: dict, x):
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
    if meta["kind"] == "image":
        return FunctionTransformer(lambda pixels: pixels / 255.0)  # the usual MNIST scaling
    if meta["kind"] == "text":
        return ColumnTransformer([("text", TfidfVectorizer(max_features=TFIDF_WORDS), meta["text_column"])])
    categorical = categorical_columns(x)
    numeric = [c for c in x.columns if c not in categorical]
    return ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), categorical)])


# ------------------------------------------------------------------ gradient-boosted trees


def dense_text(meta: dict, x, fitted=None):
    """The tree and RealMLP take dense matrices: a TF-IDF of the most frequent words."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    vectorizer = fitted or TfidfVectorizer(max_features=DENSE_WORDS).fit(x[meta["text_column"]])
    return vectorizer, vectorizer.transform(x[meta["text_column"]]).toarray().astype(np.float32)


def as_categories(x: pd.DataFrame, like: pd.DataFrame | None = None) -> pd.DataFrame:
    """Text columns as pandas categories (the training rows' categories for the test rows)."""
    x = x.copy()
    for c in categorical_columns(like if like is not None else x):
        known = (like if like is not None else x)[c].astype("category").cat.categories
        x[c] = pd.Categorical(x[c], categories=known)
    return x


def hist_gb(meta: dict, seed: int, x, y):
    """HistGradientBoosting at its defaults, categories native (from the pandas dtype)."""
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )
    from sklearn.multioutput import MultiOutputClassifier
    regression = meta["task"] == "regression"
    model = (HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier)(random_state=seed)
    if meta["task"] == "multilabel":
        model = MultiOutputClassifier(model)  # one tree ensemble per label
    return Adapted(meta, model).fit(x, y)


def lightgbm(meta: dict, seed: int, x, y):
    """LightGBM at its defaults (100 trees of 31 leaves), categories native (pandas dtype)."""
    from lightgbm import LGBMClassifier, LGBMRegressor
    from sklearn.multioutput import MultiOutputClassifier
    kind = LGBMRegressor if meta["task"] == "regression" else LGBMClassifier
    model = kind(random_state=seed, n_jobs=1, verbose=-1)
    if meta["task"] == "multilabel":
        model = MultiOutputClassifier(model)
    return Adapted(meta, model).fit(x, y)


# ------------------------------------------------------------------ RealMLP-TD (pytabkit)


def realmlp(meta: dict, seed: int, x, y):
    """RealMLP-TD at its tuned defaults; it refuses NaN in numeric columns, so they get the
    median (categories keep a 'missing' level), and it has no multi-label mode: one model per label."""
    import torch
    from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor
    from sklearn.multioutput import MultiOutputClassifier
    torch.set_num_threads(1)
    kind = RealMLP_TD_Regressor if meta["task"] == "regression" else RealMLP_TD_Classifier
    model = kind(random_state=seed, device="cpu", n_threads=1, verbosity=0)
    if meta["task"] == "multilabel":
        model = MultiOutputClassifier(model)
    return Adapted(meta, model, impute=True).fit(x, y)


class Adapted:
    """A model behind the few conversions the tree and RealMLP need: dense TF-IDF for text,
    pandas categories for text columns, medians for numeric gaps (RealMLP only)."""

    def __init__(self, meta: dict, model, impute: bool = False):
        self.meta, self.model, self.impute = meta, model, impute
        self.vectorizer = self.train_x = self.medians = None

    def convert(self, x):
        if self.meta["kind"] == "image":
            return x.astype(np.float32) / 255.0
        if self.meta["kind"] == "text":
            self.vectorizer, dense = dense_text(self.meta, x, self.vectorizer)
            return dense
        if self.train_x is None:
            self.train_x = x
            numeric = [c for c in x.columns if c not in categorical_columns(x)]
            self.medians = x[numeric].median()
        x = as_categories(x, self.train_x)
        if self.impute:
            x = x.fillna(self.medians)
            for c in categorical_columns(self.train_x):
                x[c] = x[c].cat.add_categories(["missing"]).fillna("missing")
        return x

    def fit(self, x, y):
        self.model.fit(self.convert(x), y)
        return self

    def predict(self, x):
        return self.model.predict(self.convert(x))


# ------------------------------------------------------------------ the peers' worker


def tabm(meta: dict, seed: int, x, y):
    from defaults_tabm import tabm as fit_tabm
    return fit_tabm(meta, seed, x, y)


PEERS = {"sklearn-mlp": sklearn_mlp, "hist-gb": hist_gb, "lightgbm": lightgbm,
         "realmlp-td": realmlp, "tabm": tabm}


# Imported before the clock starts, as densekit is: a library's import time is not training.
IMPORTS = {"sklearn-mlp": ["sklearn.neural_network", "sklearn.compose", "sklearn.feature_extraction.text"],
           "hist-gb": ["sklearn.ensemble", "sklearn.multioutput", "sklearn.feature_extraction.text"],
           "lightgbm": ["lightgbm", "sklearn.multioutput", "sklearn.feature_extraction.text"],
           "realmlp-td": ["torch", "pytabkit", "sklearn.multioutput", "sklearn.feature_extraction.text"],
           "tabm": ["torch", "tabm", "rtdl_num_embeddings", "sklearn.preprocessing",
                    "sklearn.feature_extraction.text"]}


def run_peer(tool: str, meta: dict, seed: int) -> dict:
    import importlib

    from sklearn.exceptions import ConvergenceWarning
    for module in IMPORTS[tool]:
        importlib.import_module(module)
    started = time.perf_counter()
    x, y, tx, ty = read_split(meta)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached is the default's result
        model = PEERS[tool](meta, seed, x, y)
    seconds = time.perf_counter() - started
    return {**score(meta["task"], ty, model.predict(tx)), "seconds": seconds}


# ------------------------------------------------------------------ densekit's worker


def run_densekit(meta: dict, seed: int, out: Path, variant: str = "densekit") -> dict:
    """`densekit train --data FILE --label COL --test-data TEST --seed S`, nothing else
    (but the variant's setting)."""
    from densekit import (  # densekit imports lazily: before the clock, as the peers'
        load,
        train,
    )
    # PyTorch imports its compiler (torch._dynamo, about 2.5 s) when the first optimizer is
    # built; that is library import time too, paid once per process, so before the clock.
    import torch._dynamo  # noqa: F401
    from densekit.errors import DensekitError
    train_file, test_file = source_files(meta)
    settings = {"data__source": str(train_file), "train__seed": seed, "out": str(out),
                **DENSEKIT_VARIANTS[variant]}
    if test_file is not None:
        settings.update(data__label=meta["label"], data__test=str(test_file))
    started = time.perf_counter()
    try:
        train(quiet=True, report=False, **settings)
    except DensekitError as err:
        return {"error": str(err).splitlines()[0]}
    seconds = time.perf_counter() - started
    predictor = load(out)
    test = predictor.read_features(test_file or train_file, require_label=True)
    predicted = predictor.predict(test.x)
    return {**score(meta["task"], test.y, predicted), "seconds": seconds, **run_facts(out)}


def run_facts(out: Path) -> dict:
    """What the run itself says: the task it inferred, its epochs, the seconds in its loop
    (the rest of `seconds` is reading, preprocessing, checkpoints and files)."""
    import json
    run = json.loads((out / "run.json").read_text())
    return {"task": run.get("task"), "epochs": run.get("epochs"), "loop_seconds": run.get("train_seconds")}


def single_threaded_env() -> dict:
    """Every tool on one thread, as densekit trains by default: the machine has 2 cores and
    others run tests; one thread each makes the times comparable."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
