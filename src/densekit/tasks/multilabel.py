"""Several labels per row: one sigmoid output per label, 0/1 targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import pandas as pd
import torch

from densekit.tasks import losses
from densekit.tasks.base import LossFn, Task
from densekit.tasks.metrics import multilabel_metrics


# Decision thresholds tried after training; 0.5 among them.
THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.05), 2)


@dataclass
class Multilabel(Task):
    name = "multilabel"
    main_metric = "subset_accuracy"
    default_loss = "binary_cross_entropy"
    losses = frozenset({"binary_cross_entropy", "mse", "mae", "huber"})
    # A label is predicted when its probability reaches this; chosen after training for the
    # best micro-F1 on the validation split (models saved before that have 0.5).
    threshold: float = 0.5

    def probabilities(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out)

    def decode(self, scores: np.ndarray) -> np.ndarray:
        return (scores >= self.threshold).astype(np.int64)

    def calibrate(self, y: np.ndarray, scores: np.ndarray) -> Optional[str]:
        """Rare labels rarely reach 0.5: the threshold with the best micro-F1 on the
        validation rows is kept (its validation figures are then a little optimistic; the
        test split's are not)."""
        from sklearn import metrics as skm
        truth = y.astype(int)
        f1 = [skm.f1_score(truth, (scores >= t).astype(int), average="micro", zero_division=0)
              for t in THRESHOLDS]
        at_half = f1[int(np.flatnonzero(THRESHOLDS == 0.5)[0])]
        self.threshold = float(THRESHOLDS[int(np.argmax(f1))])
        return (f"decision threshold {self.threshold:.2f}: the best micro-F1 on the validation "
                f"split ({max(f1):.3f}, against {at_half:.3f} at 0.5)")

    def prediction_frame(self, scores: np.ndarray) -> pd.DataFrame:
        table = pd.DataFrame(self.decode(scores), columns=self.class_names)
        for name, column in zip(self.class_names, scores.T):
            table[f"prob_{name}"] = column
        return table

    def yes_no_outcomes(self, y: np.ndarray, scores: np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray]]:
        return [(str(name), y[:, j].astype(np.int64), scores[:, j])
                for j, name in enumerate(self.class_names)]

    def make_loss(self, label_smoothing: float = 0.0,
                  class_weight: Optional[torch.Tensor] = None) -> LossFn:
        return losses.sigmoid_per_output_loss(self.loss)

    def fast_output(self, label_smoothing: float, class_weight: Optional[torch.Tensor]) -> Optional[str]:
        plain = class_weight is None and self.loss == "binary_cross_entropy"
        return "sigmoid" if plain else None

    def quick_metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        from sklearn import metrics as skm
        return {"subset_accuracy": float(skm.accuracy_score(y, scores >= self.threshold))}

    def full_metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
        return multilabel_metrics(y.astype(int), self.decode(scores), self.class_names)

    def class_counts(self, y: np.ndarray) -> np.ndarray:
        return y.sum(axis=0)
