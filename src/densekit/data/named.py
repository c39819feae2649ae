"""Datasets by name: scikit-learn's bundled sets and generators, Fashion-MNIST from its IDX
files, and the sets fetched from their publishers (remote.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from densekit.data.dataset import Dataset, Part
from densekit.errors import DensekitError, did_you_mean

# Folders where operating-system packages install the set (Debian: dataset-fashion-mnist).
SYSTEM_FOLDERS = [Path("/usr/share/datasets")]


def load_sklearn(name: str, options: dict[str, Any]) -> Dataset:
    import sklearn.datasets as skd

    no_options(name, options)
    loader = {"digits": skd.load_digits, "iris": skd.load_iris, "wine": skd.load_wine,
              "breast-cancer": skd.load_breast_cancer}[name]
    bunch = loader()
    names = [str(n) for n in bunch.target_names]
    if name == "digits":
        # Pixels are 0..16: keep them as bytes, scaled to [0, 1] like any image.
        return Dataset(name, Part(bunch.data.astype(np.uint8), bunch.target), kind="image",
                       feature_names=[f"pixel_{i}" for i in range(64)], image_shape=(8, 8),
                       pixel_max=16.0, class_names=dict(enumerate(names)))
    return Dataset(name, Part(bunch.data.astype(np.float32), bunch.target),
                   feature_names=list(bunch.feature_names), class_names=dict(enumerate(names)))


def load_moons(name: str, options: dict[str, Any]) -> Dataset:
    from sklearn.datasets import make_moons

    allowed = {"n_samples": 2000, "noise": 0.1, "random_state": 42}  # the tutorial's values
    unknown = set(options) - set(allowed)
    if unknown:
        raise DensekitError(f"Unknown option(s) for moons: {', '.join(sorted(unknown))}. "
                            f"Allowed: {', '.join(allowed)}.")
    settings = {**allowed, **options}
    x, y = make_moons(**settings)
    return Dataset(name, Part(x.astype(np.float32), y), feature_names=["x1", "x2"],
                   class_names={0: "moon 0", 1: "moon 1"})


def data_folders(name: str) -> list[Path]:
    """Where a named set is looked for, in order."""
    folders = []
    if os.environ.get("DENSEKIT_DATA"):
        folders.append(Path(os.environ["DENSEKIT_DATA"]) / name)
    folders.append(Path.home() / ".cache" / "densekit" / name)
    folders.extend(folder / name for folder in SYSTEM_FOLDERS)
    return folders


def no_options(name: str, options: dict[str, Any]) -> None:
    if options:
        raise DensekitError(f"The {name} dataset takes no options; received "
                            f"{', '.join(options)}. Remove data.options.")


def remote_loader(function_name: str, takes_words: bool = False) -> Callable[[str, dict[str, Any]], Dataset]:
    def load(name: str, options: dict[str, Any]) -> Dataset:
        from densekit.data import remote  # imported when used: it pulls in the download code
        if takes_words:
            check_words_option(name, options)
        else:
            no_options(name, options)
        return getattr(remote, function_name)(name, options)
    return load


def check_words_option(name: str, options: dict[str, Any]) -> None:
    """Word-sequence sets take one option: how many of the most frequent words to keep."""
    unknown = set(options) - {"words"}
    words = options.get("words", 10_000)
    if unknown or not isinstance(words, int) or isinstance(words, bool) or words < 4:
        raise DensekitError(
            f"The {name} dataset takes one option, words: how many of the most frequent words "
            f"to keep (an integer of at least 4; the chapter uses 10000). Received {options}. "
            "Example: --set data.options.words=10000.")


LOADERS: dict[str, Callable[[str, dict[str, Any]], Dataset]] = {
    "digits": load_sklearn, "iris": load_sklearn, "wine": load_sklearn,
    "breast-cancer": load_sklearn, "moons": load_moons,
    "fashion-mnist": remote_loader("load_fashion"), "kmnist": remote_loader("load_kmnist"),
    "mnist": remote_loader("load_mnist"), "boston-housing": remote_loader("load_boston"),
    "k49": remote_loader("load_k49"), "mnist-csv": remote_loader("load_mnist_csv"),
    "imdb": remote_loader("load_imdb", takes_words=True),
    "reuters": remote_loader("load_reuters", takes_words=True),
}


def load_named(name: str, options: dict[str, Any]) -> Dataset:
    if name not in LOADERS:
        raise DensekitError(
            f"'{name}' is neither a file nor a known dataset name. Known names: "
            f"{', '.join(LOADERS)}.{did_you_mean(name, LOADERS)} For your own data, give the "
            "path of a CSV, TSV or NPZ file.")
    return LOADERS[name](name, options)
