"""Several networks packed into one: `model.members` dense stacks of the same shape, each with
weights of its own, trained side by side on the same batches and answering with the mean of
their scores (TabM's packed ensemble, Gorishniy et al. 2025).

Still one dense network, one file and one forward pass: every layer holds its members' weights
in one (members, units, inputs) tensor and multiplies them in one batched product. The first
layer reads the shared input with one matrix product (all members' units side by side); the
hidden layers and the head take (members, batch, units) with torch.baddbmm. Each member is
trained on its own loss (the mean over members of the task's loss: `member_outputs`), so the
members stay different networks, and the network's output is the mean of their raw scores
(for a softmax, the normalised geometric mean of the members' probabilities).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class PackedLinear(nn.Module):
    """`members` Linear layers in one: weight (members, out, in), bias (members, out), each
    member's slice laid out as nn.Linear lays out its weight."""

    def __init__(self, members: int, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.members, self.in_features, self.out_features = members, in_features, out_features
        self.weight = nn.Parameter(torch.empty(members, out_features, in_features))
        self.bias = nn.Parameter(torch.empty(members, out_features)) if bias else None
        bound = 1 / math.sqrt(in_features) if in_features else 0.0
        nn.init.uniform_(self.weight, -bound, bound)   # nn.Linear's own, per member
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if h.dim() == 2:   # the shared input (batch, in): one product for every member
            flat = h @ self.weight.reshape(-1, self.in_features).t()          # (batch, members*out)
            out = flat.unflatten(1, (self.members, self.out_features)).transpose(0, 1)
            return out if self.bias is None else out + self.bias[:, None, :]  # (members, batch, out)
        if self.bias is None:                                                  # h: (members, batch, in)
            return torch.bmm(h, self.weight.transpose(1, 2))
        return torch.baddbmm(self.bias[:, None, :], h, self.weight.transpose(1, 2))

    def member_weights(self) -> list[torch.Tensor]:
        """Each member's (out, in) weight: a view, so an initialiser fills the layer in place."""
        return list(self.weight.unbind(0))

    def member_biases(self) -> list[torch.Tensor]:
        return [] if self.bias is None else list(self.bias.unbind(0))

    def extra_repr(self) -> str:
        return (f"members={self.members}, in_features={self.in_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class MeanOfMembers(nn.Module):
    """The packed head: each member's scores kept for the loss, their mean handed on."""

    def __init__(self, head: PackedLinear):
        super().__init__()
        self.head = head
        self.member_outputs: torch.Tensor | None = None

    def forward(self, h: torch.Tensor) -> torch.Tensor:   # (members, batch, in) -> (batch, out)
        out = self.head(h)                                 # (members, batch, out)
        self.member_outputs = out if self.training else None
        return out.mean(dim=0)


def each_member(loss_fn, model: nn.Module):
    """The training loss of a packed network: the task's loss on every member's own scores
    (members × batch rows against the batch's targets repeated), i.e. the members' mean loss."""
    def loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        members = model.head.member_outputs
        if members is None:   # evaluation: the network's answer, the members' mean
            return loss_fn(out, y)
        k = members.shape[0]
        repeated = y.repeat(k, *([1] * (y.dim() - 1)))
        return loss_fn(members.reshape(-1, members.shape[-1]), repeated)
    return loss
