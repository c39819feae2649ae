"""The sampled softmax: TensorFlow's tf.nn.sampled_softmax_loss, in PyTorch.

Training scores each row against its true class(es) and a shared random sample of negative
classes instead of all of them; validation and prediction use the full softmax (computed in
chunks, nn/class_chunks.py). The output layer stays an ordinary nn.Linear, so a model
trained this way is saved, loaded, exported and served like any other.

Only the sampled and true rows of the output weight take part in a step. Gathered with
`gather_rows(sparse=True)` their gradient is a sparse tensor of those rows, which a lazy Adam
(training/sparse_adam.py) applies without touching the rest of the layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from densekit.nn.class_chunks import TopClasses, linear_top_k
from densekit.nn.samplers import CandidateSampler


class SampledHead(nn.Linear):
    """The output layer of a sampled softmax. In training it hands the hidden activations on
    unchanged (the loss reads the rows of its weight it needs); in evaluation it is a Linear."""

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden if self.training else super().forward(hidden)

    def top_k(self, hidden: torch.Tensor, y: Optional[torch.Tensor], k: int) -> TopClasses:
        """The k most probable classes under the full softmax, in class chunks."""
        return linear_top_k(self.weight, self.bias, hidden, y, k)


class SparseRows(torch.autograd.Function):
    """weight[ids] whose gradient is a sparse tensor holding only the gathered rows."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(ids)
        ctx.shape = weight.shape
        return weight.index_select(0, ids)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (ids,) = ctx.saved_tensors
        return torch.sparse_coo_tensor(ids.unsqueeze(0), grad, ctx.shape, check_invariants=False), None


def gather_rows(weight: torch.Tensor, ids: torch.Tensor, sparse: bool) -> torch.Tensor:
    return SparseRows.apply(weight, ids) if sparse else weight.index_select(0, ids)


@dataclass
class Candidates:
    """One step's draw: the negatives and the expected counts of true and sampled classes."""

    sampled: torch.Tensor                 # (num_sampled,) int64
    true_expected: torch.Tensor           # (batch, num_true) float32
    sampled_expected: torch.Tensor        # (num_sampled,) float32


def compute_sampled_logits(weight: torch.Tensor, bias: Optional[torch.Tensor],
                           labels: torch.Tensor, hidden: torch.Tensor, candidates: Candidates,
                           remove_accidental_hits: bool = True, subtract_log_q: bool = True,
                           sparse: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """TensorFlow's _compute_sampled_logits: (logits, soft labels), both (batch, num_true +
    num_sampled). labels (batch, num_true) int64; -1 marks an unused slot in a row with fewer
    true classes (its logit is masked and its label is 0)."""
    batch, num_true = labels.shape
    present = labels >= 0                                   # (batch, num_true)
    all_ids = torch.cat([labels.clamp(min=0).reshape(-1), candidates.sampled])
    rows = gather_rows(weight, all_ids, sparse)             # (batch*num_true + S, hidden)
    true_w, sampled_w = rows[:batch * num_true], rows[batch * num_true:]
    true_logits = (hidden.unsqueeze(1) * true_w.view(batch, num_true, -1)).sum(-1)  # (batch, num_true)
    sampled_logits = hidden @ sampled_w.T                   # (batch, S)
    if bias is not None:
        biases = gather_rows(bias, all_ids, sparse)
        true_logits = true_logits + biases[:batch * num_true].view(batch, num_true)
        sampled_logits = sampled_logits + biases[batch * num_true:]
    lowest = torch.finfo(sampled_logits.dtype).min         # TensorFlow adds -FLOAT_MAX
    if remove_accidental_hits:
        hits = (labels.unsqueeze(2) == candidates.sampled.view(1, 1, -1)).any(1)  # (batch, S)
        sampled_logits = sampled_logits.masked_fill(hits, lowest)
    if subtract_log_q:
        true_logits = true_logits - torch.log(candidates.true_expected)
        sampled_logits = sampled_logits - torch.log(candidates.sampled_expected)
    true_logits = true_logits.masked_fill(~present, lowest)
    share = present.float() / present.sum(1, keepdim=True).clamp(min=1)  # 1/num_true each
    logits = torch.cat([true_logits, sampled_logits], 1)
    targets = torch.cat([share, torch.zeros_like(sampled_logits)], 1)
    return logits, targets


def softmax_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per row: -sum(targets * log_softmax(logits)), read only where a target is above 0 (a
    masked logit times a zero target would be -inf * 0)."""
    log_p = logits - torch.logsumexp(logits, 1, keepdim=True)
    return -(targets * log_p.masked_fill(targets == 0, 0.0)).sum(1)


def sampled_softmax_loss(weight: torch.Tensor, bias: Optional[torch.Tensor], labels: torch.Tensor,
                         hidden: torch.Tensor, candidates: Candidates,
                         remove_accidental_hits: bool = True, subtract_log_q: bool = True,
                         sparse: bool = False) -> torch.Tensor:
    """(batch,) losses, as tf.nn.sampled_softmax_loss returns them."""
    logits, targets = compute_sampled_logits(weight, bias, labels, hidden, candidates,
                                             remove_accidental_hits, subtract_log_q, sparse)
    return softmax_cross_entropy(logits, targets)


class SampledSoftmaxLoss:
    """loss(hidden, labels) for training: draws the step's negatives from its own generator
    (saved in checkpoints, so a resumed run draws what it would have drawn)."""

    def __init__(self, head: nn.Linear, sampler: CandidateSampler, num_sampled: int, seed: int,
                 remove_accidental_hits: bool = True, subtract_log_q: bool = True,
                 sparse: bool = True):
        self.head, self.sampler, self.num_sampled = head, sampler, num_sampled
        self.remove_accidental_hits, self.subtract_log_q = remove_accidental_hits, subtract_log_q
        self.sparse = sparse
        self.generator = torch.Generator().manual_seed(seed)

    def draw(self, labels: torch.Tensor) -> Candidates:
        sampled, tries = self.sampler.sample_unique(self.num_sampled, self.generator)
        device = labels.device
        return Candidates(sampled.to(device),
                          self.sampler.expected_count(labels.clamp(min=0).cpu(), tries).to(device),
                          self.sampler.expected_count(sampled, tries).to(device))

    def __call__(self, hidden: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if hidden.shape[1] == self.head.out_features and not self.head.training:
            return F.cross_entropy(hidden, y)  # full logits (a model in evaluation mode)
        labels = y.view(len(y), -1)             # (batch, num_true)
        losses = sampled_softmax_loss(self.head.weight, self.head.bias, labels, hidden,
                                      self.draw(labels), self.remove_accidental_hits,
                                      self.subtract_log_q, self.sparse)
        return losses.mean()
