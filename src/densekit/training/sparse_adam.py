"""Adam that updates only the rows a sparse gradient touches (TensorFlow Addons' LazyAdam).

A sampled softmax over a million classes touches a few thousand rows of its output layer per
step; a dense Adam would still read and write every row's weight and both moments (for
1,000,000 × 256 floats, 3 GB of memory traffic a step). Here a sparse gradient updates its
rows' moments and weights alone; the rows it does not touch keep their moments, as in
LazyAdam (torch.optim.SparseAdam does the same but refuses dense gradients, and the rest of
the network has dense ones). Dense gradients get ordinary Adam (or AdamW) steps.
"""

from __future__ import annotations

import math

import torch

from densekit.training.eager_optim import Eager


class LazyAdam(Eager, torch.optim.Optimizer):
    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-7,
                 weight_decay: float = 0.0, decoupled_weight_decay: bool = False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                if p.grad.is_sparse:
                    sparse_update(p, p.grad, state, group)
                else:
                    dense_update(p, p.grad, state, group)
        return None


def step_size(state: dict, group: dict) -> tuple[float, float]:
    """Adam's bias-corrected rate and the square root of the second correction."""
    beta1, beta2 = group["betas"]
    t = float(state["step"])
    return group["lr"] / (1 - beta1 ** t), math.sqrt(1 - beta2 ** t)


def dense_update(p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
    beta1, beta2 = group["betas"]
    if group["weight_decay"] and group["decoupled_weight_decay"]:
        p.mul_(1 - group["lr"] * group["weight_decay"])
    elif group["weight_decay"]:
        grad = grad.add(p, alpha=group["weight_decay"])
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m.lerp_(grad, 1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    rate, correction = step_size(state, group)
    p.addcdiv_(m, (v.sqrt() / correction).add_(group["eps"]), value=-rate)


def sparse_update(p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
    beta1, beta2 = group["betas"]
    grad = grad.coalesce()                   # one entry per row: repeated ids are summed
    rows, g = grad.indices()[0], grad.values()   # (touched,), (touched, …)
    w = p.index_select(0, rows)
    if group["weight_decay"] and group["decoupled_weight_decay"]:
        w.mul_(1 - group["lr"] * group["weight_decay"])
    elif group["weight_decay"]:
        g = g.add(w, alpha=group["weight_decay"])
    m = state["exp_avg"].index_select(0, rows).lerp_(g, 1 - beta1)
    v = state["exp_avg_sq"].index_select(0, rows).mul_(beta2).addcmul_(g, g, value=1 - beta2)
    rate, correction = step_size(state, group)
    w.addcdiv_(m, (v.sqrt() / correction).add_(group["eps"]), value=-rate)
    state["exp_avg"].index_copy_(0, rows, m)
    state["exp_avg_sq"].index_copy_(0, rows, v)
    p.index_copy_(0, rows, w)
