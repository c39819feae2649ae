"""One class per row: binary (one sigmoid output) and multiclass (softmax over the classes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import pandas as pd
import torch

from densekit.errors import DensekitError
from densekit.tasks import losses
from densekit.tasks.base import LossFn, Task
from densekit.tasks.labels import class_indices
from densekit.tasks.metrics import classification_metrics


class SingleLabel(Task):
    """What binary and multiclass share: a class per row, read back as the most probable."""

    single_label = True
    main_metric = "accuracy"

    def true_classes(self, y: np.ndarray) -> np.ndarray:
        """Encoded targets -> class indices (n,)."""
        return np.asarray(y).reshape(-1)

    def predicted_classes(self, scores: np.ndarray) -> np.ndarray:
        return scores.argmax(axis=1)

    def class_probabilities(self, scores: np.ndarray) -> np.ndarray:
        """(n, classes) probabilities."""
        return scores

    def decode(self, scores: np.ndarray) -> np.ndarray:
        index = self.class_probabilities(scores).argmax(axis=1)
        return np.asarray(self.classes, dtype=object)[index]

    def prediction_frame(self, scores: np.ndarray) -> pd.DataFrame:
        table = pd.DataFrame({"prediction": self.decode(scores)})
        for name, column in zip(self.class_names, self.class_probabilities(scores).T):
            table[f"prob_{name}"] = column
        return table

    def quick_metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        truth, pred = self.true_classes(y), self.predicted_classes(scores)
        # Not sklearn's accuracy_score: its input checks cost a millisecond per evaluation.
        return {"accuracy": float(np.mean(truth == pred)) if len(truth) else 0.0}

    def full_metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
        return classification_metrics(self.true_classes(y), self.predicted_classes(scores),
                                       self.class_probabilities(scores), self.class_names)

    def class_counts(self, y: np.ndarray) -> np.ndarray:
        return np.bincount(self.true_classes(y).astype(np.int64), minlength=len(self.classes))

    def class_weights(self, spec: Any, y: np.ndarray) -> np.ndarray:
        """Per-class loss weights from train.class_weight: 'balanced' or {label: weight}."""
        from sklearn.utils.class_weight import compute_class_weight
        if spec == "balanced":
            n = len(self.classes)
            return compute_class_weight("balanced", classes=np.arange(n), y=self.true_classes(y))
        keys = {str(c): i for i, c in enumerate(self.classes)}
        keys.update({name: i for i, name in enumerate(self.class_names)})
        unknown = [k for k in spec if k not in keys]
        if unknown:
            raise DensekitError(f"train.class_weight names unknown class(es) {', '.join(unknown)}; "
                                f"the classes are {', '.join(map(str, self.classes))}.")
        weights = np.ones(len(self.classes))
        for key, weight in spec.items():
            weights[keys[key]] = float(weight)
        return weights


@dataclass
class Binary(SingleLabel):
    name = "binary"
    default_loss = "binary_cross_entropy"
    losses = frozenset({"binary_cross_entropy", "mse", "mae", "huber"})

    def encode(self, y: np.ndarray, where: str) -> np.ndarray:
        return class_indices(y.reshape(len(y)), self.classes, where).astype(np.float32)

    def true_classes(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y).astype(np.int64).reshape(-1)

    def predicted_classes(self, scores: np.ndarray) -> np.ndarray:
        return (scores[:, 0] >= 0.5).astype(np.int64)

    def class_probabilities(self, scores: np.ndarray) -> np.ndarray:
        """The single sigmoid as two columns."""
        return np.column_stack([1.0 - scores[:, 0], scores[:, 0]])

    def probabilities(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out)

    def yes_no_outcomes(self, y: np.ndarray, scores: np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray]]:
        return [(str(self.class_names[1]), self.true_classes(y), scores[:, 0])]

    def make_loss(self, label_smoothing: float = 0.0,
                  class_weight: Optional[torch.Tensor] = None) -> LossFn:
        return losses.one_sigmoid_loss(self.loss, class_weight)

    def fast_output(self, label_smoothing: float, class_weight: Optional[torch.Tensor]) -> Optional[str]:
        plain = class_weight is None and self.loss == "binary_cross_entropy"
        return "sigmoid" if plain else None

    def count_correct(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.eq(out[:, 0] >= 0, y >= 0.5).sum()


@dataclass
class Multiclass(SingleLabel):
    soft_labels: bool = False   # targets are one-hot or probability rows, not class indices

    name = "multiclass"
    default_loss = "cross_entropy"
    losses = frozenset({"cross_entropy", "binary_cross_entropy", "mse", "mae", "huber"})

    @property
    def single_label(self) -> bool:  # soft targets have no single true class to weigh or count
        return not self.soft_labels

    def encode(self, y: np.ndarray, where: str) -> np.ndarray:
        if self.soft_labels:
            return y.astype(np.float32)
        return class_indices(y.reshape(len(y)), self.classes, where)

    def true_classes(self, y: np.ndarray) -> np.ndarray:
        if self.soft_labels:
            return np.asarray(y).argmax(axis=1)
        # int64 even from float targets: one output of several keeps its indices among numbers
        return np.asarray(y).reshape(-1).astype(np.int64, copy=False)

    def probabilities(self, out: torch.Tensor) -> torch.Tensor:
        return torch.softmax(out, dim=1)

    def make_loss(self, label_smoothing: float = 0.0,
                  class_weight: Optional[torch.Tensor] = None) -> LossFn:
        return losses.softmax_loss(self.loss, self.n_outputs, label_smoothing, class_weight)

    def fast_output(self, label_smoothing: float, class_weight: Optional[torch.Tensor]) -> Optional[str]:
        plain = (class_weight is None and label_smoothing == 0.0 and not self.soft_labels
                 and self.loss == "cross_entropy")
        return "softmax" if plain else None

    def count_correct(self, out: torch.Tensor, y: torch.Tensor) -> Optional[torch.Tensor]:
        if self.soft_labels:
            return None
        return torch.eq(out.argmax(dim=1), y).sum()

    def class_weights(self, spec: Any, y: np.ndarray) -> np.ndarray:
        if self.soft_labels:
            return Task.class_weights(self, spec, y)
        return super().class_weights(spec, y)
