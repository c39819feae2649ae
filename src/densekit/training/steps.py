"""One optimizer step on a batch of rows, by the fastest path that applies: a replayed CUDA
graph, the hand-written fast path (nn/fastpath.py), or autograd. The loop sees one call."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch

from densekit.data.preprocess import Preprocessor
from densekit.nn.fastpath import FastDenseStep
from densekit.nn.model import DenseNet
from densekit.tasks import LossFn, Task
from densekit.training.evaluation import Resident
from densekit.training.graphs import GraphedStep, warm_up
from densekit.training.optim import Optimization


class NonFiniteLoss(Exception):
    """The batch's loss is NaN or infinite; raised before it updates the weights."""

    def __init__(self, value: float):
        super().__init__(value)
        self.value = value


@dataclass
class Running:
    """Training loss and correct predictions summed since the last evaluation (as tensors,
    so the hot path never waits on a number)."""

    loss: torch.Tensor
    correct: torch.Tensor
    rows: int = 0

    @classmethod
    def zeros(cls, device: torch.device) -> "Running":
        zero = torch.zeros((), device=device)
        return cls(zero.clone(), zero.clone().long())

    def reset(self) -> None:
        """Zero the sums in place: a recorded CUDA graph keeps adding into these very tensors."""
        self.loss.zero_()
        self.correct.zero_()
        self.rows = 0


class StepRunner:
    """step(rows): gather the batch, forward, backward, update, add to the running sums."""

    exchange_seconds = 0.0   # time spent passing gradients between processes (shards.py)

    def __init__(self, model: DenseNet, loss_fn: LossFn, task: Task, prep: Preprocessor,
                 train: Resident, optimization: Optimization, fast: Optional[FastDenseStep],
                 use_graphs: bool):
        self.model, self.loss_fn, self.task, self.prep = model, loss_fn, task, prep
        self.train, self.opt, self.fast = train, optimization, fast
        self.device = train.x.device
        self.running = Running.zeros(self.device)
        # On a GPU, plain stacks with Adam replay each step as one CUDA graph (graphs.py).
        self.use_graphs = (use_graphs and self.device.type == "cuda" and fast is not None
                           and optimization.graphable())
        self.graph: Optional[GraphedStep] = None   # recorded at the first full batch
        if self.use_graphs:
            optimization.adam.use_device_lr()

    @property
    def kind(self) -> str:
        """How the steps ran, for run.json."""
        if self.graph is not None:
            return "cuda graph"
        return "fast path" if self.fast is not None else "autograd"

    def step(self, rows: torch.Tensor, full_batch: int) -> None:
        if self.use_graphs:
            self.opt.adam.refresh_lr()
        if self.graph is not None and self.graph.fits(rows):
            self.graph.replay(rows)
        elif self.use_graphs and self.graph is None and len(rows) == full_batch:
            warm_up(lambda: self.kernels(rows))       # a real step, then the recording
            self.graph = GraphedStep(self.kernels, rows)
        else:
            self.kernels(rows)
        if self.model.cfg.max_norm:
            self.model.apply_max_norm()
        self.running.rows += len(rows)

    def forget_graph(self) -> None:
        """After a restore the optimizer's state tensors are new: record the step again."""
        self.graph = None

    def kernels(self, rows: torch.Tensor) -> None:
        """The step itself. On a GPU this is device work only, so a CUDA graph can record it."""
        x = self.prep.batch(self.train.x.index_select(0, rows))  # (batch, features) float32
        y = self.train.y.index_select(0, rows)   # (batch,) or (batch, outputs)
        if self.fast is not None:
            loss, out = self.fast.forward_backward(x, y)
        else:
            loss, out = self.autograd_backward(x, y)
        if self.device.type == "cpu" and not math.isfinite(loss.item()):
            raise NonFiniteLoss(loss.item())
        if self.opt.clip:
            self.opt.clip()
        self.opt.step()
        self.accumulate(loss.detach(), out.detach(), y)

    def autograd_backward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(x)                            # (batch, outputs)
        loss = self.loss_fn(out, y)
        self.opt.optimizer.zero_grad(set_to_none=True)
        self.with_penalties(loss).backward()
        return loss, out

    def with_penalties(self, loss: torch.Tensor) -> torch.Tensor:
        if self.model.has_weight_penalty():
            loss = loss + self.model.weight_penalty()
        if self.model.activity_penalty is not None:
            loss = loss + self.model.activity_penalty
        return loss

    def accumulate(self, loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None:
        self.running.loss.add_(loss, alpha=len(y))
        correct = self.task.count_correct(out, y)
        if correct is not None:
            self.running.correct.add_(correct)

    def train_figures(self) -> dict:
        """The training loss (and accuracy where it has a meaning) since the last evaluation."""
        r = self.running
        figures = {"train_loss": float(r.loss) / max(r.rows, 1)}
        if self.task.single_label:
            figures["train_accuracy"] = float(r.correct) / max(r.rows, 1)
        return figures
