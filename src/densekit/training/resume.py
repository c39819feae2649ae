"""Checkpoints of the loop: capture everything it needs to continue bit for bit, and put it
back. The file format (checkpoint.py) is unchanged since the first version: the loop's state
under "loop" (early stopping's fields among them), tensors by name."""

from __future__ import annotations

import time
from typing import Any

import torch

from densekit.errors import DensekitError
from densekit.rundir.checkpoint import Checkpoint, CheckpointFolder, from_json_tree, to_json_tree
from densekit.training.loop import LoopState, Trainer
from densekit.training.optim import Optimization
from densekit.training.rng import capture_rng, restore_rng


class Checkpointer:
    """Writes a run's checkpoints: `last` when the loop asks, `best` at each improvement."""

    def __init__(self, folder: CheckpointFolder, identity: dict[str, Any]):
        self.folder = folder
        self.identity = identity    # configuration and data hash, checked on resume

    def save_last(self, trainer: Trainer) -> None:
        if not all(torch.isfinite(p).all() for p in trainer.model.parameters()):
            trainer.fail_non_finite(float("nan"))
        trainer.state.last_checkpoint_step = trainer.state.step
        tensors, meta = capture(trainer)
        self.folder.save_last(tensors, {**meta, **self.identity})

    def save_best(self, trainer: Trainer, record: dict) -> None:
        monitor = trainer.early.monitor
        self.folder.save_best(model_tensors(trainer.model), {"step": record["step"],
                                                             monitor: record[monitor]})


def model_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"model.{k}": v.contiguous() for k, v in model.state_dict().items()}


