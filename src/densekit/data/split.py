"""Seeded, stratified hold-out splits."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from densekit.data.dataset import Part
from densekit.errors import DensekitError


def split_off(part: Part, fraction: float, stratify: bool, seed: int) -> tuple[Part, Part]:
    """Hold out `fraction` of the rows; classes keep their proportions when stratify is set."""
    kept, held = holdout_rows(np.arange(len(part)), part.y, fraction, stratify, seed)
    return take(part, kept), take(part, held)


def holdout_rows(rows: np.ndarray, y, fraction: float, stratify: bool, seed: int):
    """(kept, held) subsets of `rows`, sorted; stratified by y[rows] when stratify is set.
    Working on row numbers lets several hold-outs be chosen before any data is copied."""
    labels = y[rows] if stratify and y is not None and can_stratify(y[rows], fraction) else None
    kept, held = train_test_split(rows, test_size=fraction, random_state=seed, stratify=labels)
    # Sorted indices keep the file's row order within each side: easier to read and debug.
    return np.sort(kept), np.sort(held)


def can_stratify(y: np.ndarray, fraction: float) -> bool:
    if y is None or y.ndim != 1:
        return False
    _, counts = np.unique(y, return_counts=True)
    held = int(np.ceil(fraction * len(y)))
    return counts.min() >= 2 and held >= len(counts) and len(y) - held >= len(counts)


def take(part: Part, rows: np.ndarray) -> Part:
    x = part.x.iloc[rows] if hasattr(part.x, "iloc") else part.x[rows]  # a mixed table stays a frame
    return Part(x, None if part.y is None else part.y[rows])


def kfold(part: Part, folds: int, stratify: bool, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(training rows, validation rows) for each of `folds` folds; stratified for classes."""
    if folds < 2 or folds > len(part):
        raise DensekitError(f"K-fold needs 2 to {len(part)} folds for {len(part)} rows; received {folds}.")
    if stratify and part.y is not None and part.y.ndim == 1 and min(np.unique(part.y, return_counts=True)[1]) >= folds:
        splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(part)), part.y))
    return list(KFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(part))))
