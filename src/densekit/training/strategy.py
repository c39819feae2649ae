"""Where training runs. The loop asks its strategy where tensors live and whether this process
writes files; a multi-process strategy (one process per device or core, gradients reduced
between them) fits behind the same calls without touching the loop."""

from __future__ import annotations

import datetime
import os
from contextlib import contextmanager
from typing import Iterator, Optional

import torch

from densekit.errors import DensekitError


class SingleProcess:
    """One process on one device: the CPU, or a GPU holding the whole data set."""

    def __init__(self, device: torch.device):
        self.device = device

    @classmethod
    def from_setting(cls, name: str) -> "SingleProcess":
        """train.device: auto | cpu | cuda."""
        if name == "auto":
            return cls(torch.device("cuda" if torch.cuda.is_available() else "cpu"))
        if name == "cuda" and not torch.cuda.is_available():
            raise DensekitError("--device cuda was asked for, but PyTorch sees no CUDA device "
                                "here. Use --device auto (or cpu), or install a CUDA build of "
                                "PyTorch.")
        return cls(torch.device(name))

    rank, world_size = 0, 1

    def my_shards(self, shards: int) -> range:
        """The micro-shards this process computes: a contiguous block, in rank order."""
        per = shards // self.world_size
        return range(self.rank * per, (self.rank + 1) * per)

    def check_shards(self, shards: int) -> None:
        """Any number of micro-shards suits one process."""

    def exchange(self, local: torch.Tensor, shards: int) -> list[torch.Tensor]:
        """Every shard's vector, in shard order. One process holds them all already."""
        return list(local)

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> "SingleProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def generator(self, seed: int) -> torch.Generator:
        """The generator that orders each epoch's rows (the same in every process)."""
        return torch.Generator(device=self.device).manual_seed(seed)


# Measured (benchmarks/threads.py, RESULTS.md): a second thread speeds up the tutorial-sized
# networks little on a quiet machine and slows them down many times when another program
# wants the core, so one thread is the default; train.threads asks for more.
DEFAULT_THREADS = 1


@contextmanager
def cpu_threads(setting: Optional[int]) -> Iterator[int]:
    """PyTorch's intra-op threads for the duration of a training session, then the caller's
    count again (a library must not change its host program's settings for good)."""
    before = torch.get_num_threads()
    torch.set_num_threads(setting or DEFAULT_THREADS)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


class Processes(SingleProcess):
    """One of several processes started by torchrun (RANK, WORLD_SIZE, MASTER_ADDR… in the
    environment), on gloo. Every process holds the whole model and data; each computes its
    block of every batch's micro-shards, and all_gather brings all shards to all of them."""

    def __init__(self, device: torch.device):
        import torch.distributed as dist

        super().__init__(device)
        if not dist.is_initialized():
            dist.init_process_group("gloo", timeout=GLOO_TIMEOUT)
        self.dist = dist
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()

    def check_shards(self, shards: int) -> None:
        if shards % self.world_size:
            raise DensekitError(
                f"train.micro_shards is {shards}, which {self.world_size} processes cannot share "
                f"equally. Use a number of processes that divides {shards}, or set "
                "train.micro_shards to a multiple of every process count you will use (e.g. 4).")

    def exchange(self, local: torch.Tensor, shards: int) -> list[torch.Tensor]:
        blocks = [torch.empty_like(local) for _ in range(self.world_size)]
        self.dist.all_gather(blocks, local.contiguous())
        return list(torch.cat(blocks))   # rank order is shard order

    def close(self) -> None:
        # Left to the interpreter's exit, gloo's threads were sometimes still joinable when
        # their objects were destroyed: "terminate called without an active exception", an
        # abort, and torchrun reporting a run that had stopped cleanly as failed.
        self.dist.destroy_process_group()


# A process that died leaves the others waiting in all_gather; torchrun ends them, and this
# bounds the wait if it cannot.
GLOO_TIMEOUT = datetime.timedelta(seconds=120)


def is_launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1
