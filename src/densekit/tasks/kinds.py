"""Tasks: infer one from the labels, encode labels as training targets, decode outputs.

The network always ends in raw scores ("logits"); the task decides the output width, the
default loss, and how scores become probabilities and predictions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import numpy as np

from densekit.errors import DensekitError

DEFAULT_LOSS = {"binary": "binary_cross_entropy", "multiclass": "cross_entropy",
                "multilabel": "binary_cross_entropy", "regression": "mse"}
MAX_CLASSES = 200  # integer labels with more distinct values than this look like a quantity


def infer_task(y: np.ndarray) -> tuple[str, str]:
    """The task the labels suggest, and the reason, printed so the user can override it."""
    if y.ndim == 2 and y.shape[1] > 1:
        return infer_2d(y)
    y = y.reshape(len(y))
    distinct = np.unique(y)
    if y.dtype.kind not in "biuf":
        kind = "binary" if len(distinct) == 2 else "multiclass"
        return kind, f"text labels with {len(distinct)} distinct values"
    integral = y.dtype.kind in "biu" or bool(np.all(np.mod(y, 1) == 0))
    if not integral:
        return "regression", "non-integer numeric labels"
    if len(distinct) == 2:
        return "binary", "two distinct label values"
    if len(distinct) <= MAX_CLASSES:
        return "multiclass", f"integer labels with {len(distinct)} distinct values"
    return "regression", f"integer labels with {len(distinct)} distinct values (> {MAX_CLASSES})"


def infer_2d(y: np.ndarray) -> tuple[str, str]:
    y = y.astype(np.float64)
    in_unit = bool(np.all((y >= 0) & (y <= 1)))
    sums_to_one = in_unit and bool(np.allclose(y.sum(axis=1), 1.0, atol=1e-4))
    if sums_to_one:
        return "multiclass", f"{y.shape[1]} label columns whose rows sum to 1 (one-hot/probabilities)"
    if bool(np.all((y == 0) | (y == 1))):
        return "multilabel", f"{y.shape[1]} label columns of 0/1"
    return "regression", f"{y.shape[1]} numeric target columns"


@dataclass
class Targets:
    """Everything needed to turn labels into targets and outputs back into labels."""

    task: str
    loss: str
    n_outputs: int
    classes: list = field(default_factory=list)        # label values, in output order
    class_names: list = field(default_factory=list)    # display names, same order
    soft_labels: bool = False                          # multiclass from one-hot/probabilities
    target_mean: Optional[list] = None                 # regression standardisation
    target_std: Optional[list] = None

    @property
    def is_classifier(self) -> bool:
        return self.task != "regression"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> "Targets":
        return cls(**values)

    def encode(self, y: np.ndarray, where: str) -> np.ndarray:
        """Labels -> training targets: class indices (int64) or float32 arrays."""
        if self.task == "multiclass" and not self.soft_labels:
            return class_indices(y.reshape(len(y)), self.classes, where)
        if self.task == "binary":
            return class_indices(y.reshape(len(y)), self.classes, where).astype(np.float32)
        if self.task == "regression":
            z = y.reshape(len(y), -1).astype(np.float32)
            if self.target_mean is not None:
                z = (z - np.float32(self.target_mean)) / np.float32(self.target_std)
            return z
        return y.astype(np.float32)    # multilabel 0/1, or soft multiclass targets

    def to_label_units(self, z: np.ndarray) -> np.ndarray:
        """Encoded targets -> the units metrics are reported in (undoes standardisation)."""
        if self.task == "regression" and self.target_mean is not None:
            return z * np.float32(self.target_std) + np.float32(self.target_mean)
        return z


def build_targets(y: np.ndarray, task: Optional[str], loss: Optional[str],
                  class_names: Optional[dict], label_names: Optional[list[str]],
                  standardize: bool) -> tuple[Targets, str]:
    """Decide the task (given or inferred) and fit the label coding on training labels."""
    reason = "given"
    if task is None:
        task, reason = infer_task(y)
    loss = check_loss(task, loss or DEFAULT_LOSS[task])
    if task == "regression":
        return regression_targets(y, loss, standardize), reason
    if task == "multilabel":
        names = label_names or [f"label_{i}" for i in range(y.shape[1])]
        check_2d(y, task)
        return Targets(task, loss, y.shape[1], list(range(y.shape[1])), names), reason
    if y.ndim == 2 and y.shape[1] > 1:
        if task != "multiclass":
            raise DensekitError(f"Labels with {y.shape[1]} columns cannot be used for a {task} "
                                "task; use multiclass (one-hot) or multilabel.")
        classes = list(range(y.shape[1]))
        names = [display(c, class_names) for c in classes]
        return Targets(task, loss, y.shape[1], classes, names, soft_labels=True), reason
    classes = sorted_classes(y.reshape(len(y)))
    check_class_count(task, classes)
    names = [display(c, class_names) for c in classes]
    n_out = 1 if task == "binary" else len(classes)
    return Targets(task, loss, n_out, classes, names), reason


def check_loss(task: str, loss: str) -> str:
    allowed = {"binary": {"binary_cross_entropy", "mse", "mae", "huber"},
               "multiclass": {"cross_entropy", "binary_cross_entropy", "mse", "mae", "huber"},
               "multilabel": {"binary_cross_entropy", "mse", "mae", "huber"},
               "regression": {"mse", "mae", "huber"}}[task]
    if loss not in allowed:
        hint = (" For two softmax outputs, use task multiclass." if task == "binary" else "")
        raise DensekitError(f"The loss '{loss}' does not fit a {task} task. Allowed: "
                            f"{', '.join(sorted(allowed))}.{hint}")
    return loss


def check_class_count(task: str, classes: list) -> None:
    if len(classes) < 2:
        raise DensekitError(
            f"The training labels hold a single class ({classes[0]!r}); a classifier needs at "
            "least two. Check the label column, or that the split kept every class.")
    if task == "binary" and len(classes) != 2:
        raise DensekitError(f"The task is binary but the labels hold {len(classes)} classes "
                            f"({preview(classes)}). Use --task multiclass.")


def check_2d(y: np.ndarray, task: str) -> None:
    if y.ndim != 2 or not np.all((y == 0) | (y == 1)):
        raise DensekitError(f"A {task} task needs one 0/1 column per label; the labels have "
                            f"shape {y.shape}.")


def regression_targets(y: np.ndarray, loss: str, standardize: bool) -> Targets:
    if y.dtype.kind not in "biuf":
        raise DensekitError("Regression needs numeric labels; these are text "
                            f"({preview(list(np.unique(y)))}). Use a classification task.")
    z = y.reshape(len(y), -1).astype(np.float64)
    mean = std = None
    if standardize:
        mean = z.mean(axis=0).tolist()
        std = np.where(z.std(axis=0) > 0, z.std(axis=0), 1.0).tolist()
    return Targets("regression", loss, z.shape[1], target_mean=mean, target_std=std)


def sorted_classes(y: np.ndarray) -> list:
    return [as_python(v) for v in np.unique(y)]


def class_indices(y: np.ndarray, classes: list, where: str) -> np.ndarray:
    known = np.asarray(classes)
    if y.dtype.kind in "biuf" and known.dtype.kind in "biuf":
        # Vectorised look-up: classes are sorted, so searchsorted finds each label's slot.
        slots = np.clip(np.searchsorted(known, y), 0, len(known) - 1)
        found = known[slots] == y
        if found.all():
            return slots.astype(np.int64)
        refuse_unknown(sorted({as_python(v) for v in y[~found]}, key=str), classes, where)
    lookup = {c: i for i, c in enumerate(classes)}
    values = [as_python(v) for v in y]
    refuse_unknown(sorted({v for v in values if v not in lookup}, key=str), classes, where)
    return np.fromiter((lookup[v] for v in values), dtype=np.int64, count=len(values))


def refuse_unknown(unknown: list, classes: list, where: str) -> None:
    if unknown:
        raise DensekitError(
            f"The {where} labels hold value(s) never seen in training: {preview(unknown)}. "
            f"The model knows {preview(classes)}. Remove those rows or add them to training.")


def as_python(value: Any) -> Any:
    """numpy scalar -> plain Python (JSON-serialisable, hashable with equal ints and floats)."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def display(value: Any, names: Optional[dict]) -> str:
    if names and value in names:
        return str(names[value])
    return str(value)


def preview(values: list) -> str:
    shown = ", ".join(repr(v) for v in values[:10])
    return shown + (f" … ({len(values)} in all)" if len(values) > 10 else "")