def capture(trainer: Trainer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    s, running, opt = trainer.state, trainer.steps.running, trainer.opt
    tensors = model_tensors(trainer.model)
    if trainer.early.best_weights is not None:
        tensors.update({f"best.{k}": v for k, v in trainer.early.best_weights.items()})
    if s.order is not None:
        tensors["order"] = s.order
    tensors["running.loss"], tensors["running.correct"] = running.loss, running.correct
    meta = {"loop": loop_fields(s, trainer.early.state_dict()), "position": s.position,
            "rows": running.rows, "elapsed": time.perf_counter() - trainer.started}
    meta["optimizer"] = to_json_tree(opt.optimizer.state_dict(), "optimizer", tensors)
    meta["scheduler"] = to_json_tree(opt.scheduler.state_dict(), "scheduler", tensors) if opt.scheduler else None
    meta["rng"] = capture_rng(trainer.generator, tensors)
    sampler = getattr(trainer.steps.loss_fn, "generator", None)  # a sampled softmax's draws
    if sampler is not None:
        tensors["rng.sampler"] = sampler.get_state()
    return {k: v.detach().cpu().contiguous() for k, v in tensors.items()}, meta


def loop_fields(s: LoopState, early: dict[str, Any]) -> dict[str, Any]:
    return {"epoch": s.epoch, "step": s.step, **early, "stop_reason": s.stop_reason,
            "last_checkpoint_step": s.last_checkpoint_step, "history": s.history}


def restore(trainer: Trainer, checkpoint: Checkpoint) -> None:
    """Put the loop back exactly where the checkpoint was taken."""
    device = trainer.generator.device
    t, meta = {k: v.to(device) for k, v in checkpoint.tensors.items()}, checkpoint.meta
    trainer.model.load_state_dict(strip(t, "model."))
    opt = trainer.opt
    opt.optimizer.load_state_dict(from_json_tree(meta["optimizer"], t))
    if opt.scheduler is not None and meta["scheduler"] is not None:
        opt.scheduler.load_state_dict(from_json_tree(meta["scheduler"], t))
    restore_rng(meta["rng"], trainer.generator, checkpoint.tensors)
    if "rng.sampler" in checkpoint.tensors:
        trainer.steps.loss_fn.generator.set_state(checkpoint.tensors["rng.sampler"])
    loop = meta["loop"]
    trainer.early.load_state_dict(loop, strip(t, "best.") or None)
    trainer.state = LoopState(loop["epoch"], loop["step"], loop["stop_reason"],
                              loop["last_checkpoint_step"], loop["history"],
                              t.get("order"), meta["position"])
    running = trainer.steps.running
    running.loss.copy_(t["running.loss"])
    running.correct.copy_(t["running.correct"])
    running.rows = meta["rows"]
    trainer.steps.forget_graph()
    trainer.elapsed_before = meta["elapsed"]


def strip(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


# ------------------------------------------------------------------ resuming with --force

# Model settings that change tensor shapes: weights saved under others cannot be loaded.
ARCHITECTURE_KEYS = ("hidden", "batch_norm", "use_bias")
# Optimizer settings kept in its param groups: load_state_dict brings the saved ones back, so
# a changed value is set again after restoring, or it would be recorded and never used.
GROUP_SETTINGS = ("weight_decay", "momentum", "nesterov")


def resume_from(trainer: Trainer, checkpoint: Checkpoint, before: dict[str, Any],
                after: dict[str, Any], log) -> None:
    """Restore `checkpoint` into `trainer`, refusing what cannot carry over (another
    architecture, another optimizer) before anything is changed, then apply the settings
    --force changed that the restored optimizer state would otherwise undo.
    before/after: the checkpoint's configuration and the one the run continues with."""
    check_architecture(trainer.model, checkpoint, before["model"], after["model"])
    if before["train"]["optimizer"] != after["train"]["optimizer"]:
        raise DensekitError(
            f"The run cannot continue with train.optimizer: {before['train']['optimizer']!r} → "
            f"{after['train']['optimizer']!r}, even with --force: the saved optimizer state "
            "(moments, step counts) belongs to the first. Undo the change, or start a new run.")
    try:
        restore(trainer, checkpoint)
    except (RuntimeError, KeyError, ValueError, TypeError) as err:
        raise DensekitError(f"{checkpoint.path} does not fit the run as configured now ({err}). "
                            "Undo the changes since the checkpoint, or start a new run.") from None
    for message in apply_changed_settings(trainer.opt, before["train"], after["train"]):
        log(message)


def check_architecture(model: torch.nn.Module, checkpoint: Checkpoint, before: dict[str, Any],
                       after: dict[str, Any]) -> None:
    saved = strip(checkpoint.tensors, "model.")
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if {k: tuple(v.shape) for k, v in saved.items()} == shapes:
        return
    changes = [f"model.{key}: {before.get(key)!r} → {after.get(key)!r}"
               for key in ARCHITECTURE_KEYS if before.get(key) != after.get(key)]
    layers = [k for k, shape in shapes.items() if len(shape) == 2]  # Linear weights, in order
    for name, axis, what in ((layers[0], 1, "inputs"), (layers[-1], 0, "outputs")):
        if name in saved and saved[name].shape[axis] != shapes[name][axis]:
            changes.append(f"{what}: {saved[name].shape[axis]} → {shapes[name][axis]}")
    raise DensekitError(
        "The run cannot continue with another network architecture ("
        + ("; ".join(changes) or "its layers differ from the checkpoint's")
        + "), even with --force: the saved weights have other shapes. Undo the change, or "
        "start a new run with it.")


def apply_changed_settings(opt: Optimization, before: dict[str, Any],
                           after: dict[str, Any]) -> list[str]:
    """Set the configured rate and group settings over the restored ones; what was applied."""
    applied = []
    old, new = before["lr"], after["lr"]
    if old != new:
        set_rate(opt, old, new)
        applied.append(f"learning rate set to {new} on resume (the checkpoint's optimizer ran "
                       f"at {old}; a schedule continues scaled to the new rate)")
    for key in GROUP_SETTINGS:
        groups = [g for g in opt.optimizer.param_groups if key in g]
        if groups and before.get(key) != after.get(key):
            for group in groups:
                group[key] = after[key]
            applied.append(f"train.{key} set to {after[key]} on resume (was {before.get(key)})")
    return applied


def set_rate(opt: Optimization, old: float, new: float) -> None:
    """Every rate the optimizer and its schedule keep, scaled from `old` to `new`: a constant
    rate becomes `new` exactly, a decayed one keeps its place in the schedule."""
    def scaled(value: float) -> float:
        return new if value == old else value / old * new
    for group in opt.optimizer.param_groups:
        for key in ("lr", "initial_lr", "max_lr", "min_lr"):
            if key in group and not torch.is_tensor(group[key]):
                group[key] = scaled(group[key])
    if opt.scheduler is not None and hasattr(opt.scheduler, "base_lrs"):
        opt.scheduler.base_lrs = [scaled(b) for b in opt.scheduler.base_lrs]
