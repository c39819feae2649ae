"""Very many classes (thousands to a million): the sampled or the adaptive softmax.

One class per row, as in multiclass, but nothing may hold a rows × classes matrix: the
network's evaluation gives each row's top classes and the probability of its true class
(nn/class_chunks.py), and the task works from those "compact scores":

    scores (rows, 2k + 1) = [ids of the k best classes | their probabilities | p(true class)]

(p(true class) is NaN where the labels are not known, as in `predict`). metrics.json gets
top-1 and top-5 accuracy and the log loss, per-class figures for the most frequent classes
only, and the most confused pairs instead of a classes × classes confusion matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Optional

import numpy as np
import pandas as pd
import torch

from densekit.tasks.base import LossFn, Task
from densekit.tasks.labels import as_python, class_indices

TOP_K = 5          # classes kept per row in the compact scores
PER_CLASS = 20     # the most frequent classes get per-class figures in metrics.json
CONFUSED = 20      # most confused (true, predicted) pairs kept
OUTPUT_LOSSES = {"sampled_softmax", "adaptive_softmax"}  # model.output values this task serves


@dataclass
class ManyClasses(Task):
    name = "many_classes"
    main_metric = "accuracy"
    headline_metrics = ("top5_accuracy",)
    default_loss = "sampled_softmax"
    losses = frozenset(OUTPUT_LOSSES)
    scores_in_chunks: ClassVar[bool] = True

    # ------------------------------------------------------------ labels

    def encode(self, y: np.ndarray, where: str) -> np.ndarray:
        return class_indices(y.reshape(len(y)), self.classes, where)

    def top_k(self) -> int:
        return min(TOP_K, self.n_outputs)

    def split_scores(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids (rows, k) int64, probabilities (rows, k), p(true class) (rows,))."""
        k = self.top_k()
        return scores[:, :k].astype(np.int64), scores[:, k:2 * k], scores[:, 2 * k]

    def probabilities(self, out: torch.Tensor) -> torch.Tensor:
        """Full probabilities from full logits (or the adaptive head's log-probabilities),
        for the few rows where that is affordable; evaluation uses compact scores instead."""
        return torch.softmax(out, dim=1)

    def decode(self, scores: np.ndarray) -> np.ndarray:
        ids, _, _ = self.split_scores(scores)
        return np.asarray(self.classes, dtype=object)[ids[:, 0]]

    def prediction_frame(self, scores: np.ndarray) -> pd.DataFrame:
        ids, proba, _ = self.split_scores(scores)
        names = np.asarray(self.class_names, dtype=object)
        table = pd.DataFrame({"prediction": self.decode(scores)})
        for rank in range(ids.shape[1]):
            table[f"top{rank + 1}"] = names[ids[:, rank]]
            table[f"prob{rank + 1}"] = proba[:, rank]
        return table

    # ------------------------------------------------------------ training

    def make_loss(self, label_smoothing: float = 0.0,
                  class_weight: Optional[torch.Tensor] = None) -> LossFn:
        """The full softmax's cross-entropy; training replaces it with the output layer's own
        (training/many_classes.py) and evaluation computes it in class chunks."""
        return lambda out, y: torch.nn.functional.cross_entropy(out, y)

    def history_keys(self) -> list[str]:
        return ["train_loss", "val_loss", "val_accuracy", "val_top5_accuracy"]

    # ------------------------------------------------------------ metrics

    def quick_metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        ids, _, _ = self.split_scores(scores)
        truth = np.asarray(y).reshape(-1)
        return {"accuracy": float(np.mean(ids[:, 0] == truth)),
                "top5_accuracy": float(np.mean((ids == truth[:, None]).any(1)))}

    def full_metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
        truth = np.asarray(y).reshape(-1).astype(np.int64)
        ids, _, p_true = self.split_scores(scores)
        pred = ids[:, 0]
        return {**self.quick_metrics(truth, scores),
                "log_loss": float(-np.mean(np.log(np.clip(p_true, 1e-7, 1.0)))),
                "classes_seen": int(len(np.unique(truth))),
                "per_class": self.frequent_class_figures(truth, pred),
                "most_confused": self.most_confused(truth, pred)}

    def frequent_class_figures(self, truth: np.ndarray, pred: np.ndarray) -> dict[str, dict]:
        from sklearn import metrics as skm
        counts = np.bincount(truth, minlength=self.n_outputs)
        frequent = np.argsort(-counts, kind="stable")[:PER_CLASS]
        frequent = frequent[counts[frequent] > 0]
        p, r, f, s = skm.precision_recall_fscore_support(truth, pred, labels=frequent, zero_division=0)
        return {str(self.class_names[c]): {"precision": float(a), "recall": float(b), "f1": float(g),
                                           "support": int(n)}
                for c, a, b, g, n in zip(frequent, p, r, f, s)}

    def most_confused(self, truth: np.ndarray, pred: np.ndarray) -> list[list]:
        """[true name, predicted name, count] for the most frequent mistakes."""
        wrong = truth != pred
        pairs, counts = np.unique(np.stack([truth[wrong], pred[wrong]], 1), axis=0, return_counts=True)
        order = np.argsort(-counts, kind="stable")[:CONFUSED]
        return [[str(self.class_names[a]), str(self.class_names[b]), int(n)]
                for (a, b), n in zip(pairs[order], counts[order])]


def many_classes_task(y: np.ndarray, output: str, class_names: Optional[dict]) -> ManyClasses:
    """Classes fitted on the training labels. Whole numbers from 0 name classes 0…max, so a
    held-out label between them is known even if no training row has it (a rare word), and
    the ids keep their order (log_uniform sampling expects the most frequent first). Other
    labels are numbered by falling training frequency, for the same reason."""
    y = y.reshape(len(y))
    if y.dtype.kind in "biuf":
        whole = bool(np.all(np.mod(y, 1) == 0)) and y.min() >= 0
        # Other numbers stay in ascending order: the numeric look-up (labels.class_indices)
        # finds them by bisection.
        classes = list(range(highest_id(y, class_names) + 1)) if whole else [as_python(v) for v in np.unique(y)]
    else:
        values, counts = np.unique(y, return_counts=True)
        classes = [as_python(v) for v in values[np.argsort(-counts, kind="stable")]]
    names = [str(class_names[c]) if class_names and c in class_names else str(c) for c in classes]
    return ManyClasses(output, len(classes), classes, names)


def highest_id(y: np.ndarray, class_names: Optional[dict]) -> int:
    """The last class id: the labels' highest, or the dataset's when it names more classes
    (a named set's rarest class may fall in the held-out rows only)."""
    named = [k for k in (class_names or {}) if isinstance(k, (int, np.integer))]
    return int(max(int(y.max()), max(named, default=0)))
