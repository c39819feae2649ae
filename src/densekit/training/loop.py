"""The training loop: small named steps over data resident in memory.

Batches are slices of a seeded permutation of row indices: no DataLoader and no per-sample
Python in the hot path. Evaluation happens every epoch, or every N steps ("periods").
The parts do the work: a step runner (steps.py), the optimization (optim.py), early
stopping, checkpoints (resume.py) and listeners (history, TensorBoard, progress, snapshots).
A checkpoint captures the loop exactly, so a resumed run ends with the same weights, bit for
bit, as one left alone.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import torch

from densekit.config import TrainConfig
from densekit.errors import DensekitError
from densekit.training.early_stopping import EarlyStopping
from densekit.training.evaluation import Resident, score
from densekit.training.interrupt import InterruptFlag, TrainingInterrupted
from densekit.training.listeners import Listener
from densekit.training.steps import NonFiniteLoss, StepRunner


@dataclass
class LoopState:
    """Where the loop is; everything else is derived from the configuration."""

    epoch: int = 0                       # completed epochs
    step: int = 0                        # completed optimizer steps
    stop_reason: str = ""
    last_checkpoint_step: Optional[int] = None
    history: list[dict] = field(default_factory=list)
    order: Optional[torch.Tensor] = None  # this epoch's sample order, once drawn
    position: int = 0                     # next row of `order` to train on


class Trainer:
    def __init__(self, steps: StepRunner, cfg: TrainConfig, validation: Optional[Resident],
                 generator: torch.Generator, checkpoints=None,
                 interrupt: Optional[InterruptFlag] = None, listeners: Sequence[Listener] = ()):
        self.steps, self.cfg, self.validation = steps, cfg, validation
        self.model, self.opt = steps.model, steps.opt
        self.generator, self.listeners = generator, list(listeners)
        self.checkpoints = checkpoints    # a Checkpointer (resume.py), or None
        self.interrupt = interrupt or InterruptFlag(install=False)  # handlers: the caller's choice
        self.rows = len(steps.train)
        self.steps_per_epoch = math.ceil(self.rows / cfg.batch_size)
        self.total_steps = total_steps(cfg, self.rows)
        self.eval_every = eval_interval(cfg, self.total_steps)
        self.early = EarlyStopping(cfg.early_stopping)
        self.state = LoopState()
        self.elapsed_before = 0.0   # training seconds before a resume
        self.started = time.perf_counter()
        self.seconds = 0.0          # training seconds, set when fit() ends
        self.last_save = self.started  # when the last checkpoint was written

    # ---------------------------------------------------------------- the loop

    def fit(self) -> LoopState:
        self.model.train()
        try:
            self.notify("on_start", self.state.step, self.total_steps)
            # The clock starts after the listeners (opening TensorBoard's writer imports it):
            # train_seconds is the loop's own time, as it was measured before them.
            self.started = time.perf_counter() - self.elapsed_before
            with self.interrupt:
                self.stop_if_interrupted()  # a Ctrl-C while the run was starting
                while self.state.step < self.total_steps and not self.state.stop_reason:
                    self.run_epoch()
                if not self.state.history or self.state.history[-1]["step"] != self.state.step:
                    self.evaluate()  # the run ended between two evaluation points
                self.save_checkpoint(again=False)  # a crash while results are written loses nothing
            self.restore_best()
            self.seconds = time.perf_counter() - self.started  # the listeners' last writes are not training
            self.notify("on_end", self.state.step)
        finally:
            self.notify("close")
        return self.state

    def run_epoch(self) -> None:
        s = self.state
        if s.order is None:
            s.order = torch.randperm(self.rows, generator=self.generator, device=self.generator.device)
            s.position = 0
        size = self.cfg.batch_size
        for start in range(s.position, self.rows, size):
            rows = s.order[start:start + size]
            s.position = start + size
            if len(rows) == 1 and self.model.cfg.batch_norm:
                continue  # batch norm cannot normalise a single row
            self.train_step(rows)
            if (s.step >= self.total_steps or s.stop_reason) and s.position < self.rows:
                return
        self.end_epoch()

    def train_step(self, rows: torch.Tensor) -> None:
        try:
            self.steps.step(rows, self.cfg.batch_size)
        except NonFiniteLoss as err:  # raised before the update: the weights are still good
            self.fail_non_finite(err.value)
        self.opt.after_step()
        self.state.step += 1
        self.notify("on_step", self.state.step)
        if self.eval_every and self.state.step % self.eval_every == 0:
            self.evaluate()
        every = self.cfg.checkpoint.every_steps
        if every and self.state.step % every == 0:
            self.save_checkpoint()
        self.stop_if_interrupted()

    def end_epoch(self) -> None:
        self.state.epoch += 1
        self.state.order = None
        if not self.eval_every:
            self.evaluate()
        self.opt.after_epoch()
        every = self.cfg.checkpoint.every_epochs
        if every and self.state.epoch % every == 0 and self.state.step < self.total_steps:
            if time.perf_counter() - self.last_save >= self.cfg.checkpoint.spacing_seconds():
                self.save_checkpoint()

    def stop_if_interrupted(self) -> None:
        """After a Ctrl-C or SIGTERM: save where the loop is (if not saved at this step) and stop."""
        if self.interrupt.signal_name:
            self.save_checkpoint(again=False)
            raise TrainingInterrupted(self.interrupt.signal_name, self.state.step,
                                      self.checkpoints is not None)

    # ---------------------------------------------------------------- evaluation

    def evaluate(self) -> None:
        s = self.state
        epoch = s.epoch if not self.eval_every else s.step / self.steps_per_epoch
        record = {"step": s.step, "epoch": round(epoch, 4), **self.steps.train_figures()}
        if not math.isfinite(record["train_loss"]):
            self.fail_non_finite(record["train_loss"])
        if self.validation is not None:
            figures = score(self.model, self.steps.prep, self.steps.loss_fn, self.steps.task,
                            self.validation)
            record.update({f"val_{k}": v for k, v in figures.items()})
        record["lr"] = self.opt.lr
        record["seconds"] = round(time.perf_counter() - self.started, 3)
        s.history.append(record)
        self.steps.running.reset()
        self.opt.after_evaluation(record)
        if self.early.update(record, self.model) and self.checkpoints is not None:
            self.checkpoints.save_best(self, record)
        s.stop_reason = s.stop_reason or self.early.stop_reason()
        self.notify("on_evaluation", record)

    def restore_best(self) -> None:
        restored = self.early.restore_best(self.model, self.state.step)
        self.state.stop_reason = "; ".join(filter(None, [self.state.stop_reason, restored]))

    def fail_non_finite(self, value: float) -> None:
        s = self.state
        kept = (f" The last good checkpoint (step {s.last_checkpoint_step}) is kept in "
                f"{self.checkpoints.folder.folder}." if s.last_checkpoint_step is not None else "")
        raise DensekitError(
            f"The training loss became {value} at step {s.step + 1} (epoch {s.epoch + 1}). "
            f"Training stopped.{kept} This usually helps: a lower learning rate (--lr), gradient "
            "clipping (train.clip_norm: 1.0), or inputs on a common scale.")

    # ---------------------------------------------------------------- parts

    def save_checkpoint(self, again: bool = True) -> None:
        """again=False: not when a checkpoint was already saved at this step."""
        if self.checkpoints is None:
            return
        if again or self.state.last_checkpoint_step != self.state.step:
            self.checkpoints.save_last(self)
            self.last_save = time.perf_counter()

    def notify(self, hook: str, *args) -> None:
        for listener in self.listeners:
            getattr(listener, hook)(*args)


def total_steps(cfg: TrainConfig, rows: int) -> int:
    return cfg.steps or cfg.epochs * math.ceil(rows / cfg.batch_size)


def expected_evaluations(cfg: TrainConfig, rows: int) -> int:
    steps = total_steps(cfg, rows)
    every = eval_interval(cfg, steps)
    return math.ceil(steps / (every or math.ceil(rows / cfg.batch_size)))


def eval_interval(cfg: TrainConfig, total_steps: int) -> Optional[int]:
    """Steps between evaluations, or None to evaluate at the end of every epoch."""
    if cfg.eval_every:
        return cfg.eval_every
    if cfg.periods:
        return max(1, total_steps // cfg.periods)
    return None
