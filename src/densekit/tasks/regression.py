"""Regression: one linear output per target, optionally fitted on standardised targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import pandas as pd
import torch

from densekit.tasks import losses
from densekit.tasks.base import LossFn, Task
from densekit.tasks.metrics import regression_metrics


@dataclass
class Regression(Task):
    target_mean: Optional[list] = None   # standardisation fitted on the training targets
    target_std: Optional[list] = None

    name = "regression"
    main_metric = "mae"
    headline_metrics = ("r2",)  # the MAE alone does not say whether it beats the mean
    default_loss = "mse"
    losses = frozenset({"mse", "mae", "huber"})
    is_classifier = False

    def encode(self, y: np.ndarray, where: str) -> np.ndarray:
        z = y.reshape(len(y), -1).astype(np.float32)
        if self.target_mean is not None:
            z = (z - np.float32(self.target_mean)) / np.float32(self.target_std)
        return z

    def to_label_units(self, z: np.ndarray) -> np.ndarray:
        if self.target_mean is not None:
            return z * np.float32(self.target_std) + np.float32(self.target_mean)
        return z

    def probabilities(self, out: torch.Tensor) -> torch.Tensor:
        """Values in label units (standardisation undone)."""
        if self.target_mean is None:
            return out
        return out * out.new_tensor(self.target_std) + out.new_tensor(self.target_mean)

    def decode(self, scores: np.ndarray) -> np.ndarray:
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def prediction_frame(self, scores: np.ndarray) -> pd.DataFrame:
        one = scores.shape[1] == 1
        columns = ["prediction"] if one else [f"prediction_{i}" for i in range(scores.shape[1])]
        return pd.DataFrame(scores, columns=columns)

    def make_loss(self, label_smoothing: float = 0.0,
                  class_weight: Optional[torch.Tensor] = None) -> LossFn:
        return losses.on_values(self.loss)

    def quick_metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        from sklearn import metrics as skm
        return {"mae": float(skm.mean_absolute_error(y, scores))}

    def full_metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
        return regression_metrics(y, scores)
