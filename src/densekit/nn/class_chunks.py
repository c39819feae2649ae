"""The full softmax over very many classes without a rows × classes matrix.

Validation, testing and prediction need, per row, the k most probable classes and the
log-probability of the true class. Over a million classes a block of 4,096 rows would need
16 GB of logits; here the classes are taken a chunk at a time, keeping a running
log-sum-exp (the softmax's denominator) and a running top-k, so memory stays at CELLS logits
whatever the number of classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch

CELLS = 1 << 23  # logits held at once (32 MB of float32)


@dataclass
class TopClasses:
    ids: torch.Tensor                  # (rows, k) int64, most probable first
    log_p: torch.Tensor                # (rows, k) float32 log-probabilities
    true_log_p: Optional[torch.Tensor]  # (rows,) float32 — (rows, t) for y (rows, t) — or None


def linear_top_k(weight: torch.Tensor, bias: Optional[torch.Tensor], hidden: torch.Tensor,
                 y: Optional[torch.Tensor], k: int, cells: int = CELLS) -> TopClasses:
    """softmax(hidden @ weight.T + bias), class chunk by class chunk. y: (rows,) classes, or
    (rows, t) for several per row (−1 in unused slots: their log-probability is meaningless)."""
    rows, classes = len(hidden), len(weight)
    step = max(k, cells // max(rows, 1))
    running_max = hidden.new_full((rows,), float("-inf"))
    running_sum = hidden.new_zeros(rows)                 # sum of exp(logit - running_max)
    top_val = hidden.new_full((rows, 0), 0.0)
    top_ids = torch.zeros((rows, 0), dtype=torch.int64, device=hidden.device)
    truth = y.view(rows, -1) if y is not None else None
    true_logit = hidden.new_zeros(truth.shape if truth is not None else (rows,))
    for start in range(0, classes, step):
        stop = min(start + step, classes)
        logits = hidden @ weight[start:stop].T             # (rows, chunk)
        if bias is not None:
            logits += bias[start:stop]
        new_max = torch.maximum(running_max, logits.max(1).values)
        running_sum = running_sum * torch.exp(running_max - new_max) \
            + torch.exp(logits - new_max.unsqueeze(1)).sum(1)
        running_max = new_max
        values, where = logits.topk(min(k, stop - start), dim=1)
        top_val, chosen = torch.cat([top_val, values], 1).topk(min(k, top_val.shape[1] + values.shape[1]), dim=1)
        top_ids = torch.cat([top_ids, where + start], 1).gather(1, chosen)
        if truth is not None:
            inside = (truth >= start) & (truth < stop)
            picked = logits.gather(1, (truth - start).clamp(0, stop - start - 1))
            true_logit = torch.where(inside, picked, true_logit)
    log_total = running_max + torch.log(running_sum)      # log-sum-exp over every class
    true_log_p = (true_logit - log_total.unsqueeze(1)).view(y.shape) if y is not None else None
    return TopClasses(top_ids, top_val - log_total.unsqueeze(1), true_log_p)


def row_chunk_top_k(log_prob: Callable[[torch.Tensor], torch.Tensor], classes: int,
                    hidden: torch.Tensor, y: Optional[torch.Tensor], k: int,
                    cells: int = CELLS) -> TopClasses:
    """For heads that give full log-probabilities (the adaptive softmax): a few rows at a time."""
    step = max(1, cells // classes)
    parts = []
    for start in range(0, len(hidden), step):
        log_p = log_prob(hidden[start:start + step])       # (step, classes)
        values, ids = log_p.topk(k, dim=1)
        true = None
        if y is not None:  # (rows,) or (rows, t); −1 slots read class 0, meaninglessly
            part = y[start:start + step]
            true = log_p.gather(1, part.view(len(part), -1).clamp(min=0)).view(part.shape)
        parts.append((ids, values, true))
    ids, values, true = zip(*parts)
    return TopClasses(torch.cat(ids), torch.cat(values),
                      torch.cat(true) if y is not None else None)
