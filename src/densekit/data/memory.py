"""Data already in memory as a Dataset: NumPy arrays, pandas frames, SciPy sparse matrices, lists.

The same forms the file readers produce: numeric features become a float32 table; a frame with
text or categorical columns, or gaps, stays a frame, encoded after the split exactly as a CSV
with such columns is (tables.py); a frame of one free-text column is a text table (text.py);
a sparse matrix (e.g. multi-hot words) becomes a dense bag of words, used as it is, not
standardised, like the IMDB chapter's input (bytes when every value is 0 or 1).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from densekit.data.dataset import Dataset, Part
from densekit.data.tables import is_numeric
from densekit.data.text import looks_like_text
from densekit.errors import DensekitError


@dataclass
class Form:
    """How the training features were given, so validation and test rows are read alike."""
    kind: str            # "table" or "bag"
    names: list[str]
    as_frame: bool       # kept as a DataFrame of raw columns, encoded after the split


def dataset_from_memory(x: Any, y: Any, *, name: str = "in-memory",
                        feature_names: Optional[Sequence[str]] = None,
                        x_validation: Any = None, y_validation: Any = None,
                        x_test: Any = None, y_test: Any = None) -> Dataset:
    """A Dataset from features x (rows × features) and labels y: 1-D labels (numbers or
    strings), or a 2-D 0/1 indicator matrix (multilabel) or float targets (several outputs).
    Validation and test rows, when given, are read like the training rows."""
    features, form = training_features(x, feature_names)
    labels, label_names = as_labels(y, "y")
    train = checked_part(features, labels, "x", "y")
    extra = {role: other_part(form, xs, ys, role)
             for role, xs, ys in (("validation", x_validation, y_validation), ("test", x_test, y_test))}
    return Dataset(name, train, extra["validation"], extra["test"], kind=form.kind,
                   feature_names=form.names, label_names=label_names)


def training_features(x: Any, feature_names: Optional[Sequence[str]]) -> tuple[Any, Form]:
    if is_sparse(x):
        dense = sparse_to_dense(x)
        return dense, Form("bag", names_for(dense.shape[1], feature_names, None), False)
    if isinstance(x, pd.DataFrame):
        return frame_features(x, feature_names)
    array = two_dimensional(np.asarray(x), "x")
    if array.dtype.kind not in "biuf":  # strings among the columns: a mixed table
        return frame_features(pd.DataFrame(x), feature_names)
    names = names_for(array.shape[1], feature_names, None)
    if array.dtype.kind == "f" and np.isnan(array).any():  # gaps: filled per data.missing
        return pd.DataFrame(array, columns=names), Form("table", names, True)
    return array.astype(np.float32), Form("table", names, False)


def frame_features(frame: pd.DataFrame, feature_names: Optional[Sequence[str]]) -> tuple[Any, Form]:
    names = names_for(frame.shape[1], feature_names, [str(c) for c in frame.columns])
    frame = frame.set_axis(names, axis=1)
    numeric = all(is_numeric(frame[c]) for c in names)
    if numeric and not frame.isna().to_numpy().any():
        return frame.to_numpy(dtype=np.float32), Form("table", names, False)
    # One column of free text: a bag of words. Text beside other columns is one more column
    # of a mixed table (data/tables.py reads each column as its values say).
    only_text = len(names) == 1 and not is_numeric(frame[names[0]]) and looks_like_text(frame[names[0]])
    return frame, Form("bag" if only_text else "table", names, True)


def is_sparse(x: Any) -> bool:
    """A SciPy sparse matrix. A program that never imported scipy.sparse holds none, so a
    command reading a file does not pay SciPy's import (0.1 s) for this question."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(x)


def sparse_to_dense(x) -> np.ndarray:
    """Bytes when every stored value is 0 or 1 (multi-hot), else float32; cast while sparse."""
    import scipy.sparse
    matrix = scipy.sparse.csr_matrix(x)
    binary = bool(np.isin(matrix.data, (0, 1)).all())
    return matrix.astype(np.uint8 if binary else np.float32).toarray()


