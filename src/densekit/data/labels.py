"""Multi-label data given as one column of delimited label lists ("drama|comedy")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from densekit.errors import DensekitError


def split_label_lists(y: np.ndarray, delimiter: str, label_cols: list[str], path: Path):
    """One column of delimited label lists ("drama|comedy") -> a 0/1 matrix and label names."""
    if len(label_cols) != 1:
        raise DensekitError("data.label_delimiter splits one label column into several labels; "
                            f"{len(label_cols)} label columns were given. Give one.")
    names = sorted({t for value in y for t in split_labels(value, delimiter)})
    if len(names) < 2:
        raise DensekitError(
            f"Splitting column '{label_cols[0]}' of {path} at {delimiter!r} gives "
            f"{len(names)} distinct label(s) ({', '.join(names) or 'none'}). Check "
            "data.label_delimiter: multilabel data needs at least two labels.")
    return label_matrix(y, delimiter, names), names


def split_labels(value, delimiter: str) -> list[str]:
    return [] if pd.isna(value) else [t.strip() for t in str(value).split(delimiter) if t.strip()]


def label_matrix(y: np.ndarray, delimiter: str, names: list[str]) -> np.ndarray:
    """(rows, labels) 0/1 floats from delimited label lists; a label not in `names` is refused."""
    matrix = np.zeros((len(y), len(names)), dtype=np.float32)
    position = {name: i for i, name in enumerate(names)}
    for row, value in enumerate(y):
        for label in split_labels(value, delimiter):
            if label not in position:
                raise DensekitError(f"Label '{label}' (row {row + 1}) is not one of the training "
                                    f"labels: {', '.join(names)}.")
            matrix[row, position[label]] = 1.0
    return matrix
