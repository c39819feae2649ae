"""A training table (CSV/TSV/Parquet) as a Dataset: numeric, mixed (encoded after the split),
a text table (a bag of words, built after the split), or 784 byte columns read as images."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from densekit.config import DataConfig
from densekit.data.columns import find_labels, labels_of
from densekit.data.dataset import Dataset, Part
from densekit.data.feature_columns import find_text_column, refuse_typos
from densekit.data.frames import read_frame
from densekit.data.labels import split_label_lists
from densekit.data.tables import is_numeric, is_row_number
from densekit.errors import DensekitError


def load_table(path: Path, cfg: DataConfig) -> Dataset:
    frame = read_frame(path)
    label_cols = find_labels(frame, cfg.label, path)
    features, y = frame.drop(columns=label_cols), labels_of(frame, label_cols)
    label_names = label_cols if len(label_cols) > 1 else None
    if cfg.label_delimiter:
        y, label_names = split_label_lists(y, cfg.label_delimiter, label_cols, path)
    text_column = find_text_column(features, cfg.text.column, path, cfg.columns)
    if text_column:
        # A bag of words over the training split's vocabulary, built after the split (text.py).
        dataset = Dataset(path.stem, Part(features, y), kind="bag", feature_names=[text_column])
    elif is_plain_numeric(features, cfg):
        dataset = table_dataset(path.stem, features.to_numpy(), y, list(features.columns))
    else:
        # Categories, text beside other columns, gaps to fill, columns to drop: encoded after
        # the split (tables.py).
        refuse_typos(features, path, cfg.columns)
        dataset = Dataset(path.stem, Part(features, y), feature_names=list(features.columns))
    dataset.label_column = label_cols[0] if len(label_cols) == 1 else label_cols
    dataset.label_names = label_names
    return dataset


def is_plain_numeric(features: pd.DataFrame, cfg: DataConfig) -> bool:
    """Numbers only, nothing to fill, drop or read otherwise: the fast path, one array."""
    if cfg.columns or not all(is_numeric(features[c]) for c in features.columns):
        return False
    if any(is_row_number(features[c]) for c in features.columns):
        return False
    return cfg.missing == "error" or not features.isna().to_numpy().any()


def table_dataset(name: str, x: np.ndarray, y: np.ndarray, names: list[str]) -> Dataset:
    side = math.isqrt(x.shape[1])
    # At least 16×16: 64 small integers (scikit-learn's 8×8 digits as a CSV) are read
    # better as a table, each column on its own scale, than as bytes over 255.
    looks_like_pixels = (x.dtype.kind in "iu" and side * side == x.shape[1] and side >= 16
                         and x.min() >= 0 and x.max() <= 255)
    if looks_like_pixels:
        # e.g. the crash-course MNIST CSV: 784 integer columns 0..255 are 28x28 images.
        return Dataset(name, Part(x.astype(np.uint8), y), kind="image", feature_names=names,
                       image_shape=(side, side))
    refuse_beyond_float32(x, names)
    return Dataset(name, Part(x.astype(np.float32), y), feature_names=names)


def refuse_beyond_float32(x: np.ndarray, names: list[str]) -> None:
    """Values past float32's range would become infinite in training: name their columns."""
    if x.dtype.kind != "f" or not x.size:
        return
    with np.errstate(invalid="ignore"):  # NaN and infinities are named by check_finite later
        huge = np.isfinite(x) & (np.abs(x) > np.finfo(np.float32).max)
    columns = [names[i] if i < len(names) else str(i) for i in np.flatnonzero(huge.any(axis=0))]
    if columns:
        raise DensekitError(
            f"Column(s) {', '.join(columns[:5])} hold values beyond ±3.4e38, larger than densekit's "
            "32-bit numbers can hold. Rescale them (e.g. take their logarithm) before training.")
