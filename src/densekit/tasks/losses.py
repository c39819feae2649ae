"""Task losses on raw network outputs (logits)."""

from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F

from densekit.tasks.kinds import Targets

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
PLAIN = {"mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss,
         "binary_cross_entropy": F.binary_cross_entropy}


def make_loss(targets: Targets, label_smoothing: float = 0.0,
              class_weight: Optional[torch.Tensor] = None) -> LossFn:
    """loss(logits, targets) -> mean loss over the batch.

    Users may pick a "wrong" loss on purpose (MSE on one-hot targets, as one tutorial does):
    the softmax or sigmoid probabilities are then compared with the targets, as in Keras.
    """
    task, name = targets.task, targets.loss
    if task == "regression":
        return lambda out, y: PLAIN[name](out, y)
    if task == "multiclass":
        return multiclass_loss(name, targets.n_outputs, label_smoothing, class_weight)
    if task == "binary":
        return binary_loss(name, class_weight)
    if name == "binary_cross_entropy":  # multilabel: one logistic regression per label
        return lambda out, y: F.binary_cross_entropy_with_logits(out, y)
    return lambda out, y: PLAIN[name](torch.sigmoid(out), y)


def multiclass_loss(name: str, n_classes: int, smoothing: float,
                    weight: Optional[torch.Tensor]) -> LossFn:
    if name == "cross_entropy":
        # Accepts class indices (int64) or one-hot/probability rows (float).
        return lambda out, y: F.cross_entropy(out, y, weight=weight, label_smoothing=smoothing)
    plain = PLAIN[name]

    def on_probabilities(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        target = F.one_hot(y, n_classes).to(out.dtype) if y.dtype == torch.int64 else y
        return plain(torch.softmax(out, dim=1), target)

    return on_probabilities


def binary_loss(name: str, weight: Optional[torch.Tensor]) -> LossFn:
    if name == "binary_cross_entropy":
        def bce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # out (batch, 1), y (batch,)
            w = None if weight is None else weight[y.long()]
            return F.binary_cross_entropy_with_logits(out[:, 0], y, weight=w)
        return bce
    plain = PLAIN[name]
    return lambda out, y: plain(torch.sigmoid(out[:, 0]), y)


def probabilities(targets: Targets, out: torch.Tensor) -> torch.Tensor:
    """Network outputs -> probabilities (classification) or targets in label units."""
    if targets.task == "multiclass":
        return torch.softmax(out, dim=1)
    if targets.task in ("binary", "multilabel"):
        return torch.sigmoid(out)
    if targets.target_mean is not None:
        mean = out.new_tensor(targets.target_mean)
        std = out.new_tensor(targets.target_std)
        return out * std + mean
    return out
