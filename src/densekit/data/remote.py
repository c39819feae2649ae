"""Named datasets fetched from their publishers: MNIST and Boston housing (Keras's files)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from densekit.data.dataset import Dataset, Part
from densekit.data.download import RemoteFile, fetch_all
from densekit.data.files import read_npz

KERAS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets"
REMOTE = {
    "mnist": [RemoteFile("mnist.npz", f"{KERAS}/mnist.npz",
                         "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1", 11_490_434)],
    "boston-housing": [RemoteFile("boston_housing.npz", f"{KERAS}/boston_housing.npz",
                                  "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5")],
}
BOSTON_FEATURES = ["CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX",
                   "PTRATIO", "B", "LSTAT"]


def remote_files(name: str) -> list[RemoteFile]:
    """The publisher's files, or the same names under DENSEKIT_MIRROR (a local copy or server)."""
    mirror = os.environ.get("DENSEKIT_MIRROR")
    files = REMOTE[name]
    if not mirror:
        return files
    return [RemoteFile(f.name, f"{mirror.rstrip('/')}/{name}/{f.name}", f.sha256, f.size) for f in files]


def ensure_files(name: str) -> Path:
    """The folder holding the set's files: found on disk, or downloaded into the cache."""
    from densekit.data.named import data_folders  # the shared look-up order
    files = remote_files(name)
    for folder in data_folders(name):
        if all((folder / f.name).exists() for f in files):
            return folder
    cache = Path.home() / ".cache" / "densekit" / name
    fetch_all(files, cache)
    return cache


def load_mnist(name: str, options: dict[str, Any]) -> Dataset:
    arrays = read_npz(ensure_files(name) / "mnist.npz")
    x_train, x_test = arrays["x_train"], arrays["x_test"]
    return Dataset(name, Part(x_train.reshape(len(x_train), -1), arrays["y_train"]),
                   test=Part(x_test.reshape(len(x_test), -1), arrays["y_test"]), kind="image",
                   feature_names=[f"pixel_{i}" for i in range(784)], image_shape=(28, 28),
                   class_names={i: str(i) for i in range(10)})


def load_boston(name: str, options: dict[str, Any]) -> Dataset:
    """Keras's split, so the 404 training and 102 test rows are the book's."""
    arrays = read_npz(ensure_files(name) / "boston_housing.npz")
    x, y = arrays["x"].astype(np.float32), arrays["y"].astype(np.float32)
    order = np.arange(len(x))
    np.random.RandomState(113).shuffle(order)  # keras.datasets.boston_housing: seed 113
    x, y = x[order], y[order]
    cut = int(len(x) * 0.8)
    return Dataset(name, Part(x[:cut], y[:cut]), test=Part(x[cut:], y[cut:]),
                   feature_names=BOSTON_FEATURES)
