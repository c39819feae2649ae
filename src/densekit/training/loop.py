"""The training loop: small named steps over data resident in memory.

Batches are slices of a seeded permutation of row indices: no DataLoader and no per-sample
Python in the hot path. Evaluation happens every epoch, or every N steps ("periods").
Checkpoints capture the loop exactly (see checkpoint.py), so a resumed run ends with the
same weights, bit for bit, as one left alone.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

import torch

from densekit.training.checkpoint import Checkpoint, CheckpointFolder, from_json_tree, to_json_tree
from densekit.config import TrainConfig
from densekit.errors import DensekitError
from densekit.training.evaluation import Resident, score
from densekit.nn.fastpath import FastDenseStep
from densekit.training.graphs import GraphedStep, warm_up
from densekit.training.interrupt import InterruptFlag, TrainingInterrupted
from densekit.tasks.losses import LossFn
from densekit.tasks.metrics import lower_is_better
from densekit.nn.model import DenseNet
from densekit.training.optim import DirectFusedAdam, current_lr, gradient_clipper, make_optimizer, make_scheduler
from densekit.preprocess import Preprocessor
from densekit.training.progress import Progress
from densekit.training.rng import capture_rng, restore_rng
from densekit.tasks.kinds import Targets


@dataclass
class LoopState:
    """Where the loop is; everything else is derived from the configuration."""

    epoch: int = 0                       # completed epochs
    step: int = 0                        # completed optimizer steps
    best: Optional[float] = None         # best monitored value so far
    best_step: int = 0
    evals_since_best: int = 0
    stop_reason: str = ""
    last_checkpoint_step: Optional[int] = None
    history: list[dict] = field(default_factory=list)


@dataclass
class Running:
    """Training loss and correct predictions summed since the last evaluation (as tensors,
    so the hot path never waits on a number)."""

    loss: torch.Tensor
    correct: torch.Tensor
    rows: int = 0


class Trainer:
    def __init__(self, model: DenseNet, loss_fn: LossFn, targets: Targets, prep: Preprocessor,
                 cfg: TrainConfig, train: Resident, validation: Optional[Resident],
                 on_eval: Callable[[dict], None] = lambda record: None, quiet: bool = False,
                 checkpoints: Optional[CheckpointFolder] = None, identity: Optional[dict] = None,
                 fast: Optional[FastDenseStep] = None, interrupt: Optional[InterruptFlag] = None):
        self.model, self.loss_fn, self.targets, self.prep, self.cfg = model, loss_fn, targets, prep, cfg
        self.train_data, self.validation = train, validation
        self.on_eval, self.quiet = on_eval, quiet
        self.snapshot_steps = set(cfg.weight_snapshots)
        self.on_snapshot: Callable[[int], None] = lambda step: None
        self.checkpoints, self.identity = checkpoints, identity or {}
        self.fast = fast  # hand-written forward/backward for plain dense stacks (fastpath.py)
        self.device = train.x.device
        self.steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
        self.total_steps = cfg.steps or cfg.epochs * self.steps_per_epoch
        self.eval_every = eval_interval(cfg, self.total_steps)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = make_optimizer(self.params, cfg)
        self.adam = DirectFusedAdam(self.optimizer) if DirectFusedAdam.supports(self.optimizer) else None
        self.step_optimizer = self.adam.step if self.adam else self.optimizer.step
        self.scheduler, self.schedule_on = make_scheduler(self.optimizer, cfg, self.total_steps)
        self.clip = gradient_clipper(self.params, cfg.clip_norm)
        # On a GPU, plain stacks with Adam replay each step as one CUDA graph (graphs.py).
        self.use_graphs = (cfg.cuda_graphs and self.device.type == "cuda" and fast is not None
                           and self.adam is not None and self.clip is None)
        self.graph: Optional[GraphedStep] = None   # recorded at the first full batch
        if self.use_graphs:
            self.adam.use_device_lr()
        self.generator = torch.Generator(device=self.device).manual_seed(cfg.seed)
        self.monitor = cfg.early_stopping.monitor
        self.best_weights: Optional[dict] = None
        self.state = LoopState()
        self.order: Optional[torch.Tensor] = None   # this epoch's sample order, once drawn
        self.position = 0                           # next row of `order` to train on
        self.elapsed_before = 0.0                   # training seconds before a resume
        self.started = time.perf_counter()
        self.seconds = 0.0                          # training seconds, set when fit() ends
        self.running = self.fresh_running()
        self.interrupt = interrupt or InterruptFlag()

    def expected_evaluations(self) -> int:
        if self.eval_every:
            return math.ceil(self.total_steps / self.eval_every)
        return math.ceil(self.total_steps / self.steps_per_epoch)

    # ---------------------------------------------------------------- the loop

    def fit(self) -> LoopState:
        self.started = time.perf_counter() - self.elapsed_before
        self.model.train()
        with Progress(self.total_steps, self.state.step, quiet=self.quiet) as progress, self.interrupt:
            self.progress = progress
            self.stop_if_interrupted()  # a Ctrl-C while the run was starting
            while self.state.step < self.total_steps and not self.state.stop_reason:
                self.run_epoch()
            if not self.state.history or self.state.history[-1]["step"] != self.state.step:
                self.evaluate()  # the run ended between two evaluation points
        self.finish()
        self.seconds = time.perf_counter() - self.started
        return self.state

    def run_epoch(self) -> None:
        if self.order is None:
            self.order = torch.randperm(len(self.train_data), generator=self.generator, device=self.device)
            self.position = 0
        size, n = self.cfg.batch_size, len(self.order)
        for start in range(self.position, n, size):
            rows = self.order[start:start + size]
            self.position = start + size
            if len(rows) == 1 and self.model.cfg.batch_norm:
                continue  # batch norm cannot normalise a single row
            self.train_step(rows)
            if self.eval_every and self.state.step % self.eval_every == 0:
                self.evaluate()
            self.after_step()
            if (self.state.step >= self.total_steps or self.state.stop_reason) and self.position < n:
                return
        self.end_epoch()

    def train_step(self, rows: torch.Tensor) -> None:
        if self.use_graphs:
            self.adam.refresh_lr()
        if self.graph is not None and self.graph.fits(rows):
            self.graph.replay(rows)
        elif self.use_graphs and self.graph is None and len(rows) == self.cfg.batch_size:
            warm_up(lambda: self.step_kernels(rows))       # a real step, then the recording
            self.graph = GraphedStep(self.step_kernels, rows)
        else:
            self.step_kernels(rows)
        if self.model.cfg.max_norm:
            self.model.apply_max_norm()
        if self.schedule_on == "step":
            self.scheduler.step()
        self.state.step += 1
        self.running.rows += len(rows)
        self.progress.advance()

    def step_kind(self) -> str:
        """How the steps ran, for run.json."""
        if self.graph is not None:
            return "cuda graph"
        return "fast path" if self.fast is not None else "autograd"

    def step_kernels(self, rows: torch.Tensor) -> None:
        """Gather the batch, forward, backward, update, add to the running sums. On a GPU this
        is device work only, so that a CUDA graph can record it."""
        x = self.prep.batch(self.train_data.x.index_select(0, rows))  # (batch, features) float32
        y = self.train_data.y.index_select(0, rows)   # (batch,) or (batch, outputs)
        if self.fast is not None:
            loss, out = self.fast.forward_backward(x, y)
        else:
            loss, out = self.autograd_backward(x, y)
        if self.device.type == "cpu" and not math.isfinite(loss.item()):
            self.fail_non_finite(loss.item())           # before the update: weights stay good
        if self.clip:
            self.clip()
        self.step_optimizer()
        self.accumulate(loss.detach(), out.detach(), y)

    def autograd_backward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(x)                            # (batch, outputs)
        loss = self.loss_fn(out, y)
        self.optimizer.zero_grad(set_to_none=True)
        self.with_penalties(loss).backward()
        return loss, out

    def with_penalties(self, loss: torch.Tensor) -> torch.Tensor:
        if self.model.has_weight_penalty():
            loss = loss + self.model.weight_penalty()
        if self.model.activity_penalty is not None:
            loss = loss + self.model.activity_penalty
        return loss

    def accumulate(self, loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None:
        r = self.running
        r.loss.add_(loss, alpha=len(y))
        if self.targets.task == "multiclass" and not self.targets.soft_labels:
            r.correct.add_(torch.eq(out.argmax(dim=1), y).sum())
        elif self.targets.task == "binary":
            r.correct.add_(torch.eq(out[:, 0] >= 0, y >= 0.5).sum())

    def after_step(self) -> None:
        if self.state.step in self.snapshot_steps:
            self.on_snapshot(self.state.step)
        every = self.cfg.checkpoint.every_steps
        if every and self.state.step % every == 0:
            self.save_checkpoint()
        self.stop_if_interrupted()

    def stop_if_interrupted(self) -> None:
        """After a Ctrl-C or SIGTERM: save where the loop is (if not saved at this step) and stop."""
        if self.interrupt.signal_name:
            if self.state.last_checkpoint_step != self.state.step:
                self.save_checkpoint()
            raise TrainingInterrupted(self.interrupt.signal_name, self.state.step,
                                      self.checkpoints is not None)

    def end_epoch(self) -> None:
        self.state.epoch += 1
        self.order = None
        if not self.eval_every:
            self.evaluate()
        if self.schedule_on == "epoch":
            self.scheduler.step()
        every = self.cfg.checkpoint.every_epochs
        if every and self.state.epoch % every == 0 and self.state.step < self.total_steps:
            self.save_checkpoint()

    # ---------------------------------------------------------------- evaluation

    def evaluate(self) -> None:
        epoch = self.state.epoch if not self.eval_every else self.state.step / self.steps_per_epoch
        record = {"step": self.state.step, "epoch": round(epoch, 4), **self.train_figures()}
        if not math.isfinite(record["train_loss"]):
            self.fail_non_finite(record["train_loss"])
        if self.validation is not None:
            figures = score(self.model, self.prep, self.loss_fn, self.targets, self.validation)
            record.update({f"val_{k}": v for k, v in figures.items()})
        record["lr"] = current_lr(self.optimizer)
        record["seconds"] = round(time.perf_counter() - self.started, 3)
        self.state.history.append(record)
        self.reset_running()
        self.after_evaluation(record)
        self.on_eval(record)
        self.progress.report(record)

    def train_figures(self) -> dict:
        r = self.running
        figures = {"train_loss": float(r.loss) / max(r.rows, 1)}
        if self.targets.task in ("binary", "multiclass") and not self.targets.soft_labels:
            figures["train_accuracy"] = float(r.correct) / max(r.rows, 1)
        return figures

    def fail_non_finite(self, value: float) -> None:
        kept = (f" The last good checkpoint (step {self.state.last_checkpoint_step}) is kept in "
                f"{self.checkpoints.folder}." if self.state.last_checkpoint_step is not None else "")
        raise DensekitError(
            f"The training loss became {value} at step {self.state.step + 1} (epoch "
            f"{self.state.epoch + 1}). Training stopped.{kept} This usually helps: a lower "
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
            if self.checkpoints is not None:
                self.checkpoints.save_best(self.model_tensors(), {"step": record["step"],
                                                                  self.monitor: value})
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

    def reset_running(self) -> None:
        """Zero the sums in place: a recorded CUDA graph keeps adding into these very tensors."""
        self.running.loss.zero_()
        self.running.correct.zero_()
        self.running.rows = 0

    # ---------------------------------------------------------------- checkpoints

    def model_tensors(self) -> dict[str, torch.Tensor]:
        return {f"model.{k}": v.contiguous() for k, v in self.model.state_dict().items()}

    def save_checkpoint(self) -> None:
        if self.checkpoints is None:
            return
        if not all(torch.isfinite(p).all() for p in self.params):
            self.fail_non_finite(float("nan"))
        self.state.last_checkpoint_step = self.state.step
        tensors, meta = self.model_tensors(), self.loop_meta()
        if self.best_weights is not None:
            tensors.update({f"best.{k}": v for k, v in self.best_weights.items()})
        if self.order is not None:
            tensors["order"] = self.order
        tensors["running.loss"], tensors["running.correct"] = self.running.loss, self.running.correct
        meta["optimizer"] = to_json_tree(self.optimizer.state_dict(), "optimizer", tensors)
        meta["scheduler"] = to_json_tree(self.scheduler.state_dict(), "scheduler", tensors) if self.scheduler else None
        meta["rng"] = capture_rng(self.generator, tensors)
        self.checkpoints.save_last({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, meta)

    def loop_meta(self) -> dict[str, Any]:
        return {"loop": asdict(self.state), "position": self.position, "rows": self.running.rows,
                "elapsed": time.perf_counter() - self.started, **self.identity}

    def restore(self, checkpoint: Checkpoint) -> None:
        """Put the loop back exactly where the checkpoint was taken."""
        t, meta = {k: v.to(self.device) for k, v in checkpoint.tensors.items()}, checkpoint.meta
        self.model.load_state_dict(strip(t, "model."))
        best = strip(t, "best.")
        self.best_weights = best or None
        self.optimizer.load_state_dict(from_json_tree(meta["optimizer"], t))
        if self.scheduler is not None and meta["scheduler"] is not None:
            self.scheduler.load_state_dict(from_json_tree(meta["scheduler"], t))
        restore_rng(meta["rng"], self.generator, checkpoint.tensors)
        self.state = LoopState(**meta["loop"])
        self.order = t.get("order")
        self.position = meta["position"]
        self.running.loss.copy_(t["running.loss"])
        self.running.correct.copy_(t["running.correct"])
        self.running.rows = meta["rows"]
        self.graph = None  # the optimizer's state tensors are new: record the step again
        self.elapsed_before = meta["elapsed"]


def strip(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def eval_interval(cfg: TrainConfig, total_steps: int) -> Optional[int]:
    """Steps between evaluations, or None to evaluate at the end of every epoch."""
    if cfg.eval_every:
        return cfg.eval_every
    if cfg.periods:
        return max(1, total_steps // cfg.periods)
    return None
