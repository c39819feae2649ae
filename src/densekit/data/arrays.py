"""Folders of arrays: NPY pairs (x_train.npy, y_train.npy, …), IDX files (the MNIST layout), or
Kuzushiji-style NPZ pairs (NAME-train-imgs.npz + NAME-train-labels.npz, each holding arr_0).

NPY files and uncompressed IDX files are memory-mapped: a 1,000,000 × 784 image set costs its
own size in memory once, not twice (no read into a buffer followed by a copy).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from densekit.data.dataset import Dataset, Part, check_rows, flatten_images
from densekit.data.idx import read_idx
from densekit.data.readers import read_npy, read_npz
from densekit.errors import DensekitError

ROLES = {"train": "train", "validation": "val", "test": "test"}
# The MNIST family names its files train-*/t10k-*; Fashion-MNIST and KMNIST keep those names.
IDX_PREFIXES = {"train": ("train",), "test": ("t10k", "test")}


def is_array_folder(folder: Path) -> bool:
    return ((folder / "x_train.npy").exists() or find_idx(folder, "train", "images") is not None
            or find_pair(folder, "train", "imgs") is not None)


def load_array_folder(folder: Path) -> Dataset:
    if (folder / "x_train.npy").exists():
        parts = npy_parts(folder)
    elif find_idx(folder, "train", "images") is not None:
        parts = idx_parts(folder)
    else:
        parts = npz_pair_parts(folder)
    image_shape = parts.pop("image_shape")
    train = parts["train"]
    is_image = train.x.dtype == np.uint8
    return Dataset(folder.name, train, parts.get("validation"), parts.get("test"),
                   kind="image" if is_image else "table", image_shape=image_shape if is_image else None,
                   feature_names=[f"pixel_{i}" if is_image else f"x{i}" for i in range(train.x.shape[1])])


def npy_parts(folder: Path) -> dict:
    parts: dict = {"image_shape": None}
    for role, suffix in ROLES.items():
        x_path, y_path = folder / f"x_{suffix}.npy", folder / f"y_{suffix}.npy"
        if not x_path.exists():
            continue
        if not y_path.exists():
            raise DensekitError(f"{folder} has {x_path.name} but no {y_path.name}: every feature "
                                "array needs its labels.")
        x, shape = flatten_images(read_npy(x_path))
        parts[role] = Part(x, np.asarray(read_npy(y_path)))
        check_rows(parts[role], f"{x_path.name}/{y_path.name} in {folder}")
        parts["image_shape"] = parts["image_shape"] or shape
    return parts


def idx_parts(folder: Path) -> dict:
    parts: dict = {"image_shape": None}
    for role in IDX_PREFIXES:
        images = find_idx(folder, role, "images")
        if images is None:
            continue
        labels = find_idx(folder, role, "labels")
        if labels is None:
            raise DensekitError(f"{folder} has {images.name} but no matching *labels-idx1-ubyte file.")
        x, shape = flatten_images(read_idx(images))
        parts[role] = Part(x, read_idx(labels))
        check_rows(parts[role], f"{images.name}/{labels.name} in {folder}")
        parts["image_shape"] = parts["image_shape"] or shape
    return parts


def npz_pair_parts(folder: Path) -> dict:
    parts: dict = {"image_shape": None}
    for role in ("train", "test"):
        images = find_pair(folder, role, "imgs")
        if images is None:
            continue
        labels = images.with_name(images.name.replace("-imgs.npz", "-labels.npz"))
        if not labels.exists():
            raise DensekitError(f"{folder} has {images.name} but no {labels.name}.")
        arrays = [read_npz(path) for path in (images, labels)]
        if any("arr_0" not in a for a in arrays):
            raise DensekitError(f"{images.name} and {labels.name} must each hold one array named "
                                "arr_0 (as np.savez(path, array) writes it).")
        x, shape = flatten_images(arrays[0]["arr_0"])
        parts[role] = Part(x, arrays[1]["arr_0"])
        check_rows(parts[role], f"{images.name}/{labels.name} in {folder}")
        parts["image_shape"] = parts["image_shape"] or shape
    return parts


def find_pair(folder: Path, role: str, what: str) -> Optional[Path]:
    found = sorted(folder.glob(f"*{role}-{what}.npz"))
    return found[0] if found else None


def find_idx(folder: Path, role: str, what: str) -> Optional[Path]:
    for prefix in IDX_PREFIXES[role]:
        for suffix in ("", ".gz"):
            found = sorted(folder.glob(f"{prefix}*{what}*idx*-ubyte{suffix}"))
            if found:
                return found[0]
    return None