def names_for(width: int, given: Optional[Sequence[str]], found: Optional[list[str]]) -> list[str]:
    if given is None:
        return found if found is not None else [f"x{i}" for i in range(width)]
    if len(given) != width:
        raise DensekitError(f"feature_names has {len(given)} name(s) but x has {width} column(s); "
                            "give one name per column.")
    return [str(n) for n in given]


def two_dimensional(array: np.ndarray, what: str) -> np.ndarray:
    if array.ndim != 2:
        hint = (f"for a single feature use {what}.reshape(-1, 1)" if array.ndim == 1
                else f"flatten each row, e.g. {what}.reshape(len({what}), -1)")
        raise DensekitError(f"{what} must be 2-D (rows × features); it has shape {array.shape}: {hint}.")
    return array


def as_labels(y: Any, what: str) -> tuple[np.ndarray, Optional[list[str]]]:
    """(labels, names of the label columns when a frame or a dict gave several)."""
    if isinstance(y, dict):  # {output: labels}, as Keras's fit takes a model's named targets
        y = pd.DataFrame({str(k): np.asarray(v).tolist() for k, v in y.items()})
    names = [str(c) for c in y.columns] if isinstance(y, pd.DataFrame) and y.shape[1] > 1 else None
    labels = y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels.ravel()  # a column vector holds one label per row
    if labels.ndim not in (1, 2):
        raise DensekitError(
            f"{what} must hold one label per row (1-D), or one row of 0/1 labels or targets per "
            f"row (2-D: multilabel, several regression targets, or a DataFrame or dict of label "
            f"columns: several outputs); it has shape {labels.shape}. "
            f"Reshape it, e.g. {what}.reshape(len({what}), -1).")
    return labels, names


def checked_part(x: Any, y: np.ndarray, x_name: str, y_name: str) -> Part:
    if len(x) == 0:
        raise DensekitError(f"{x_name} has no rows; give at least one row per class to learn from.")
    if len(y) != len(x):
        raise DensekitError(f"{x_name} has {len(x)} rows but {y_name} has {len(y)} labels; give "
                            "one label (or row of labels) per row of features, in the same order.")
    return Part(x, y)


def other_part(form: Form, x: Any, y: Any, role: str) -> Optional[Part]:
    """Validation or test rows, in the training features' form and column order."""
    x_name, y_name = f"x_{role}", f"y_{role}"
    if x is None and y is None:
        return None
    if x is None or y is None:
        given, missing = (x_name, y_name) if y is None else (y_name, x_name)
        raise DensekitError(f"{given} is given without {missing}; give both or neither.")
    labels, _ = as_labels(y, y_name)
    return checked_part(like_training(x, form, x_name), labels, x_name, y_name)


def like_training(x: Any, form: Form, what: str) -> Any:
    if form.as_frame:
        if isinstance(x, pd.DataFrame):
            return x.set_axis([str(c) for c in x.columns], axis=1)  # the encoder reads by name
        frame = pd.DataFrame(x)
        return frame.set_axis(check_width(frame.shape[1], form, what), axis=1)
    if is_sparse(x):
        array = sparse_to_dense(x)
    elif isinstance(x, pd.DataFrame):
        frame = x.set_axis([str(c) for c in x.columns], axis=1)
        array = (frame[form.names] if set(form.names) <= set(frame.columns) else frame).to_numpy()
    else:
        array = np.asarray(x)
    check_width(two_dimensional(array, what).shape[1], form, what)
    return array if form.kind == "bag" and array.dtype == np.uint8 else array.astype(np.float32)


def check_width(width: int, form: Form, what: str) -> list[str]:
    if width != len(form.names):
        raise DensekitError(f"{what} has {width} column(s) but x has {len(form.names)}; give the "
                            "same features, in the same order.")
    return form.names
