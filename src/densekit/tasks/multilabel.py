"""Several labels per row: one sigmoid output per label, 0/1 targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import pandas as pd
import torch
from sklearn import metrics as skm

from densekit.tasks import losses
from densekit.tasks.base import LossFn, Task
from densekit.tasks.metrics import multilabel_metrics


@dataclass
class Multilabel(Task):
    name = "multilabel"
    main_metric = "subset_accuracy"
    default_loss = "binary_cross_entropy"
    losses = frozenset({"binary_cross_entropy", "mse", "mae", "huber"})

    def probabilities(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out)

    def decode(self, scores: np.ndarray) -> np.ndarray:
        return (scores >= 0.5).astype(np.int64)

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
        return {"subset_accuracy": float(skm.accuracy_score(y, scores >= 0.5))}

    def full_metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
        return multilabel_metrics(y.astype(int), (scores >= 0.5).astype(int), self.class_names)

    def class_counts(self, y: np.ndarray) -> np.ndarray:
        return y.sum(axis=0)
