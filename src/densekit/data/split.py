"""Hold-out splits (seeded and stratified, or the last rows in file order) and K folds."""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

import numpy as np

from densekit.data.dataset import Dataset, Part, is_raw_frame
from densekit.data.labels import is_label_lists
from densekit.errors import DensekitError


def split_dataset(dataset: Dataset, test_split: float, validation_split: float,
                  folds: Optional[int], fold: int, holdout_last: bool, stratify: bool,
                  seed: int) -> Dataset:
    """A new Dataset whose test and validation parts are held out of the training rows where
    the source has none: the test rows first, then the validation rows (or fold `fold` of
    `folds`), then the rest train. Row numbers are chosen first and each part is copied once,
    so a large memory-mapped set is not copied twice. The given dataset is left as it was."""
    source = dataset.train
    kept, held = np.arange(len(source)), {}
    if dataset.test is None and test_split > 0:
        kept, held["test"] = holdout_rows(kept, source.y, test_split, stratify, seed, holdout_last, "test")
    if folds:
        if dataset.validation is not None:
            raise DensekitError("Cross-validation takes its validation folds from the training data; "
                                "remove data.validation (the separate validation file).")
        kept, held["validation"] = fold_rows(kept, source.y, folds, fold, stratify, seed)
    elif dataset.validation is None and validation_split > 0:
        kept, held["validation"] = holdout_rows(kept, source.y, validation_split, stratify, seed,
                                                holdout_last, "validation")
    parts = {role: fresh(part) for role, part in dataset.parts().items()}
    if held:
        parts.update({role: take(source, rows) for role, rows in held.items()})
        parts["train"] = take(source, kept)
    return dataclasses.replace(dataset, **parts)


def fresh(part: Part) -> Part:
    """A new Part over the same arrays: the caller may reassign its fields without touching ours."""
    return dataclasses.replace(part)


def holdout_rows(rows: np.ndarray, y, fraction: float, stratify: bool, seed: int, last: bool = False,
                 role: Optional[str] = None):
    """(kept, held) subsets of `rows`, sorted; stratified by y[rows] when stratify is set, or
    the last rows in file order when `last` (time-ordered data; the moons tutorial's test set).
    Working on row numbers lets several hold-outs be chosen before any data is copied."""
    held = math.ceil(fraction * len(rows))  # as train_test_split rounds a fraction
    if held >= len(rows):
        raise too_few_rows(len(rows), fraction, role)
    if last:
        return rows[:-held], rows[-held:]
    from sklearn.model_selection import train_test_split  # 1 s to import: only when splitting
    labels = y[rows] if stratify and y is not None and can_stratify(y[rows], fraction) else None
    kept, held = train_test_split(rows, test_size=fraction, random_state=seed, stratify=labels)
    # Sorted indices keep the file's row order within each side: easier to read and debug.
    return np.sort(kept), np.sort(held)


def too_few_rows(rows: int, fraction: float, role: Optional[str]) -> DensekitError:
    part = f"a {role} part" if role else "a test or validation part"
    files = {"test": "--test-data", "validation": "--validation-data"}.get(role, "--test-data, --validation-data")
    flags = {"test": "--test-split 0", "validation": "--validation-split 0"}.get(
        role, "--test-split 0 and --validation-split 0")
    return DensekitError(
        f"The data has too few rows to hold out {part}: {fraction:g} of the {rows} training "
        f"row(s) leaves none to train on. Give more rows, give the held-out rows as a separate file ({files}), or "
        f"hold out nothing with {flags}.")


def can_stratify(y: np.ndarray, fraction: float) -> bool:
    if y is None or y.ndim != 1 or is_label_lists(y):  # several labels per row: no strata
        return False
    _, counts = np.unique(y, return_counts=True)
    held = int(np.ceil(fraction * len(y)))
    return counts.min() >= 2 and held >= len(counts) and len(y) - held >= len(counts)


def take(part: Part, rows: np.ndarray) -> Part:
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows):
        rows = slice(int(rows[0]), int(rows[-1]) + 1)  # sorted and consecutive: a view, no copy
    x = part.x.iloc[rows] if is_raw_frame(part.x) else part.x[rows]  # a mixed table stays a frame
    return Part(x, None if part.y is None else part.y[rows])


def fold_rows(rows: np.ndarray, y, folds: int, fold: int, stratify: bool, seed: int):
    """(training rows, validation rows) of fold `fold` of `folds`: subsets of `rows`, sorted;
    stratified by class when every class has at least `folds` rows."""
    if folds > len(rows):
        raise DensekitError(f"K-fold needs 2 to {len(rows)} folds for {len(rows)} rows; received {folds}.")
    if fold >= folds:
        raise DensekitError(f"data.fold counts from 0 and must be below data.folds ({folds}); received {fold}.")
    from sklearn.model_selection import KFold, StratifiedKFold
    labels = y[rows] if y is not None else None
    if stratify and labels is not None and labels.ndim == 1 and np.unique(labels, return_counts=True)[1].min() >= folds:
        splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    else:
        splitter, labels = KFold(folds, shuffle=True, random_state=seed), None
    train, validation = list(splitter.split(np.zeros(len(rows)), labels))[fold]
    return rows[train], rows[validation]
