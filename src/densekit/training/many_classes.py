"""Training and scoring with an output layer over very many classes.

Training: the output layer's own loss (the sampled softmax's, or the adaptive softmax's)
replaces the task's. Scoring: the network's body runs on blocks of rows, and the head gives
each row's top classes and true-class probability class chunk by class chunk
(nn/class_chunks.py), so no rows × classes matrix is built.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from densekit.config import Config
from densekit.data.preprocess import Preprocessor
from densekit.errors import DensekitError
from densekit.nn.class_chunks import TopClasses
from densekit.nn.heads import AdaptiveHead, SampledHead
from densekit.nn.model import DenseNet
from densekit.nn.packed import MeanOfMembers, each_member
from densekit.nn.sampled_output import SampledSoftmaxLoss
from densekit.nn.samplers import make_sampler
from densekit.tasks import LossFn, Task

ROWS = 4096  # rows whose hidden activations are computed at once


def training_loss(model: DenseNet, task_loss: LossFn, cfg: Config, train_y: torch.Tensor,
                  sparse: bool) -> LossFn:
    """The loss training minimises: the output layer's own where it has one."""
    head = model.head
    if isinstance(head, AdaptiveHead):
        return head.loss  # several true classes per row: nn/heads.py spreads the row over them
    if isinstance(head, MeanOfMembers):
        return each_member(task_loss, model)  # several packed networks: each on its own loss
    if not isinstance(head, SampledHead):
        return task_loss
    classes, m = head.out_features, cfg.model
    labels = train_y.cpu().numpy().reshape(-1)
    counts = np.bincount(labels[labels >= 0], minlength=classes)  # −1: an unused label slot
    sampler = make_sampler(m.sampler, classes, counts)
    return SampledSoftmaxLoss(head, sampler, m.num_sampled, cfg.train.seed,
                              m.remove_accidental_hits, m.subtract_log_q, sparse)


@torch.inference_mode()
def top_classes(model: DenseNet, prep: Preprocessor, x: torch.Tensor,
                y: Optional[torch.Tensor], k: int) -> TopClasses:
    was_training = model.training
    model.eval()
    parts = []
    for start in range(0, len(x), ROWS):
        hidden = model.hidden_features(prep.batch(x[start:start + ROWS]))  # (rows, width)
        parts.append(model.head.top_k(hidden, None if y is None else y[start:start + ROWS], k))
    model.train(was_training)
    true = [row_log_p(p.true_log_p, y_part) for p, y_part in zip(parts, y.split(ROWS))] \
        if y is not None else None
    return TopClasses(torch.cat([p.ids for p in parts]), torch.cat([p.log_p for p in parts]),
                      torch.cat(true) if true else None)


def row_log_p(true_log_p: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(rows,) one log-probability per row: of its class, or, for several true classes, the
    mean over them (minus the row's cross-entropy against the 1/num_true target)."""
    if y.dim() == 1:
        return true_log_p
    present = y >= 0
    return true_log_p.masked_fill(~present, 0.0).sum(1) / present.sum(1).clamp(min=1)


def compact_scores(top: TopClasses) -> np.ndarray:
    """[top-k ids | their probabilities | p(true class) or NaN], as tasks/many_classes.py reads."""
    p_true = (top.true_log_p.exp() if top.true_log_p is not None
              else torch.full((len(top.ids),), float("nan")))
    return torch.cat([top.ids.double(), top.log_p.exp().double(),
                      p_true.double().unsqueeze(1)], 1).cpu().numpy()


def scores(model: DenseNet, prep: Preprocessor, task: Task, x: torch.Tensor) -> np.ndarray:
    """Compact scores of unlabelled rows (prediction)."""
    return compact_scores(top_classes(model, prep, x, None, task.top_k()))


def score(model: DenseNet, prep: Preprocessor, task: Task, y: torch.Tensor, x: torch.Tensor,
          full: bool) -> dict:
    """Loss (the full softmax's cross-entropy) and metrics of one split."""
    top = top_classes(model, prep, x, y, task.top_k())
    if not torch.isfinite(top.true_log_p).all():
        raise DensekitError(
            "The network's outputs became NaN or infinite; training has diverged. This usually "
            "helps: a lower learning rate (--lr), gradient clipping (train.clip_norm: 1.0), or "
            "inputs on a common scale.")
    compact = compact_scores(top)
    labels = y.cpu().numpy()
    metrics = task.full_metrics(labels, compact) if full else task.quick_metrics(labels, compact)
    return {"loss": float(-top.true_log_p.double().mean()), **metrics}
