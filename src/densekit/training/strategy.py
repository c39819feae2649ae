"""Where training runs. The loop asks its strategy where tensors live and whether this process
writes files; a multi-process strategy (one process per device or core, gradients reduced
between them) fits behind the same calls without touching the loop."""

from __future__ import annotations

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

    @property
    def writes_files(self) -> bool:
        """Only one process writes the run directory."""
        return True

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
