"""Hold-out splits (seeded and stratified, or the last rows in file order) and K folds."""

from __future__ import annotations

import math

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from densekit.data.dataset import Part
from densekit.errors import DensekitError


def holdout_rows(rows: np.ndarray, y, fraction: float, stratify: bool, seed: int, last: bool = False):
    """(kept, held) subsets of `rows`, sorted; stratified by y[rows] when stratify is set, or
    the last rows in file order when `last` (time-ordered data; the moons tutorial's test set).
    Working on row numbers lets several hold-outs be chosen before any data is copied."""
    if last:
        held = math.ceil(fraction * len(rows))  # as train_test_split rounds a fraction
        return rows[:-held], rows[-held:]
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
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows):
        rows = slice(int(rows[0]), int(rows[-1]) + 1)  # sorted and consecutive: a view, no copy
    x = part.x.iloc[rows] if hasattr(part.x, "iloc") else part.x[rows]  # a mixed table stays a frame
    return Part(x, None if part.y is None else part.y[rows])


def fold_rows(rows: np.ndarray, y, folds: int, fold: int, stratify: bool, seed: int):
    """(training rows, validation rows) of fold `fold` of `folds`: subsets of `rows`, sorted;
    stratified by class when every class has at least `folds` rows."""
    if folds > len(rows):
        raise DensekitError(f"K-fold needs 2 to {len(rows)} folds for {len(rows)} rows; received {folds}.")
    if fold >= folds:
        raise DensekitError(f"data.fold counts from 0 and must be below data.folds ({folds}); received {fold}.")
    labels = y[rows] if y is not None else None
    if stratify and labels is not None and labels.ndim == 1 and np.unique(labels, return_counts=True)[1].min() >= folds:
        splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    else:
        splitter, labels = KFold(folds, shuffle=True, random_state=seed), None
    train, validation = list(splitter.split(np.zeros(len(rows)), labels))[fold]
    return rows[train], rows[validation]
