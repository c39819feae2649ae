"""Several true classes per row among very many (a noun and all its hypernyms, a text and
its tags), trained with the sampled (or adaptive) softmax.

The labels are encoded as class ids padded with −1 (rows, most labels in a row), the form
the sampled softmax's loss takes (nn/sampled_output.py): each true class of a row shares
the target 1/num_true, as in TensorFlow. A rows × classes indicator matrix is never built.

Compact scores as for one class per row (tasks/many_classes.py), except that the last column
is the geometric mean of the true classes' probabilities, exp(mean log p): −log of it is the
row's cross-entropy against the 1/num_true target, so `log_loss` is that cross-entropy.
Metrics: precision@1 and @5 (the share of the top k that are true), recall@5, log loss, and
per-class figures for the most frequent classes, a class counting as predicted when it is
among the row's top 5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from densekit.data.labels import is_label_lists
from densekit.errors import DensekitError
from densekit.tasks.labels import class_indices
from densekit.tasks.many_classes import PER_CLASS, ManyClasses, many_classes_task


@dataclass
class ManyLabels(ManyClasses):
    name = "many_labels"
    main_metric = "precision_at_1"
    headline_metrics = ("precision_at_5",)

    # ------------------------------------------------------------ labels

    def encode(self, y: np.ndarray, where: str) -> np.ndarray:
        """(rows, most labels in a row) int64 class ids, −1 in the unused slots."""
        if is_label_lists(y):
            lengths = np.fromiter((len(row) for row in y), dtype=np.int64, count=len(y))
            values = np.array([v for row in y for v in row])
            ids = class_indices(values, self.classes, where) if len(values) else values.astype(np.int64)
        elif np.ndim(y) == 2:
            lengths, ids = self.indicator_ids(y, where)
        else:  # one label per row: a list of one
            lengths, ids = np.ones(len(y), np.int64), class_indices(y.reshape(len(y)), self.classes, where)
        refuse_rows_without_labels(lengths, where)
        return padded(lengths, ids)

    def indicator_ids(self, y: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
        if y.shape[1] != self.n_outputs or not np.isin(y, (0, 1)).all():
            raise DensekitError(
                f"The {where} labels have shape {y.shape}; the model knows {self.n_outputs:,} "
                f"classes, so several labels per row are a 0/1 matrix of {self.n_outputs:,} "
                "columns, or one column of label lists split with data.label_delimiter.")
        rows, columns = np.nonzero(y)
        position = np.empty(self.n_outputs, dtype=np.int64)
        position[np.asarray(self.classes)] = np.arange(self.n_outputs)  # column -> class id
        return np.bincount(rows, minlength=len(y)), position[columns]

    def history_keys(self) -> list[str]:
        return ["train_loss", "val_loss", "val_precision_at_1", "val_precision_at_5"]

    # ------------------------------------------------------------ metrics

    def hits(self, y: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """(rows, k) whether each of the top k classes is a true class of its row."""
        ids, _, _ = self.split_scores(scores)
        truth = np.asarray(y).reshape(len(y), -1)
        return (ids[:, :, None] == truth[:, None, :]).any(2)  # −1 never equals a class id

    def quick_metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        hits = self.hits(y, scores)
        return {"precision_at_1": float(hits[:, 0].mean()),
                f"precision_at_{hits.shape[1]}": float(hits.mean(1).mean())}

    def full_metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
        truth = np.asarray(y).reshape(len(y), -1).astype(np.int64)
        hits = self.hits(truth, scores)
        ids, _, p_true = self.split_scores(scores)
        return {**self.quick_metrics(truth, scores),
                f"recall_at_{hits.shape[1]}": float((hits.sum(1) / (truth >= 0).sum(1)).mean()),
                "log_loss": float(-np.mean(np.log(np.clip(p_true, 1e-7, 1.0)))),
                "labels_per_row": float((truth >= 0).sum(1).mean()),
                "classes_seen": int(len(np.unique(truth[truth >= 0]))),
                "per_class": self.frequent_label_figures(truth, ids)}

    def frequent_label_figures(self, truth: np.ndarray, top: np.ndarray) -> dict[str, dict]:
        """Precision, recall and F1 of "the class is among the row's top k" for the most
        frequent classes (no rows × classes matrix: only these classes are looked at)."""
        counts = np.bincount(truth[truth >= 0], minlength=self.n_outputs)
        figures = {}
        for c in np.argsort(-counts, kind="stable")[:PER_CLASS]:
            if counts[c] == 0:
                break
            true, predicted = (truth == c).any(1), (top == c).any(1)
            both = int((true & predicted).sum())
            p, r = both / max(int(predicted.sum()), 1), both / int(counts[c])
            figures[str(self.class_names[c])] = {"precision": p, "recall": r, "support": int(counts[c]),
                                                 "f1": 2 * p * r / (p + r) if p + r else 0.0}
        return figures


def padded(lengths: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Row-major ids with `lengths` per row -> (rows, max length), −1 after each row's ids."""
    out = np.full((len(lengths), max(int(lengths.max(initial=0)), 1)), -1, dtype=np.int64)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    slots = np.arange(len(ids)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out[rows, slots] = ids
    return out


def refuse_rows_without_labels(lengths: np.ndarray, where: str) -> None:
    empty = np.flatnonzero(lengths == 0)
    if len(empty):
        raise DensekitError(
            f"{len(empty):,} row(s) of the {where} data have no label (the first: row "
            f"{empty[0] + 1}); a softmax over classes needs at least one true class per row. "
            "Drop those rows, or give them a label.")


def many_labels_task(y: np.ndarray, output: str, class_names: Optional[dict],
                     label_names: Optional[list[str]]) -> ManyLabels:
    """Classes fitted on the training label lists (numbered as for one label per row: whole
    numbers keep their ids, others by falling frequency, then those only held-out rows have),
    or the indicator matrix's columns (`classes` holds each class's column)."""
    if is_label_lists(y):
        values = np.array([v for row in y for v in row])
        single = many_classes_task(values, output, class_names)
        # Labels the file names that no training row has (a rare tag held out) come last.
        known = set(single.classes)
        unseen = [name for name in (label_names or []) if name not in known]
        return ManyLabels(output, single.n_outputs + len(unseen), single.classes + unseen,
                          single.class_names + [str(name) for name in unseen])
    # Columns numbered by falling training frequency, as log_uniform sampling expects.
    order = np.argsort(-np.asarray(y).sum(0), kind="stable")
    names = label_names or [f"label_{i}" for i in range(y.shape[1])]
    return ManyLabels(output, y.shape[1], [int(c) for c in order], [str(names[c]) for c in order])
