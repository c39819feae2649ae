"""Checkpoints of the loop: capture everything it needs to continue bit for bit, and put it
back. The file format (checkpoint.py) is unchanged since the first version: the loop's state
under "loop" (early stopping's fields among them), tensors by name."""

from __future__ import annotations

import time
from typing import Any

import torch

from densekit.training.checkpoint import Checkpoint, CheckpointFolder, from_json_tree, to_json_tree
from densekit.training.loop import LoopState, Trainer
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
