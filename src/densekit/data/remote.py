"""Loaders of the named sets fetched from their publishers: the MNIST family, Keras's IMDB,
Reuters and Boston housing files, and the crash course's MNIST CSV sample.

Each loader receives its registry entry (registry.py), whose files it finds or downloads.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np

from densekit.data.dataset import Dataset, Part
from densekit.data.download import RemoteFile, fetch_all
from densekit.data.folders import cache_folder, folder_holding
from densekit.data.frames import read_frame
from densekit.data.idx import read_idx
from densekit.data.namedset import NamedSet, no_options
from densekit.data.readers import read_npz
from densekit.data.sequences import keras_shuffle, multi_hot, read_object_npz
from densekit.errors import DensekitError

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
KMNIST_CLASSES = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
K49_CLASSES = ("a i u e o ka ki ku ke ko sa shi su se so ta chi tsu te to na ni nu ne no "
               "ha hi fu he ho ma mi mu me mo ya yu yo ra ri ru re ro wa wi we wo n iter").split()
REUTERS_TOPICS = 46
BOSTON_FEATURES = ["CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX",
                   "PTRATIO", "B", "LSTAT"]


def remote_files(entry: NamedSet) -> list[RemoteFile]:
    """The publisher's files, or the same names under DENSEKIT_MIRROR (a local copy or server)."""
    mirror = os.environ.get("DENSEKIT_MIRROR")
    if not mirror:
        return list(entry.files)
    return [dataclasses.replace(f, url=f"{mirror.rstrip('/')}/{entry.name}/{f.name}") for f in entry.files]


def ensure_local(entry: NamedSet) -> Path:
    """The folder holding the set's files: found on disk, or downloaded into the cache."""
    found = folder_holding(entry.name, entry.filenames)
    if found is not None:
        return found
    cache = cache_folder(entry.name)
    fetch_all(remote_files(entry), cache)
    return cache


def local_paths(entry: NamedSet) -> list[Path]:
    """Every file of the set, in the registry's order."""
    folder = ensure_local(entry)
    return [folder / name for name in entry.filenames]


def load_fashion(entry: NamedSet, options: dict[str, Any]) -> Dataset:
    return load_idx_set(entry, options, FASHION_CLASSES)


def load_kmnist(entry: NamedSet, options: dict[str, Any]) -> Dataset:
    return load_idx_set(entry, options, KMNIST_CLASSES)


def load_idx_set(entry: NamedSet, options: dict[str, Any], classes: list[str]) -> Dataset:
    """Four gzip IDX files: train/test images and labels (Fashion-MNIST, Kuzushiji-MNIST)."""
    no_options(entry.name, options)
    x_train, y_train, x_test, y_test = (read_idx(path) for path in local_paths(entry))
    return images_28(entry.name, Part(flat(x_train), y_train), Part(flat(x_test), y_test), classes)


def load_mnist(entry: NamedSet, options: dict[str, Any]) -> Dataset:
    no_options(entry.name, options)
    arrays = read_npz(local_paths(entry)[0])
    return images_28(entry.name, Part(flat(arrays["x_train"]), arrays["y_train"]),
                     Part(flat(arrays["x_test"]), arrays["y_test"]), [str(i) for i in range(10)])


def load_k49(entry: NamedSet, options: dict[str, Any]) -> Dataset:
    """Kuzushiji-49: four NPZ files, each holding one array named arr_0."""
    no_options(entry.name, options)
    x_train, y_train, x_test, y_test = (only_array(path) for path in local_paths(entry))
    return images_28(entry.name, Part(flat(x_train), y_train), Part(flat(x_test), y_test), K49_CLASSES)


def flat(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1)


def images_28(name: str, train: Part, test: Part, classes: list[str]) -> Dataset:
    return Dataset(name, train, test=test, kind="image", feature_names=pixel_names(),
                   image_shape=(28, 28), class_names=dict(enumerate(classes)))


def pixel_names() -> list[str]:
    return [f"pixel_{i}" for i in range(784)]  # a new list per dataset: callers may change it


def only_array(path: Path) -> np.ndarray:
    arrays = read_npz(path)
    if "arr_0" not in arrays:
        raise DensekitError(f"{path} should hold one array named arr_0 (Kuzushiji-49's layout); "
                            f"it holds {', '.join(arrays) or 'nothing'}. Download it again.")
    return arrays["arr_0"]


