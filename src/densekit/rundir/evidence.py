"""What the report needs from the held-out data, saved at the end of training.

The run directory must be enough to draw the report later, so the test predictions (or the
validation ones when there is no test split) and a few example images are kept in
predictions.npz: plain numeric arrays, read back with allow_pickle=False.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Optional

import numpy as np

from densekit.training.evaluation import Resident, outputs
from densekit.tasks.losses import probabilities
from densekit.tasks.metrics import class_probabilities, predicted_classes, true_classes
from densekit.rundir.files import atomic_write

GALLERY = 24       # misclassified examples with the highest loss
FIRST = 20         # the first predictions beside the true labels (as the Kuzushiji homework)
FLOAT16_ABOVE = 2_000_000  # probability cells; beyond this, half precision keeps the file small


def save_predictions(run_path: Path, model, prepared) -> None:
    split, data = held_out(prepared)
    if data is None:
        return
    targets = prepared.targets
    scores = probabilities(targets, outputs(model, prepared.prep, data.x)).cpu().numpy()
    y = targets.to_label_units(data.y.cpu().numpy())
    arrays = {"split": np.array(split), "y": y,
              "scores": scores.astype(np.float16) if scores.size > FLOAT16_ABOVE else scores}
    if prepared.dataset.kind == "image":
        rows = example_rows(targets, y, scores)
        arrays["example_rows"] = rows
        arrays["example_x"] = data.x[rows].cpu().numpy()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write(run_path / "predictions.npz", buffer.getvalue())


def held_out(prepared) -> tuple[str, Optional[Resident]]:
    if prepared.test is not None:
        return "test", prepared.test
    return "validation", prepared.validation


def example_rows(targets, y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The first rows, then the misclassified rows with the highest loss."""
    first = np.arange(min(FIRST, len(y)))
    if targets.task not in ("binary", "multiclass"):
        return first
    truth, pred = true_classes(targets, y), predicted_classes(targets, scores)
    proba = class_probabilities(targets, scores.astype(np.float32))
    loss = -np.log(np.clip(proba[np.arange(len(truth)), truth], 1e-7, 1.0))
    wrong = np.flatnonzero(truth != pred)
    worst = wrong[np.argsort(-loss[wrong])][:GALLERY]
    return np.concatenate([first, worst]).astype(np.int64)


def load_predictions(run_path: Path) -> Optional[dict[str, np.ndarray]]:
    path = run_path / "predictions.npz"
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}
