"""Micro-shards: every batch cut into the same K parts whatever the number of processes, each
part's gradient computed on its own, and the K gradients summed in one fixed order.

That is what makes training exact across world sizes: with K = 4, one process computing all
four parts, two computing two each, and four computing one each do the same floating-point
operations in the same order, so they end with the same weights, bit for bit (on CPU, with
one thread per process). Each part draws its dropout masks from a seed of its own, taken from
the global generator once per step, so the masks do not depend on which process holds it.
"""

from __future__ import annotations

import time

import torch

from densekit.training.steps import NonFiniteLoss, StepRunner


def shard_bounds(rows: int, shards: int) -> list[tuple[int, int]]:
    """K contiguous parts of a batch, sizes differing by at most one (some may be empty)."""
    base, extra = divmod(rows, shards)
    bounds, start = [], 0
    for k in range(shards):
        end = start + base + (1 if k < extra else 0)
        bounds.append((start, end))
        start = end
    return bounds


class ShardedStepRunner(StepRunner):
    """StepRunner.kernels over micro-shards; `strategy.exchange` brings every shard's
    gradient (and loss, correct count and stop flag) to every process."""

    def __init__(self, *args, shards: int, strategy, stop_requested, **kwargs):
        super().__init__(*args, **kwargs)
        self.shards, self.strategy = shards, strategy
        self.stop_requested = stop_requested   # () -> bool: a Ctrl-C or SIGTERM here
        self.agreed_stop = False               # some process was asked to stop
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.use_graphs = False                # a graph would record one process's shards only

    @property
    def kind(self) -> str:
        return f"{super().kind}, {self.shards} micro-shards"

    def kernels(self, rows: torch.Tensor) -> None:
        x = self.prep.batch(self.train.x.index_select(0, rows))  # (batch, features)
        y = self.train.y.index_select(0, rows)
        bounds = shard_bounds(len(rows), self.shards)
        step_seed = int(torch.randint(0, 2**62, (1,)))  # the same draw in every process
        saved = torch.get_rng_state()
        local = [self.shard_vector(x[a:b], y[a:b], step_seed + k, len(rows))
                 for k, (a, b) in enumerate(bounds) if k in self.strategy.my_shards(self.shards)]
        torch.set_rng_state(saved)
        started = time.perf_counter()
        every = self.strategy.exchange(torch.stack(local), self.shards)  # (shards, size)
        self.exchange_seconds += time.perf_counter() - started
        total = every[0].clone()
        for vector in every[1:]:        # one fixed order, whatever the number of processes
            total += vector
        self.apply(total)

    def shard_vector(self, x: torch.Tensor, y: torch.Tensor, seed: int, batch: int) -> torch.Tensor:
        """[gradient × share of the batch, loss × rows, correct, stop flag] of one shard."""
        size = sum(p.numel() for p in self.params) + 3
        if len(x) == 0:
            return torch.zeros(size)
        torch.manual_seed(seed)
        if self.fast is not None:
            loss, out = self.fast.forward_backward(x, y)
        else:
            loss, out = self.autograd_backward(x, y)
        share = len(x) / batch
        grads = [p.grad.reshape(-1) * share for p in self.params]
        correct = self.task.count_correct(out.detach(), y)
        figures = torch.tensor([float(loss.detach()) * len(x),
                                float(correct) if correct is not None else 0.0,
                                1.0 if self.stop_requested() else 0.0])
        return torch.cat([*grads, figures])

    def apply(self, total: torch.Tensor) -> None:
        loss, correct, stop = total[-3:].tolist()
        if not torch.isfinite(total[-3]):
            raise NonFiniteLoss(loss)   # every process sees it at the same step
        self.agreed_stop = self.agreed_stop or stop > 0
        offset = 0
        for p in self.params:
            summed = total[offset:offset + p.numel()].view_as(p)
            if p.grad is None:
                p.grad = summed.clone()
            else:
                p.grad.copy_(summed)   # the fast path keeps writing into these very buffers
            offset += p.numel()
        if self.opt.clip:
            self.opt.clip()
        self.opt.step()
        self.running.loss.add_(loss)
        self.running.correct.add_(int(correct))


class AgreedInterrupt:
    """What the loop reads as "interrupted" when processes train together: a stop that every
    process has agreed on at the same step (through the shard exchange), never one process's
    own signal, which arrives at a different moment in each."""

    def __init__(self, flag, runner: ShardedStepRunner):
        self.flag, self.runner = flag, runner

    @property
    def signal_name(self):
        if self.runner.agreed_stop:
            return self.flag.signal_name or "a signal to another training process"
        return None

    def __enter__(self):
        self.flag.__enter__()
        return self

    def __exit__(self, *exc):
        return self.flag.__exit__(*exc)
