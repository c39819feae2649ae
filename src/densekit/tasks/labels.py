"""Label values: class look-up, and how values are shown in messages."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from densekit.errors import DensekitError
from densekit.errors import preview as errors_preview


def sorted_classes(y: np.ndarray) -> list:
    return [as_python(v) for v in np.unique(y)]


def class_indices(y: np.ndarray, classes: list, where: str) -> np.ndarray:
    known = np.asarray(classes)
    if y.dtype.kind in "biuf" and known.dtype.kind in "biuf":
        # Vectorised look-up: classes are sorted, so searchsorted finds each label's slot.
        slots = np.clip(np.searchsorted(known, y), 0, len(known) - 1)
        found = known[slots] == y
        if found.all():
            return slots.astype(np.int64)
        refuse_unknown(sorted({as_python(v) for v in y[~found]}, key=str), classes, where)
    lookup = {c: i for i, c in enumerate(classes)}
    values = [as_python(v) for v in y]
    refuse_unknown(sorted({v for v in values if v not in lookup}, key=str), classes, where)
    return np.fromiter((lookup[v] for v in values), dtype=np.int64, count=len(values))


class UnknownLabels(DensekitError):
    """Labels outside the classes fitted on training: the caller may know why (an inferred task)."""


def refuse_unknown(unknown: list, classes: list, where: str) -> None:
    if unknown:
        raise UnknownLabels(
            f"The {where} labels hold value(s) never seen in training: {preview(unknown)}. "
            f"The model knows {preview(classes)}. Remove those rows or add them to training.")


def as_python(value: Any) -> Any:
    """numpy scalar -> plain Python (JSON-serialisable, hashable with equal ints and floats)."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def display(value: Any, names: Optional[dict]) -> str:
    if names and value in names:
        return str(names[value])
    return str(value)


def preview(values: list) -> str:
    """Labels as Python writes them (a label "1" and a label 1 differ)."""
    return errors_preview(values, show=repr)
