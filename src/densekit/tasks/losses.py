"""Loss functions on raw network outputs (logits), one builder per output kind.

Users may pick a "wrong" loss on purpose (MSE on one-hot targets, as one tutorial does): the
softmax or sigmoid probabilities are then compared with the targets, as in Keras.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from densekit.tasks.base import LossFn

PLAIN = {"mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss,
         "binary_cross_entropy": F.binary_cross_entropy}


def on_values(name: str) -> LossFn:
    return lambda out, y: PLAIN[name](out, y)


def softmax_loss(name: str, n_classes: int, smoothing: float,
                 weight: Optional[torch.Tensor]) -> LossFn:
    if name == "cross_entropy":
        # Accepts class indices (int64) or one-hot/probability rows (float).
        return lambda out, y: F.cross_entropy(out, y, weight=weight, label_smoothing=smoothing)
    plain = PLAIN[name]

    def on_probabilities(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        target = F.one_hot(y, n_classes).to(out.dtype) if y.dtype == torch.int64 else y
        return plain(torch.softmax(out, dim=1), target)

    return on_probabilities


def one_sigmoid_loss(name: str, weight: Optional[torch.Tensor]) -> LossFn:
    """Binary: one output column, targets (batch,) of 0/1."""
    if name == "binary_cross_entropy":
        def bce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # out (batch, 1), y (batch,)
            w = None if weight is None else weight[y.long()]
            return F.binary_cross_entropy_with_logits(out[:, 0], y, weight=w)
        return bce
    plain = PLAIN[name]
    return lambda out, y: plain(torch.sigmoid(out[:, 0]), y)


def sigmoid_per_output_loss(name: str) -> LossFn:
    """Multi-label: one logistic regression per output column."""
    if name == "binary_cross_entropy":
        return lambda out, y: F.binary_cross_entropy_with_logits(out, y)
    return lambda out, y: PLAIN[name](torch.sigmoid(out), y)
