"""The training loop: small named steps over data resident in memory.

Batches are slices of a seeded permutation of row indices: no DataLoader and no per-sample
Python in the hot path. Evaluation happens every epoch, or every N steps ("periods").
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import torch

from densekit.config import TrainConfig
from densekit.errors import DensekitError
from densekit.evaluation import Resident, score
from densekit.losses import LossFn
from densekit.metrics import lower_is_better
from densekit.model import DenseNet
from densekit.optim import current_lr, gradient_clipper, make_optimizer, make_scheduler
from densekit.preprocess import Preprocessor
from densekit.progress import Progress
from densekit.tasks import Targets


@dataclass
class LoopState:
    """Where the loop is; everything else is derived from the configuration."""

    epoch: int = 0                       # completed epochs
    step: int = 0                        # completed optimizer steps
    best: Optional[float] = None         # best monitored value so far
    best_step: int = 0
    evals_since_best: int = 0
    stop_reason: str = ""
    history: list[dict] = field(default_factory=list)


@dataclass
class Running:
    """Training loss and correct predictions summed since the last evaluation (as tensors,
    so the hot path never waits on a number)."""

    loss: torch.Tensor
    correct: torch.Tensor
    rows: int = 0
    batches: int = 0


class Trainer:
    def __init__(self, model: DenseNet, loss_fn: LossFn, targets: Targets, prep: Preprocessor,
                 cfg: TrainConfig, train: Resident, validation: Optional[Resident],
                 on_eval: Callable[[dict], None] = lambda record: None, quiet: bool = False):
        self.model, self.loss_fn, self.targets, self.prep, self.cfg = model, loss_fn, targets, prep, cfg
        self.train_data, self.validation = train, validation
        self.on_eval, self.quiet = on_eval, quiet
        self.device = train.x.device
        self.steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
        self.total_steps = cfg.steps or cfg.epochs * self.steps_per_epoch
        self.eval_every = eval_interval(cfg, self.total_steps)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = make_optimizer(self.params, cfg)
        self.scheduler, self.schedule_on = make_scheduler(self.optimizer, cfg, self.total_steps)
        self.clip = gradient_clipper(self.params, cfg.clip_norm)
        self.generator = torch.Generator(device=self.device).manual_seed(cfg.seed)
        self.monitor = cfg.early_stopping.monitor
        self.best_weights: Optional[dict] = None
        self.state = LoopState()
        self.started = time.perf_counter()
        self.running = self.fresh_running()

    # ---------------------------------------------------------------- the loop

    def fit(self) -> LoopState:
        self.model.train()
        with Progress(self.total_steps, self.steps_per_epoch, quiet=self.quiet) as progress:
            self.progress = progress
            while self.state.step < self.total_steps and not self.state.stop_reason:
                self.run_epoch()
            if not self.state.history or self.state.history[-1]["step"] != self.state.step:
                self.evaluate()  # the run ended between two evaluation points
        self.finish()
        return self.state

    def run_epoch(self) -> None:
        order = torch.randperm(len(self.train_data), generator=self.generator, device=self.device)
        for start in range(0, len(order), self.cfg.batch_size):
            rows = order[start:start + self.cfg.batch_size]
            if len(rows) == 1 and self.model.cfg.batch_norm:
                continue  # batch norm cannot normalise a single row
            self.train_step(rows)
            if self.eval_every and self.state.step % self.eval_every == 0:
                self.evaluate()
            last_batch = start + self.cfg.batch_size >= len(order)
            if (self.state.step >= self.total_steps or self.state.stop_reason) and not last_batch:
                return
        self.end_epoch()

    def train_step(self, rows: torch.Tensor) -> None:
        x = self.prep.batch(self.train_data.x[rows])   # (batch, features) float32
        y = self.train_data.y[rows]                    # (batch,) or (batch, outputs)
        out = self.model(x)                            # (batch, outputs)
        loss = self.loss_fn(out, y)
        total = self.with_penalties(loss)
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        if self.clip:
            self.clip()
        self.optimizer.step()
        if self.model.cfg.max_norm:
            self.model.apply_max_norm()
        if self.schedule_on == "step":
            self.scheduler.step()
        self.state.step += 1
        self.accumulate(loss.detach(), out.detach(), y)
        self.progress.advance()

    def with_penalties(self, loss: torch.Tensor) -> torch.Tensor:
        if self.model.has_weight_penalty():
            loss = loss + self.model.weight_penalty()
        if self.model.activity_penalty is not None:
            loss = loss + self.model.activity_penalty
        return loss

    def accumulate(self, loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None:
        r = self.running
        r.loss += loss * len(y)
        r.rows += len(y)
        r.batches += 1
        if self.targets.task == "multiclass" and not self.targets.soft_labels:
            r.correct += (out.argmax(dim=1) == y).sum()
        elif self.targets.task == "binary":
            r.correct += ((out[:, 0] >= 0) == (y >= 0.5)).sum()

    def end_epoch(self) -> None:
        self.state.epoch += 1
        if not self.eval_every:
            self.evaluate()
        if self.schedule_on == "epoch":
            self.scheduler.step()

    # ---------------------------------------------------------------- evaluation

    def evaluate(self) -> None:
        epoch = self.state.epoch if not self.eval_every else self.state.step / self.steps_per_epoch
        record = {"step": self.state.step, "epoch": round(epoch, 4), **self.train_figures()}
        self.check_finite(record)
        if self.validation is not None:
            figures = score(self.model, self.prep, self.loss_fn, self.targets, self.validation)
            record.update({f"val_{k}": v for k, v in figures.items()})
        record["lr"] = current_lr(self.optimizer)
        record["seconds"] = round(time.perf_counter() - self.started, 3)
        self.state.history.append(record)
        self.running = self.fresh_running()
        self.after_evaluation(record)
        self.on_eval(record)
        self.progress.report(record)

    def train_figures(self) -> dict:
        r = self.running
        figures = {"train_loss": float(r.loss) / max(r.rows, 1)}
        if self.targets.task in ("binary", "multiclass") and not self.targets.soft_labels:
            figures["train_accuracy"] = float(r.correct) / max(r.rows, 1)
        return figures

    def check_finite(self, record: dict) -> None:
        if not math.isfinite(record["train_loss"]):
            raise DensekitError(
                f"The training loss became {record['train_loss']} before step {record['step']} "
                f"(epoch {record['epoch']:.2f}). Training stopped. This usually helps: a lower "
                "learning rate (--lr), gradient clipping (train.clip_norm: 1.0), or inputs on a "
                "common scale.")

    def after_evaluation(self, record: dict) -> None:
        value = record.get(self.monitor)
        if self.schedule_on == "eval":
            self.scheduler.step(record.get("val_loss", record["train_loss"]))
        if value is None:
            return
        if self.improved(value):
            self.state.best, self.state.best_step, self.state.evals_since_best = value, record["step"], 0
            if self.cfg.early_stopping.patience and self.cfg.early_stopping.restore_best:
                self.best_weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        else:
            self.state.evals_since_best += 1
            patience = self.cfg.early_stopping.patience
            if patience and self.state.evals_since_best >= patience:
                self.state.stop_reason = (f"early stopping: {self.monitor} did not improve for "
                                          f"{patience} evaluations")

    def improved(self, value: float) -> bool:
        best, delta = self.state.best, self.cfg.early_stopping.min_delta
        if best is None:
            return True
        return value < best - delta if lower_is_better(self.monitor) else value > best + delta

    def finish(self) -> None:
        if self.best_weights is not None and self.state.best_step != self.state.step:
            self.model.load_state_dict(self.best_weights)
            self.state.stop_reason += f"; restored the weights of step {self.state.best_step}"

    def fresh_running(self) -> Running:
        zero = torch.zeros((), device=self.device)
        return Running(zero.clone(), zero.clone().long())


def eval_interval(cfg: TrainConfig, total_steps: int) -> Optional[int]:
    """Steps between evaluations, or None to evaluate at the end of every epoch."""
    if cfg.eval_every:
        return cfg.eval_every
    if cfg.periods:
        return max(1, total_steps // cfg.periods)
    return None
