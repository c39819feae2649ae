"""Several labels per row given as one column of delimited label lists ("drama|comedy").

Read, they are kept as label lists: a 1-D object array holding one tuple of labels per row.
A few hundred labels become a 0/1 matrix (the multilabel task); thousands, under a sampled or
adaptive softmax, stay lists (tasks/many_classes.py numbers them), since rows × labels
would not fit in memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from densekit.errors import DensekitError


def split_label_lists(y: np.ndarray, delimiter: str, label_cols: list[str], path: Path):
    """One column of delimited label lists ("drama|comedy") -> label lists and sorted names."""
    if len(label_cols) != 1:
        raise DensekitError("data.label_delimiter splits one label column into several labels; "
                            f"{len(label_cols)} label columns were given. Give one.")
    lists = as_label_lists(y, delimiter)
    names = sorted({t for row in lists for t in row})
    if len(names) < 2:
        raise DensekitError(
            f"Splitting column '{label_cols[0]}' of {path} at {delimiter!r} gives "
            f"{len(names)} distinct label(s) ({', '.join(names) or 'none'}). Check "
            "data.label_delimiter: multilabel data needs at least two labels.")
    return lists, names


def split_labels(value, delimiter: str) -> list[str]:
    return [] if pd.isna(value) else [t.strip() for t in str(value).split(delimiter) if t.strip()]


def as_label_lists(y: np.ndarray, delimiter: str) -> np.ndarray:
    """(rows,) object array of label tuples from delimited strings."""
    lists = np.empty(len(y), dtype=object)
    lists[:] = [tuple(split_labels(value, delimiter)) for value in y]
    return lists


def is_label_lists(y) -> bool:
    return isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype == object and len(y) > 0 \
        and isinstance(y[0], tuple)


def label_matrix(y: np.ndarray, delimiter: Optional[str], names: list[str]) -> np.ndarray:
    """(rows, labels) 0/1 floats from label lists (or delimited strings, split at
    `delimiter`); a label not in `names` is refused."""
    lists = y if is_label_lists(y) else as_label_lists(y, delimiter)
    matrix = np.zeros((len(lists), len(names)), dtype=np.float32)
    position = {name: i for i, name in enumerate(names)}
    for row, labels in enumerate(lists):
        for label in labels:
            if label not in position:
                raise DensekitError(f"Label '{label}' (row {row + 1}) is not one of the training "
                                    f"labels: {', '.join(names)}.")
            matrix[row, position[label]] = 1.0
    return matrix


def resolve_label_lists(parts: list, delimiter: Optional[str], names: Optional[list[str]],
                        keep_lists: bool) -> Optional[list[str]]:
    """Give every part's labels one form, in place: delimited strings (a separate test or
    validation file) are split; lists stay lists for very many classes (`keep_lists`), else
    become the 0/1 matrix over `names`. Returns the label names."""
    for part in parts:
        if delimiter and part.y is not None and np.ndim(part.y) == 1 and not is_label_lists(part.y):
            part.y = as_label_lists(part.y, delimiter)
    if keep_lists or not any(is_label_lists(part.y) for part in parts):
        return names
    names = names or sorted({t for part in parts for row in part.y for t in row})
    for part in parts:
        part.y = label_matrix(part.y, delimiter, names)
    return names
