"""Candidate samplers for the sampled softmax, after TensorFlow's (range_sampler.cc).

Each draws `num_sampled` distinct negative classes per step (TensorFlow's unique=True) and
says how often each class is expected to appear in that draw, which the loss subtracts as
log Q so that the sampled softmax estimates the full one without bias.

Drawing without replacement is done as TensorFlow does it: draw with replacement until
`num_sampled` distinct classes have appeared, counting the tries; a class of probability p
is then expected 1 - (1 - p)^tries times.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Optional

import numpy as np
import torch


class CandidateSampler(ABC):
    """p(class) and a way to draw classes with replacement; the rest is shared."""

    def __init__(self, num_classes: int):
        self.num_classes = num_classes

    @abstractmethod
    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """(n,) int64 classes, drawn with replacement."""

    @abstractmethod
    def probability(self, ids: torch.Tensor) -> torch.Tensor:
        """(…) float64 p(class) for the given class ids."""

    def sample_unique(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, int]:
        """n distinct classes in the order they were first drawn, and the number of tries."""
        draws = torch.empty(0, dtype=torch.int64)
        while True:
            draws = torch.cat([draws, self.draw(max(2 * n, 64), generator)])
            values, inverse = torch.unique(draws, return_inverse=True)
            if len(values) >= n:
                break
        first = torch.full((len(values),), len(draws), dtype=torch.int64)
        first.scatter_reduce_(0, inverse, torch.arange(len(draws)), reduce="amin")
        order = first.argsort()[:n]
        return values[order], int(first[order[-1]]) + 1

    def expected_count(self, ids: torch.Tensor, tries: int) -> torch.Tensor:
        """How many times each class is expected among `tries` draws (float32, as the logits)."""
        p = self.probability(ids).clamp(max=1.0 - 1e-12)
        # -expm1(tries * log1p(-p)) = 1 - (1 - p)^tries, accurate for tiny p.
        return (-torch.expm1(tries * torch.log1p(-p))).float()


class LogUniform(CandidateSampler):
    """Zipf's law over class ids: p(k) = log((k + 2) / (k + 1)) / log(range + 1). Fits classes
    numbered by falling frequency (words by rank), as TensorFlow's default sampler assumes."""

    def __init__(self, num_classes: int):
        super().__init__(num_classes)
        self.log_range = math.log(num_classes + 1)

    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        u = torch.rand(n, generator=generator, dtype=torch.float64)
        return (torch.exp(u * self.log_range).long() - 1) % self.num_classes

    def probability(self, ids: torch.Tensor) -> torch.Tensor:
        k = ids.double()
        return torch.log((k + 2.0) / (k + 1.0)) / self.log_range


class Uniform(CandidateSampler):
    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randint(self.num_classes, (n,), generator=generator)

    def probability(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.full(ids.shape, 1.0 / self.num_classes, dtype=torch.float64)


class Unigram(CandidateSampler):
    """p(k) proportional to the class's count among the training labels (TensorFlow's
    fixed_unigram_candidate_sampler with distortion 1). A class absent from training is
    never drawn; its probability is floored so a true class's log Q stays finite."""

    def __init__(self, counts: np.ndarray):
        super().__init__(len(counts))
        p = torch.as_tensor(counts, dtype=torch.float64)
        self.p = p / p.sum()
        self.cdf = torch.cumsum(self.p, 0)
        self.cdf[-1] = 1.0  # rounding must not leave a draw of 1.0 past the end

    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        u = torch.rand(n, generator=generator, dtype=torch.float64)
        return torch.searchsorted(self.cdf, u, right=True).clamp_(max=self.num_classes - 1)

    def probability(self, ids: torch.Tensor) -> torch.Tensor:
        return self.p[ids].clamp(min=1e-12)


def make_sampler(name: str, num_classes: int, counts: Optional[np.ndarray] = None) -> CandidateSampler:
    if name == "unigram":
        return Unigram(counts)
    return {"log_uniform": LogUniform, "uniform": Uniform}[name](num_classes)
