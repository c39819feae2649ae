"""Every activation by name, in one table: the module the network builds and, for those the
hand-written fast path knows (nn/fastpath.py), the in-place forward and the backward written
in terms of the output. The configuration's allowed names (config.Activation) are checked
against this table by a test: config is imported by `densekit --help`, which loads no PyTorch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import nn

LEAKY_SLOPE = 0.2  # Keras's LeakyReLU slope


@dataclass(frozen=True)
class Activation:
    module: Callable[[], nn.Module]
    forward: Optional[Callable[[torch.Tensor], torch.Tensor]] = None          # in place
    backward: Optional[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = None  # (grad, output)

    @property
    def fast(self) -> bool:
        """The fast path can run it (it has both directions)."""
        return self.forward is not None and self.backward is not None


def relu_backward(grad: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    return torch.ops.aten.threshold_backward(grad, a, 0)  # one kernel where a mask takes three


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(nn.ReLU, torch.Tensor.relu_, relu_backward),
    "leaky_relu": Activation(lambda: nn.LeakyReLU(LEAKY_SLOPE),
                             lambda z: nn.functional.leaky_relu_(z, LEAKY_SLOPE),
                             lambda grad, a: grad.mul_(torch.where(a > 0, 1.0, LEAKY_SLOPE))),
    "elu": Activation(nn.ELU),
    "selu": Activation(nn.SELU),
    "gelu": Activation(nn.GELU),
    "tanh": Activation(nn.Tanh, torch.Tensor.tanh_, lambda grad, a: grad.mul_(1 - a * a)),
    "sigmoid": Activation(nn.Sigmoid, torch.Tensor.sigmoid_, lambda grad, a: grad.mul_(a * (1 - a))),
    "linear": Activation(nn.Identity, lambda z: z, lambda grad, a: grad),
}
# The activation layers of a built network, for Keras's activity penalties on their outputs.
ACTIVATION_TYPES = tuple(type(a.module()) for a in ACTIVATIONS.values())