def load_boston(entry: NamedSet, options: dict[str, Any]) -> Dataset:
    """Keras's split, so the 404 training and 102 test rows are the book's."""
    no_options(entry.name, options)
    arrays = read_npz(local_paths(entry)[0])
    x, y = arrays["x"].astype(np.float32), arrays["y"].astype(np.float32)
    order = np.arange(len(x))
    np.random.RandomState(113).shuffle(order)  # keras.datasets.boston_housing: seed 113
    x, y = x[order], y[order]
    cut = int(len(x) * 0.8)
    return Dataset(entry.name, Part(x[:cut], y[:cut]), test=Part(x[cut:], y[cut:]),
                   feature_names=BOSTON_FEATURES)


def load_mnist_csv(entry: NamedSet, options: dict[str, Any]) -> Dataset:
    """The crash-course exercise's split: of the 20,000-row sample, rows 0-7,499 train and
    7,500-9,999 validate; the 10,000-row test CSV tests. Label in column 0, then 784 pixels."""
    no_options(entry.name, options)
    paths = local_paths(entry)
    sample, test = (read_frame(path).to_numpy() for path in paths)
    for table, path in zip((sample, test), paths):
        if table.shape[1] != 785 or table.dtype.kind not in "iu" or table.min() < 0 or table.max() > 255:
            raise DensekitError(f"{path} should have 785 columns of integers 0..255 (the "
                                f"label, then 784 pixels); it has {table.shape[1]} columns of "
                                f"{table.dtype}. Download it again.")
    return Dataset(entry.name, label_first(sample[:7500]), validation=label_first(sample[7500:10000]),
                   test=label_first(test), kind="image", image_shape=(28, 28),
                   feature_names=pixel_names(), class_names={i: str(i) for i in range(10)})


def label_first(rows: np.ndarray) -> Part:
    """The crash course's CSV layout: the label, then the pixels."""
    return Part(rows[:, 1:].astype(np.uint8), rows[:, 0].astype(np.int64))


def load_imdb(entry: NamedSet, options: dict[str, Any]) -> Dataset:
    """25,000 + 25,000 reviews, multi-hot over the top `words` words (the chapter: 10,000)."""
    words = words_option(entry.name, options)
    arrays = read_object_npz(local_paths(entry)[0])
    x_train, y_train = keras_shuffle(113, arrays["x_train"], arrays["y_train"])
    return bag_of_words(entry.name, Part(multi_hot(x_train, words), y_train),
                        Part(multi_hot(arrays["x_test"], words), arrays["y_test"]),
                        {0: "negative", 1: "positive"})


def load_reuters(entry: NamedSet, options: dict[str, Any]) -> Dataset:
    """11,228 newswires in 46 topics; Keras's seed-113 shuffle and 80/20 split (8,982 / 2,246)."""
    words = words_option(entry.name, options)
    arrays = read_object_npz(local_paths(entry)[0])
    x, y = keras_shuffle(113, arrays["x"], arrays["y"])
    cut = int(len(x) * 0.8)
    hot = multi_hot(x, words)
    return bag_of_words(entry.name, Part(hot[:cut], y[:cut]), Part(hot[cut:], y[cut:]),
                        {i: f"topic {i}" for i in range(REUTERS_TOPICS)})


def words_option(name: str, options: dict[str, Any]) -> int:
    """Word-sequence sets take one option: how many of the most frequent words to keep."""
    unknown = set(options) - {"words"}
    words = options.get("words", 10_000)
    if unknown or not isinstance(words, int) or isinstance(words, bool) or words < 4:
        raise DensekitError(
            f"The {name} dataset takes one option, words: how many of the most frequent words "
            f"to keep (an integer of at least 4; the chapter uses 10000). Received {options}. "
            "Example: --set data.options.words=10000.")
    return words


def bag_of_words(name: str, train: Part, test: Part, class_names: dict) -> Dataset:
    words = train.x.shape[1]
    return Dataset(name, train, test=test, kind="bag",
                   feature_names=["<pad>", "<start>", "<oov>"] + [f"word_{i}" for i in range(3, words)],
                   class_names=class_names)
