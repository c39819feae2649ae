"""TensorBoard event files, written with TensorBoard's own writer.

Scalars (losses, metrics, learning rate) at every evaluation; weight histograms and the
first-layer weight images at most 11 times per run, so the files stay small whatever the length
of the run (one tutorial's event files filled a disk).
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Callable, Optional

import torch

SNAPSHOTS = 10  # weight histograms/images: about this many, plus the final state


class TensorBoardLog:
    def __init__(self, folder: Path, model: torch.nn.Module, expected_evaluations: int,
                 image_shape: Optional[tuple] = None, purge_step: Optional[int] = None,
                 warn: Callable[[str], None] = print):
        from torch.utils.tensorboard import SummaryWriter  # imported only when logging is on

        self.model, self.image_shape = model, image_shape
        self.every = max(1, math.ceil(expected_evaluations / SNAPSHOTS))
        self.evaluations = 0
        self.last_snapshot: Optional[int] = None
        self.broken = False
        self.warn = warn
        quiet_writer_threads()
        self.writer = None
        # purge_step: after a resume, events logged past the checkpoint are dropped, not doubled.
        self.safely(self.open, SummaryWriter, folder, purge_step)

    def open(self, writer_class, folder: Path, purge_step: Optional[int]) -> None:
        self.writer = writer_class(str(folder), purge_step=purge_step)

    def safely(self, action: Callable[..., None], *args) -> None:
        """Event files are a convenience: a write that fails (a full disk, say) stops them with a
        warning, and training, history.jsonl and checkpoints carry on."""
        if self.broken:
            return
        try:
            action(*args)
        except OSError as err:
            self.broken = True
            self.warn(f"warning: TensorBoard logging stopped ({err.strerror or err}); "
                      "history.jsonl and the checkpoints are unaffected.")

    def log(self, record: dict) -> None:
        self.safely(self.write_record, record)

    def write_record(self, record: dict) -> None:
        step = record["step"]
        for key, value in record.items():
            if key not in ("step", "epoch", "seconds") and isinstance(value, (int, float)):
                self.writer.add_scalar(tag(key), value, step)
        self.evaluations += 1
        if self.evaluations % self.every == 0:
            self.snapshot(step)

    def snapshot(self, step: int) -> None:
        for name, tensor in self.model.state_dict().items():
            if tensor.is_floating_point():
                self.writer.add_histogram(f"weights/{name}", tensor.detach().cpu(), step)
        first = self.model.dense_layers()[0]
        if self.image_shape and first.in_features == math.prod(self.image_shape[:2]):
            weight = first.weight.reshape(-1, first.in_features)  # every member's units
            self.writer.add_images("first_layer_weights", unit_images(weight, self.image_shape),
                                   step, dataformats="NCHW")
        self.last_snapshot = step

    def final_snapshot(self, final_step: int) -> None:
        if self.last_snapshot != final_step:
            self.safely(self.snapshot, final_step)

    def close(self) -> None:
        if self.writer is not None:
            self.safely(self.writer.close)


def quiet_writer_threads() -> None:
    """TensorBoard writes from a thread of its own; a write that fails there (a full disk) is
    printed by Python as a thread traceback, and raised again at the next log call, where
    `safely` turns it into one warning. The traceback before it is only noise: drop it, and
    leave every other thread's exceptions to the hook that was there."""
    if getattr(threading.excepthook, "densekit", False):
        return
    previous = threading.excepthook

    def hook(args) -> None:
        if not (isinstance(args.exc_value, OSError) and is_writer_thread(args.thread)):
            previous(args)
    hook.densekit = True
    threading.excepthook = hook


def is_writer_thread(thread: Optional[threading.Thread]) -> bool:
    return type(thread).__module__.startswith("tensorboard.summary.writer")


def tag(key: str) -> str:
    """train_loss -> loss/train, val_accuracy -> accuracy/validation: one chart per metric."""
    for prefix, split in (("train_", "train"), ("val_", "validation")):
        if key.startswith(prefix):
            return f"{key[len(prefix):]}/{split}"
    return key


def unit_images(weight: torch.Tensor, image_shape: tuple, units: int = 16) -> torch.Tensor:
    """First units' incoming weights as (n, 1, h, w) images scaled to [0, 1]."""
    h, w = image_shape[:2]
    images = weight.detach().cpu()[:units].reshape(-1, 1, h, w)
    low = images.amin(dim=(1, 2, 3), keepdim=True)
    high = images.amax(dim=(1, 2, 3), keepdim=True)
    return (images - low) / (high - low).clamp_min(1e-12)
