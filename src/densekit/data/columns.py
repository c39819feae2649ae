"""Which columns of a table hold the labels: named, counted from 0, or guessed."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import numpy as np
import pandas as pd

from densekit.errors import DensekitError
from densekit.errors import preview as errors_preview

Label = Optional[Union[str, int, list]]  # one column (name or index), or several (multilabel)
LABEL_GUESSES = ("label", "target", "class", "y")


def find_labels(frame: pd.DataFrame, label: Label, path: Path) -> list[str]:
    """The label column(s) of a training file; refused with the columns listed if absent."""
    columns = list(frame.columns)
    if label is not None:
        names = [resolve_label(columns, one) for one in as_list(label)]
        missing = [str(one) for one, name in zip(as_list(label), names) if name is None]
        if missing:
            what = (f"label column '{missing[0]}' is" if len(missing) == 1
                    else f"label columns {', '.join(repr(m) for m in missing)} are")
            raise DensekitError(
                f"The {what} not in {path}. Its "
                f"columns are: {preview(columns)}. Name the label column with --label (a name, "
                "or an index counted from 0; several, comma-separated, for multilabel data).")
        return names
    guess = next((c for c in columns if c.lower() in LABEL_GUESSES), None)
    if guess is None:
        raise DensekitError(
            f"Which column of {path} holds the labels? None is called "
            f"{', '.join(LABEL_GUESSES)}. Its columns are: {preview(columns)}. Name it with "
            "--label (a name, or an index counted from 0).")
    return [guess]


def present_labels(frame: pd.DataFrame, label: Label) -> list[str]:
    """The label columns found in a file to predict from or evaluate on (maybe none).
    A model trained on a named set or on arrays has no label column name: a column called as
    training would have guessed (label, target, class, y) is its label."""
    if label is None:
        guess = next((c for c in frame.columns if str(c).lower() in LABEL_GUESSES), None)
        return [guess] if guess is not None else []
    found = [resolve_label(list(frame.columns), one) for one in as_list(label)]
    return [c for c in found if c is not None] if all(found) else []


def resolve_label(columns: list[str], label: Union[str, int]) -> Optional[str]:
    if str(label) in columns:
        return str(label)
    index = int(label) if str(label).lstrip("-").isdigit() else None
    if index is not None and -len(columns) <= index < len(columns):
        return columns[index]
    return None


def as_list(label: Label) -> list:
    return list(label) if isinstance(label, (list, tuple)) else [label]


def labels_of(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """(rows,) for one label column, (rows, labels) for several (multilabel)."""
    return frame[columns[0]].to_numpy() if len(columns) == 1 else frame[columns].to_numpy()


def preview(columns: list[str]) -> str:
    return errors_preview(columns, count=20)
