"""What the report needs from the held-out data, saved at the end of training.

The run directory must be enough to draw the report later, so the test predictions (or the
validation ones when there is no test split) and a few example images are kept in
predictions.npz: plain numeric arrays, read back with allow_pickle=False.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path
from typing import Optional

import numpy as np

from densekit.rundir.files import atomic_write
from densekit.tasks import SingleLabel, Task

GALLERY = 24       # misclassified examples with the highest loss
FIRST = 20         # the first predictions beside the true labels (as the Kuzushiji homework)
FLOAT16_ABOVE = 2_000_000  # probability cells; beyond this, half precision keeps the file small


def save_predictions(run_path: Path, split: str, y: np.ndarray, scores: np.ndarray,
                     examples: Optional[tuple[np.ndarray, np.ndarray]] = None) -> None:
    """y in label units, scores as probabilities or values; examples: (rows, their pixels)."""
    arrays = {"split": np.array(split), "y": y,
              "scores": scores.astype(np.float16) if scores.size > FLOAT16_ABOVE else scores}
    if examples is not None:
        arrays["example_rows"], arrays["example_x"] = examples
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write(run_path / "predictions.npz", buffer.getvalue())


def example_rows(task: Task, y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The first rows, then the misclassified rows with the highest loss."""
    first = np.arange(min(FIRST, len(y)))
    if not isinstance(task, SingleLabel):
        return first
    truth, pred = task.true_classes(y), task.predicted_classes(scores)
    proba = task.class_probabilities(scores.astype(np.float32))
    loss = -np.log(np.clip(proba[np.arange(len(truth)), truth], 1e-7, 1.0))
    wrong = np.flatnonzero(truth != pred)
    worst = wrong[np.argsort(-loss[wrong])][:GALLERY]
    return np.concatenate([first, worst]).astype(np.int64)


def load_predictions(run_path: Path) -> Optional[dict[str, np.ndarray]]:
    """The saved held-out predictions; None when absent, and None too when unreadable: an
    object array (it would need pickle), a damaged or truncated archive, or arrays missing or
    of different lengths. The report says which (a run's evidence may be damaged; its report
    must still be drawn)."""
    path = run_path / "predictions.npz"
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error):
        return None
    return arrays if usable_predictions(arrays) else None


def usable_predictions(arrays: dict[str, np.ndarray]) -> bool:
    if not all(key in arrays for key in ("split", "y", "scores")):
        return False
    y, scores = arrays["y"], arrays["scores"]
    numeric = y.dtype.kind in "biuf" and scores.dtype.kind in "biuf"
    return numeric and y.ndim >= 1 and scores.ndim == 2 and len(y) == len(scores)
