"""torch.optim's Adam and AdamW without the second that their first call costs.

PyTorch wraps Optimizer.add_param_group (called by every constructor), zero_grad, state_dict
and load_state_dict in torch._disable_dynamo, which imports torch._dynamo (and sympy) on first
use so that a torch.compile'd program skips them; step() imports it too. densekit never compiles
an optimizer, and that import was the largest single cost of a small run's start
(benchmarks/startup.py). These classes call the same functions without the wrapper, so their
state and state_dict() are torch.optim's own; the step itself is DirectFusedAdam's
(training/optim.py), which creates the state as Adam's first step would.
"""

from __future__ import annotations

from typing import Callable

import torch


def unwrapped(method: Callable) -> Callable:
    """The function under torch's lazy dynamo guard (kept by functools.wraps), or the method
    itself where a PyTorch version wraps it otherwise: slower to start, never wrong."""
    return getattr(method, "__wrapped__", method)


_ADD_PARAM_GROUP = unwrapped(torch.optim.Optimizer.add_param_group)
_ZERO_GRAD = unwrapped(torch.optim.Optimizer.zero_grad)
_STATE_DICT = unwrapped(torch.optim.Optimizer.state_dict)
_LOAD_STATE_DICT = unwrapped(torch.optim.Optimizer.load_state_dict)


class Eager:
    """Placed before a torch.optim class: its bookkeeping methods, unguarded."""

    def add_param_group(self, param_group: dict) -> None:
        _ADD_PARAM_GROUP(self, param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        _ZERO_GRAD(self, set_to_none)

    def state_dict(self) -> dict:
        return _STATE_DICT(self)

    def load_state_dict(self, state_dict: dict) -> None:
        _LOAD_STATE_DICT(self, state_dict)


class Adam(Eager, torch.optim.Adam):
    pass


class AdamW(Eager, torch.optim.AdamW):
    pass


def create_adam_state(optimizer: torch.optim.Adam) -> None:
    """The state Adam's first step creates for a fused group (torch.optim.Adam._init_group):
    a float32 step count on the parameter's device and two zero moments."""
    for p in optimizer.param_groups[0]["params"]:
        optimizer.state[p] = {
            "step": torch.zeros((), dtype=torch.float32, device=p.device),
            "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
            "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
        }
