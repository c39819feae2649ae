"""NPZ files of the user's: x and y, or x_train/y_train with optional validation and test arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from densekit.data.dataset import Dataset, Part, check_rows, flatten_images
from densekit.data.readers import read_npz
from densekit.errors import DensekitError

SPLIT_KEYS = {"train": ("x_train", "y_train"), "validation": ("x_val", "y_val"),
              "test": ("x_test", "y_test")}


def load_npz(path: Path) -> Dataset:
    arrays = read_npz(path)
    if "x_train" in arrays:
        keys = SPLIT_KEYS
    elif "x" in arrays:
        keys = {"train": ("x", "y")}
    else:
        raise DensekitError(f"{path} must hold arrays x and y, or x_train and y_train (optionally "
                            f"x_val/y_val, x_test/y_test); it holds {', '.join(arrays)}.")
    parts, image_shape = {}, None
    for role, (xk, yk) in keys.items():
        if xk not in arrays:
            continue
        if yk not in arrays:
            raise DensekitError(f"{path} has {xk} but no {yk}: every feature array needs labels.")
        where = f"{xk}/{yk} in {path}"
        check_rows(Part(arrays[xk], arrays[yk]), where)  # before flattening: () or (0, …) cannot be
        if arrays[xk].ndim < 2:
            raise DensekitError(f"{where}: the features have shape {arrays[xk].shape}, one value "
                                "per row; densekit needs rows of features, shape (rows, features). "
                                "Save x.reshape(-1, 1) for a single feature.")
        x, image_shape = flatten_images(arrays[xk])
        parts[role] = Part(x, arrays[yk])
    # Only bytes are kept as images; float arrays of any shape are plain features.
    is_image = parts["train"].x.dtype == np.uint8
    width = parts["train"].x.shape[1]
    return Dataset(path.stem, parts["train"], parts.get("validation"), parts.get("test"),
                   kind="image" if is_image else "table",
                   feature_names=[f"x{i}" for i in range(width)], image_shape=image_shape)


def npz_features(path: Path):
    """(features, labels or None) of an NPZ to predict from or evaluate on."""
    arrays = read_npz(path)
    x = next((arrays[k] for k in ("x", "x_test", "x_train") if k in arrays), None)
    y = next((arrays[k] for k in ("y", "y_test", "y_train") if k in arrays), None)
    if x is None:
        raise DensekitError(f"{path} holds no array named x, x_test or x_train; it holds "
                            f"{', '.join(arrays) or 'nothing'}.")
    return flatten_images(x)[0], y
