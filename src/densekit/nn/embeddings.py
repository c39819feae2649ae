"""Periodic embeddings of the numeric columns (RealMLP's PBLD; Gorishniy et al. 2022, Holzmüller
et al. 2024): each numeric column x becomes [x, W·cos(2π·f·x + b) + c], FREQUENCIES learned
frequencies f (initialised N(0, SIGMA²)) and phases b, projected to OUT - 1 values by a small
linear map of its own, beside x itself. A dense network then sees a learned, smooth
piecewise-periodic code of every number instead of the number alone, which lets its first
layer cut a column at several places at once. Columns that are not numbers (one-hot 0/1
columns, a bag of words) pass through untouched.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

FREQUENCIES, OUT, SIGMA = 16, 4, 0.1   # pytabkit's RealMLP-TD: plr_hidden_1, plr_hidden_2, plr_sigma


def embedded_width(n_inputs: int, n_embedded: int) -> int:
    """The first Dense layer's inputs: OUT values per embedded column, one per other column."""
    return n_inputs - n_embedded + OUT * n_embedded


def parameters_of(n_embedded: int) -> int:
    return n_embedded * (2 * FREQUENCIES + FREQUENCIES * (OUT - 1) + (OUT - 1))


class PeriodicEmbedding(nn.Module):
    """(batch, inputs) -> (batch, embedded_width): the embedded columns' codes, then the others."""

    def __init__(self, embedded: Sequence[bool]):
        super().__init__()
        mask = torch.as_tensor(list(embedded), dtype=torch.bool)
        n = int(mask.sum())
        # Column indices as buffers: saved with the weights, so a loaded model embeds the same columns.
        self.register_buffer("numeric", torch.nonzero(mask).flatten())
        self.register_buffer("others", torch.nonzero(~mask).flatten())
        self.frequencies = nn.Parameter(SIGMA * torch.randn(n, FREQUENCIES))
        self.phases = nn.Parameter(math.pi * (2 * torch.rand(n, FREQUENCIES) - 1))
        bound = 1 / math.sqrt(FREQUENCIES)   # nn.Linear's initialisation, per column
        self.weight = nn.Parameter(torch.empty(n, FREQUENCIES, OUT - 1).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n, OUT - 1).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        numbers = x[:, self.numeric]                                           # (batch, n)
        angles = 2 * math.pi * numbers[:, :, None] * self.frequencies + self.phases  # (batch, n, F)
        codes = torch.einsum("bnf,nfo->bno", torch.cos(angles), self.weight) + self.bias
        embedded = torch.cat([numbers[:, :, None], codes], dim=2)             # (batch, n, OUT)
        return torch.cat([embedded.flatten(1), x[:, self.others]], dim=1)


def embedded_columns(embedding: str, prep) -> list[bool] | None:
    """Which inputs get a periodic embedding: a table's numeric columns (the smoothly clipped
    ones, i.e. not 0/1), when model.embedding asks for it; None for images, bags and no embedding."""
    if embedding != "periodic" or getattr(prep, "kind", None) != "table" or prep.clip is None:
        return None
    mask = [bool(v) for v in prep.clip]
    return mask if any(mask) else None


def embedded_count(model_cfg, prep) -> int:
    """How many columns model_cfg embeds for data preprocessed by prep (for the layer summary)."""
    mask = embedded_columns(model_cfg.embedding, prep)
    return sum(mask) if mask else 0
