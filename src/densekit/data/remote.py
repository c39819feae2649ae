"""Named datasets fetched from their publishers: the MNIST family, Keras's IMDB, Reuters and
Boston housing files, and the crash course's MNIST CSV sample."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np

from densekit.data.dataset import Dataset, Part
from densekit.data.download import RemoteFile, fetch_all
from densekit.data.files import read_frame, read_npz
from densekit.data.idx import read_idx
from densekit.data.sequences import keras_shuffle, multi_hot, read_object_npz
from densekit.errors import DensekitError

KERAS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets"
FASHION = "https://fashion-mnist.s3.eu-central-1.amazonaws.com"
KMNIST = "https://codh.rois.ac.jp/kmnist/dataset/kmnist"
K49 = "https://codh.rois.ac.jp/kmnist/dataset/k49"
MLCC = "https://download.mlcc.google.com/mledu-datasets"
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
    "imdb": [RemoteFile("imdb.npz", f"{KERAS}/imdb.npz",
                        "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f")],
    "reuters": [RemoteFile("reuters.npz", f"{KERAS}/reuters.npz",
                           "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916")],
    # CODH publishes MD5s only for Kuzushiji-49.
    "k49": [RemoteFile(name, f"{K49}/{name}", None, md5=md5) for name, md5 in [
        ("k49-train-imgs.npz", "7ac088b20481cf51dcd01ceaab89d821"),
        ("k49-train-labels.npz", "44a8e1b893f81e63ff38d73cad420f7a"),
        ("k49-test-imgs.npz", "d352e201d846ce6b94f42c990966f374"),
        ("k49-test-labels.npz", "4da6f7a62e67a832d5eb1bd85c5ee448")]],
    # The crash course publishes no checksum: the first download's SHA-256 is recorded.
    "mnist-csv": [RemoteFile(name, f"{MLCC}/{name}", None)
                  for name in ("mnist_train_small.csv", "mnist_test.csv")],
}
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
KMNIST_CLASSES = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
K49_CLASSES = ("a i u e o ka ki ku ke ko sa shi su se so ta chi tsu te to na ni nu ne no "
               "ha hi fu he ho ma mi mu me mo ya yu yo ra ri ru re ro wa wi we wo n iter").split()
REUTERS_TOPICS = 46
BOSTON_FEATURES = ["CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX",
                   "PTRATIO", "B", "LSTAT"]


def remote_files(name: str) -> list[RemoteFile]:
    """The publisher's files, or the same names under DENSEKIT_MIRROR (a local copy or server)."""
    mirror = os.environ.get("DENSEKIT_MIRROR")
    files = REMOTE[name]
    if not mirror:
        return files
    return [dataclasses.replace(f, url=f"{mirror.rstrip('/')}/{name}/{f.name}") for f in files]


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


def load_k49(name: str, options: dict[str, Any]) -> Dataset:
    """Kuzushiji-49: four NPZ files, each holding one array named arr_0."""
    folder = ensure_files(name)
    x_train, y_train, x_test, y_test = (only_array(folder / f.name) for f in REMOTE[name])
    return Dataset(name, Part(x_train.reshape(len(x_train), -1), y_train),
                   test=Part(x_test.reshape(len(x_test), -1), y_test), kind="image",
                   feature_names=[f"pixel_{i}" for i in range(784)], image_shape=(28, 28),
                   class_names=dict(enumerate(K49_CLASSES)))


def only_array(path: Path) -> np.ndarray:
    arrays = read_npz(path)
    if "arr_0" not in arrays:
        raise DensekitError(f"{path} should hold one array named arr_0 (Kuzushiji-49's layout); "
                            f"it holds {', '.join(arrays) or 'nothing'}. Download it again.")
    return arrays["arr_0"]


def load_mnist_csv(name: str, options: dict[str, Any]) -> Dataset:
    """The crash-course exercise's split: of the 20,000-row sample, rows 0-7,499 train and
    7,500-9,999 validate; the 10,000-row test CSV tests. Label in column 0, then 784 pixels."""
    folder = ensure_files(name)
    sample, test = (read_frame(folder / f.name).to_numpy() for f in REMOTE[name])
    for table, f in zip((sample, test), REMOTE[name]):
        if table.shape[1] != 785 or table.dtype.kind not in "iu" or table.min() < 0 or table.max() > 255:
            raise DensekitError(f"{folder / f.name} should have 785 columns of integers 0..255 (the "
                                f"label, then 784 pixels); it has {table.shape[1]} columns of "
                                f"{table.dtype}. Download it again.")
    return Dataset(name, label_first(sample[:7500]), validation=label_first(sample[7500:10000]),
                   test=label_first(test), kind="image", image_shape=(28, 28),
                   feature_names=[f"pixel_{i}" for i in range(784)],
                   class_names={i: str(i) for i in range(10)})


def label_first(rows: np.ndarray) -> Part:
    """The crash course's CSV layout: the label, then the pixels."""
    return Part(rows[:, 1:].astype(np.uint8), rows[:, 0].astype(np.int64))


def load_imdb(name: str, options: dict[str, Any]) -> Dataset:
    """25,000 + 25,000 reviews, multi-hot over the top `words` words (the chapter: 10,000)."""
    words = options.get("words", 10_000)
    arrays = read_object_npz(ensure_files(name) / "imdb.npz")
    x_train, y_train = keras_shuffle(113, arrays["x_train"], arrays["y_train"])
    return bag_of_words(name, Part(multi_hot(x_train, words), y_train),
                        Part(multi_hot(arrays["x_test"], words), arrays["y_test"]),
                        {0: "negative", 1: "positive"})


def load_reuters(name: str, options: dict[str, Any]) -> Dataset:
    """11,228 newswires in 46 topics; Keras's seed-113 shuffle and 80/20 split (8,982 / 2,246)."""
    words = options.get("words", 10_000)
    arrays = read_object_npz(ensure_files(name) / "reuters.npz")
    x, y = keras_shuffle(113, arrays["x"], arrays["y"])
    cut = int(len(x) * 0.8)
    hot = multi_hot(x, words)
    return bag_of_words(name, Part(hot[:cut], y[:cut]), Part(hot[cut:], y[cut:]),
                        {i: f"topic {i}" for i in range(REUTERS_TOPICS)})


def bag_of_words(name: str, train: Part, test: Part, class_names: dict) -> Dataset:
    words = train.x.shape[1]
    return Dataset(name, train, test=test, kind="bag",
                   feature_names=["<pad>", "<start>", "<oov>"] + [f"word_{i}" for i in range(3, words)],
                   class_names=class_names)
