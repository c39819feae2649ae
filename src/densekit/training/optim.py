"""Optimisers (Keras's defaults where they differ from PyTorch's) and learning-rate schedules."""

from __future__ import annotations

from typing import Iterable, Optional

import torch
from torch.optim import lr_scheduler

from densekit.config import TrainConfig
from densekit.training.eager_optim import Adam, AdamW, create_adam_state
from densekit.training.sparse_adam import LazyAdam

# Fused kernels update all parameters in one call: fewer Python round trips per step.
FUSED = {"sgd", "adagrad", "adam", "adamw"}
FUSED_ON_CPU_ONLY = {"adagrad"}  # PyTorch has no fused Adagrad kernel for CUDA


def lazy_adam_applies(cfg: TrainConfig) -> bool:
    """Sparse gradients (a sampled softmax's output rows) get a lazy Adam: Adam and AdamW
    without gradient clipping (a global norm would need every row)."""
    return cfg.optimizer in ("adam", "adamw") and cfg.clip_norm is None


def make_optimizer(params: Iterable[torch.nn.Parameter], cfg: TrainConfig,
                   sparse: bool = False) -> torch.optim.Optimizer:
    params = list(params)
    if sparse and lazy_adam_applies(cfg):
        return LazyAdam(params, lr=cfg.lr, eps=1e-7, weight_decay=cfg.weight_decay,
                        decoupled_weight_decay=cfg.optimizer == "adamw")
    on_cpu = all(p.device.type == "cpu" for p in params)
    fused = cfg.optimizer in FUSED and (on_cpu or cfg.optimizer not in FUSED_ON_CPU_ONLY)
    speed = {"fused": True} if fused else {"foreach": True}
    common = {"lr": cfg.lr, "weight_decay": cfg.weight_decay, **speed}
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, momentum=cfg.momentum, nesterov=cfg.nesterov, **common)
    if cfg.optimizer == "adagrad":
        # TensorFlow/Keras start the accumulator at 0.1, which damps the first steps.
        return torch.optim.Adagrad(params, initial_accumulator_value=0.1, eps=1e-7, **common)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, alpha=0.9, eps=1e-7, momentum=cfg.momentum, **common)
    if cfg.optimizer == "adamw":
        return AdamW(params, eps=1e-7, **common)
    return Adam(params, eps=1e-7, **common)


def make_scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int):
    """The scheduler and when it steps: 'step' (each batch), 'epoch', 'eval', or None."""
    if cfg.schedule == "constant":
        return None, None
    if cfg.schedule == "step":
        return lr_scheduler.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma), "epoch"
    if cfg.schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps), "step"
    if cfg.schedule == "one_cycle":
        return lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total_steps), "step"
    plateau = lr_scheduler.ReduceLROnPlateau(opt, factor=cfg.gamma, patience=cfg.plateau_patience)
    return plateau, "eval"


class DirectFusedAdam:
    """Adam/AdamW steps that call the fused kernel directly.

    torch.optim's step() wraps the kernel in about 0.2 ms of Python bookkeeping per call, as
    much as the arithmetic of a small network. This calls the same kernel with the same
    arguments on the optimizer's own state tensors (read afresh each step, so a restored
    checkpoint or a schedule's new learning rate is seen), so results are bit-identical and
    state_dict() is unchanged.
    """

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.optimizer = optimizer
        self.params = optimizer.param_groups[0]["params"]
        self.lr: Optional[torch.Tensor] = None  # the rate as a device tensor, for CUDA graphs
        self.lr_value = 0.0

    def use_device_lr(self) -> None:
        """Read the learning rate from a device tensor from now on: a CUDA graph replays the
        numbers it recorded, so a rate that a schedule changes must live in memory."""
        self.lr_value = self.optimizer.param_groups[0]["lr"]
        self.lr = torch.tensor(self.lr_value, dtype=torch.float32, device=self.params[0].device)

    def refresh_lr(self) -> None:
        """Copy the group's current rate (a schedule may have changed it) to the device tensor."""
        value = self.optimizer.param_groups[0]["lr"]
        if value != self.lr_value:
            self.lr.fill_(value)
            self.lr_value = value

    @staticmethod
    def supports(optimizer: torch.optim.Optimizer) -> bool:
        groups = optimizer.param_groups
        return (isinstance(optimizer, torch.optim.Adam) and len(groups) == 1
                and groups[0]["fused"] and not groups[0]["amsgrad"] and not groups[0]["maximize"]
                and hasattr(torch, "_fused_adam_"))

    def step(self) -> None:
        if not self.optimizer.state:
            create_adam_state(self.optimizer)  # as the first optimizer.step() would
        group, state = self.optimizer.param_groups[0], self.optimizer.state
        slots = [state[p] for p in self.params]
        steps = [s["step"] for s in slots]
        torch._foreach_add_(steps, 1)
        kernel = torch._fused_adamw_ if group["decoupled_weight_decay"] else torch._fused_adam_
        beta1, beta2 = group["betas"]
        kernel(self.params, [p.grad for p in self.params], [s["exp_avg"] for s in slots],
               [s["exp_avg_sq"] for s in slots], [], steps, amsgrad=False,
               lr=group["lr"] if self.lr is None else self.lr,
               beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
               maximize=False)
        # What optimizer.step() records, so LR schedulers know a step happened before theirs.
        self.optimizer._opt_called = True


def current_lr(opt: torch.optim.Optimizer) -> float:
    lr = opt.param_groups[0]["lr"]
    return float(lr.item() if torch.is_tensor(lr) else lr)


def gradient_clipper(params: list[torch.nn.Parameter], clip_norm: Optional[float]):
    if clip_norm is None:
        return None
    return lambda: torch.nn.utils.clip_grad_norm_(params, clip_norm, foreach=True)


class Optimization:
    """The optimizer, its direct fused kernel where one applies, the schedule and clipping:
    everything that turns gradients into new weights, behind a few calls the loop makes."""

    def __init__(self, params: list[torch.nn.Parameter], cfg: TrainConfig, total_steps: int,
                 sparse: bool = False):
        self.optimizer = make_optimizer(params, cfg, sparse)
        # The schedule first: it replaces optimizer.step with a wrapper that records each call,
        # and a step method bound before that would bypass it (PyTorch then warns that the
        # schedule stepped before the optimizer).
        self.scheduler, self.schedule_on = make_scheduler(self.optimizer, cfg, total_steps)
        self.adam = DirectFusedAdam(self.optimizer) if DirectFusedAdam.supports(self.optimizer) else None
        self.step = self.adam.step if self.adam else self.optimizer.step
        self.clip = gradient_clipper(params, cfg.clip_norm)

    def graphable(self) -> bool:
        """A CUDA graph can record the update: the direct Adam kernel, no clipping."""
        return self.adam is not None and self.clip is None

    def after_step(self) -> None:
        if self.schedule_on == "step":
            self.scheduler.step()

    def after_epoch(self) -> None:
        if self.schedule_on == "epoch":
            self.scheduler.step()

    def after_evaluation(self, record: dict) -> None:
        if self.schedule_on == "eval":
            self.scheduler.step(record.get("val_loss", record["train_loss"]))

    @property
    def lr(self) -> float:
        return current_lr(self.optimizer)
