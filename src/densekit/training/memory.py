"""Refuse a network that cannot fit in memory before building it.

`--hidden 1000000000` would otherwise allocate until the kernel kills the process (after
minutes of swapping, and taking other programs with it). The estimate is arithmetic on the
layer table: nothing is allocated to make it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import torch

from densekit.errors import DensekitError
from densekit.nn.model import LayerRow
from densekit.training.evaluation import CHUNK

FLOAT_BYTES = 4
# Per parameter: the weight, its gradient and an optimizer's state (Adam's two moments; the
# others keep fewer, so this is the upper bound).
COPIES = 4
# Per unit and row in a training batch: the output, its gradient, a dropout mask.
ACTIVATION_COPIES = 3


def training_bytes(rows: list[LayerRow], batch_size: int, eval_rows: int) -> int:
    params = sum(r.params for r in rows)
    widths = [r.shape[-1] for r in rows if r.kind == "Dense"]
    training = batch_size * sum(widths) * FLOAT_BYTES * ACTIVATION_COPIES
    evaluation = min(eval_rows, CHUNK) * max(widths, default=0) * FLOAT_BYTES * 2  # in and out
    return params * FLOAT_BYTES * COPIES + max(training, evaluation)


def check_memory(rows: list[LayerRow], batch_size: int, eval_rows: int,
                 device: torch.device) -> None:
    """Refuse with the figures when the estimate exceeds the memory available now."""
    needed = training_bytes(rows, batch_size, eval_rows)
    available = available_bytes(device)
    if available is None or needed <= available:
        return
    params = sum(r.params for r in rows)
    where = "the GPU has" if device.type == "cuda" else "this machine has"
    raise DensekitError(
        f"This network needs about {gb(needed)} of memory to train ({params:,} parameters, each "
        f"with its gradient and optimizer state, plus activations for batches of {batch_size} "
        f"rows), and {where} {gb(available)} available. Use fewer or narrower hidden layers "
        "(--hidden) or a smaller --batch-size.")


def gb(n: int) -> str:
    return f"{n / 1e9:,.1f} GB"


def available_bytes(device: torch.device) -> Optional[int]:
    """Memory a new allocation can use, or None when it cannot be told."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type != "cpu":
        return None
    machine = mem_available()
    if machine is None:
        machine = sysconf_available()  # free pages only: lower, but other systems have no better
    found = [n for n in (machine, cgroup_room()) if n is not None]
    return min(found) if found else None


def mem_available() -> Optional[int]:
    """Linux's own estimate (free memory plus what the page cache would give back)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def cgroup_room() -> Optional[int]:
    """A container's limit (cgroup v2) minus what it uses: lower than the machine's, often."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(0, int(limit) - used)


def sysconf_available() -> Optional[int]:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
