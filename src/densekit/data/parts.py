"""A file's rows to predict from or evaluate on, in the column order the model was trained with."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from densekit.data.columns import Label, labels_of, present_labels, preview
from densekit.data.dataset import Part, flatten_images
from densekit.data.feature_columns import numeric_matrix
from densekit.data.frames import frame_has_header, read_frame
from densekit.data.npz import npz_features
from densekit.data.readers import read_npy
from densekit.errors import DensekitError


def read_part(path: Path, label: Label, feature_names: list[str], require_label: bool,
              as_frame: bool = False) -> Part:
    """Features (and labels when present) of a file, in the column order of training.
    as_frame: the raw columns of a mixed table, for its TableEncoder."""
    if as_frame:
        refuse_arrays(path)
        frame = read_frame(path)
        label_cols = present_labels(frame, label)
        y = labels_of(frame, label_cols) if label_cols else None
        x = frame.drop(columns=label_cols)
    elif path.suffix.lower() == ".npz":
        x, y = npz_features(path)
    elif path.suffix.lower() == ".npy":
        x, y = flatten_images(read_npy(path))[0], None  # features only, memory-mapped
    else:
        x, y = table_features(read_frame(path), label, feature_names, path)
    if require_label and y is None:
        column = label if label is not None else "label"
        raise DensekitError(f"{path} has no labels; evaluation needs them. Give a file with the "
                            f"label column ({column}) or an NPZ with a y array.")
    return Part(x, y)


def refuse_arrays(path: Path) -> None:
    """A model of named text or category columns reads a table; arrays carry no column names
    (and an .npz read as text was called "not valid UTF-8")."""
    if path.suffix.lower() in (".npz", ".npy"):
        raise DensekitError(
            f"{path} holds arrays ({path.suffix}), but this model was trained on a table with "
            "text or category columns, which it reads by name. Give a CSV, TSV or Parquet file "
            "with the training table's columns.")


def table_features(frame: pd.DataFrame, label: Label, feature_names: list[str], path: Path):
    """Select the training columns by name when the file has them, else by position."""
    has_header = frame_has_header(frame)
    label_cols = present_labels(frame, label)
    y = labels_of(frame, label_cols) if label_cols else None
    if has_header and set(feature_names) <= set(frame.columns):
        return numeric_matrix(frame[feature_names], path, has_header), y
    if label_cols and frame.shape[1] == len(feature_names) + len(label_cols):
        frame = frame.drop(columns=label_cols)
    else:
        y = None
    if frame.shape[1] != len(feature_names):
        missing = [n for n in feature_names if n not in frame.columns] if has_header else []
        hint = f" Missing columns: {preview(missing)}." if missing else ""
        raise DensekitError(
            f"{path} has {frame.shape[1]} feature column(s) but the model was trained on "
            f"{len(feature_names)}.{hint} Give the same columns as the training data (the label "
            "column may be present or not).")
    return numeric_matrix(frame, path, has_header), y
