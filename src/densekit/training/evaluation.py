"""Forward passes over whole splits in large chunks, without gradients."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from densekit.data.preprocess import Preprocessor
from densekit.errors import DensekitError
from densekit.tasks import LossFn, Task
from densekit.training import many_classes

CHUNK = 8192  # rows per forward pass: large enough to amortise overhead, small enough for memory


@dataclass
class Resident:
    """A split held in memory (on the training device) as tensors."""

    x: torch.Tensor  # (rows, features) uint8 or float32
    y: torch.Tensor  # (rows,) int64 class indices, or (rows, k) float32

    def __len__(self) -> int:
        return len(self.x)


@torch.inference_mode()
def outputs(model: torch.nn.Module, prep: Preprocessor, x: torch.Tensor) -> torch.Tensor:
    was_training = model.training
    model.eval()
    out = torch.cat([model(prep.batch(x[i:i + CHUNK])) for i in range(0, len(x), CHUNK)])
    model.train(was_training)
    return out  # (rows, outputs) logits


def score(model, prep: Preprocessor, loss_fn: LossFn, task: Task, data: Resident,
          full: bool = False) -> dict:
    """Loss and metrics of one split; full=True adds per-class figures and the confusion matrix."""
    if task.scores_in_chunks:   # very many classes: never a rows × classes matrix
        return many_classes.score(model, prep, task, data.y, data.x, full)
    out = outputs(model, prep, data.x)
    if not torch.isfinite(out).all():
        raise DensekitError(
            "The network's outputs became NaN or infinite; training has diverged. This usually "
            "helps: a lower learning rate (--lr), gradient clipping (train.clip_norm: 1.0), or "
            "inputs on a common scale.")
    loss = float(loss_fn(out, data.y))
    scores = task.probabilities(out).cpu().numpy()
    y = task.to_label_units(data.y.cpu().numpy())
    metrics = task.full_metrics(y, scores) if full else task.quick_metrics(y, scores)
    return {"loss": loss, **metrics}


def scores_of(model, prep: Preprocessor, task: Task, x: torch.Tensor) -> np.ndarray:
    """What the task reads predictions from: probabilities or values (rows, outputs), or
    compact top-k scores where there are too many classes for that."""
    if task.scores_in_chunks:
        return many_classes.scores(model, prep, task, x)
    return task.probabilities(outputs(model, prep, x)).cpu().numpy()


def to_resident(x: np.ndarray, y: np.ndarray, device: torch.device) -> Resident:
    return Resident(as_tensor(x).to(device), as_tensor(y).to(device))


def as_tensor(a: np.ndarray) -> torch.Tensor:
    a = np.ascontiguousarray(a)
    # Arrays read straight from a file buffer are read-only; torch wants to own writable memory.
    return torch.from_numpy(a if a.flags.writeable else a.copy())
