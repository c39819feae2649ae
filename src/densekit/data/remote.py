"""Named datasets fetched from their publishers: MNIST and Boston housing (Keras's files)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from densekit.data.dataset import Dataset, Part
from densekit.data.download import RemoteFile, fetch_all
from densekit.data.files import read_npz
from densekit.data.idx import read_idx

KERAS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets"
FASHION = "https://fashion-mnist.s3.eu-central-1.amazonaws.com"
KMNIST = "https://codh.rois.ac.jp/kmnist/dataset/kmnist"
IDX_NAMES = {"x_train": "train-images-idx3-ubyte.gz", "y_train": "train-labels-idx1-ubyte.gz",
             "x_test": "t10k-images-idx3-ubyte.gz", "y_test": "t10k-labels-idx1-ubyte.gz"}


def idx_files(base: str, digests: list[str]) -> list[RemoteFile]:
    return [RemoteFile(name, f"{base}/{name}", digest) for name, digest in zip(IDX_NAMES.values(), digests)]


REMOTE = {
    "fashion-mnist": idx_files(FASHION, [
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"]),
    "kmnist": idx_files(KMNIST, [
        "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
        "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
        "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
        "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c"]),
    "mnist": [RemoteFile("mnist.npz", f"{KERAS}/mnist.npz",
                         "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1", 11_490_434)],
    "boston-housing": [RemoteFile("boston_housing.npz", f"{KERAS}/boston_housing.npz",
                                  "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5")],
}
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
KMNIST_CLASSES = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
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


def load_idx_set(name: str, class_names: list[str]) -> Dataset:
    """Four gzip IDX files: train/test images and labels (Fashion-MNIST, Kuzushiji-MNIST)."""
    folder = ensure_files(name)
    arrays = {key: read_idx(folder / filename) for key, filename in IDX_NAMES.items()}
    x_train, x_test = arrays["x_train"], arrays["x_test"]
    return Dataset(name, Part(x_train.reshape(len(x_train), -1), arrays["y_train"]),
                   test=Part(x_test.reshape(len(x_test), -1), arrays["y_test"]), kind="image",
                   feature_names=[f"pixel_{i}" for i in range(784)], image_shape=(28, 28),
                   class_names=dict(enumerate(class_names)))


def load_fashion(name: str, options: dict[str, Any]) -> Dataset:
    return load_idx_set(name, FASHION_CLASSES)


def load_kmnist(name: str, options: dict[str, Any]) -> Dataset:
    return load_idx_set(name, KMNIST_CLASSES)


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
