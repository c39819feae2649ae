"""Output layers: a Linear (the full softmax and every other task), the sampled softmax's
(nn/sampled_output.py) and PyTorch's adaptive softmax. Chosen once, from model.output."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from densekit.config import ModelConfig
from densekit.errors import DensekitError
from densekit.nn.class_chunks import TopClasses, row_chunk_top_k
from densekit.nn.sampled_output import SampledHead


DIV_VALUE = 4.0  # each adaptive cluster's projection is this many times narrower than the last


class AdaptiveHead(nn.AdaptiveLogSoftmaxWithLoss):
    """PyTorch's adaptive softmax (Grave et al., 2017): frequent classes in a small head,
    rarer ones in clusters of narrower projections. In training it hands the hidden
    activations on (the loss needs the targets); in evaluation it gives log-probabilities."""

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return hidden if self.training else self.log_prob(hidden)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return F.nll_loss(out, y)       # `out` is already log-probabilities
        if y.dim() == 1:
            return nn.AdaptiveLogSoftmaxWithLoss.forward(self, out, y).loss
        # Several true classes per row (−1 in unused slots): one (row, class) pair each,
        # weighted 1/num_true, the sampled softmax's target.
        present = y >= 0
        rows = present.nonzero()[:, 0]
        share = 1.0 / present.sum(1).clamp(min=1)
        log_p = nn.AdaptiveLogSoftmaxWithLoss.forward(self, out[rows], y[present]).output
        return -(log_p * share[rows]).sum() / len(y)

    def top_k(self, hidden: torch.Tensor, y: Optional[torch.Tensor], k: int) -> TopClasses:
        return row_chunk_top_k(self.log_prob, self.n_classes, hidden, y, k)


def adaptive_cutoffs(classes: int, given: Optional[list[int]]) -> list[int]:
    """The given cluster edges, or a head of the ~2% most frequent classes (at least 2) and
    clusters growing tenfold, the proportions of the paper's word-level models."""
    if given:
        return list(given)
    edges, edge = [], max(2, min(classes // 50, 20_000))
    while edge < classes and len(edges) < 3:
        edges.append(edge)
        edge *= 10
    return edges or [classes // 2]


def head_parameters(width: int, classes: int, cfg: ModelConfig) -> int:
    """The output layer's parameter count, without building it (a million classes), for the
    layer summary. The adaptive softmax, as nn.AdaptiveLogSoftmaxWithLoss lays it out: a head
    over the shortlist plus one logit per cluster (no bias), then per cluster i a projection
    to width // DIV_VALUE^(i+1) and an output layer over the cluster's classes (no biases)."""
    if cfg.output != "adaptive_softmax":
        return width * classes + (classes if cfg.use_bias else 0)
    edges = adaptive_cutoffs(classes, cfg.adaptive_cutoffs) + [classes]
    total = width * (edges[0] + len(edges) - 1)
    for i in range(len(edges) - 1):
        projection = int(width // (DIV_VALUE ** (i + 1)))
        total += width * projection + projection * (edges[i + 1] - edges[i])
    return total


def output_layer(width: int, classes: int, cfg: ModelConfig) -> nn.Module:
    if cfg.output == "sampled_softmax":
        check_num_sampled(cfg.num_sampled, classes)
        return SampledHead(width, classes, bias=cfg.use_bias)
    if cfg.output == "adaptive_softmax":
        return AdaptiveHead(width, classes, adaptive_cutoffs(classes, cfg.adaptive_cutoffs),
                            div_value=DIV_VALUE)
    return nn.Linear(width, classes, bias=cfg.use_bias)


def check_num_sampled(num_sampled: int, classes: int) -> None:
    if num_sampled >= classes:
        raise DensekitError(
            f"model.num_sampled is {num_sampled:,} but there are only {classes:,} classes: a "
            "sampled softmax draws fewer negative classes than there are classes. Lower "
            f"model.num_sampled (at most {classes - 1:,}; a few thousand suit 10,000 classes and "
            "more), or use model.output: softmax, which scores every class.")
