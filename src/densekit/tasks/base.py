"""The Task type: what a kind of problem decides (output width, loss, probabilities, metrics,
prediction columns). The network always ends in raw scores ("logits"); the task turns them
into probabilities or values. Code outside tasks/ asks the task; it never compares names."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, ClassVar, Optional

import numpy as np
import pandas as pd
import torch

from densekit.errors import DensekitError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class Task(ABC):
    """Fitted on the training labels; saved in model.json under "targets"."""

    loss: str
    n_outputs: int
    classes: list = field(default_factory=list)        # label values, in output order
    class_names: list = field(default_factory=list)    # display names, same order

    name: ClassVar[str]
    main_metric: ClassVar[str]
    headline_metrics: ClassVar[tuple[str, ...]] = ()  # printed after the main one at the end
    default_loss: ClassVar[str]
    losses: ClassVar[frozenset]        # the losses that fit this task
    is_classifier: ClassVar[bool] = True
    single_label: ClassVar[bool] = False  # one class per row: class weights, confusion, accuracy
    scores_in_chunks: ClassVar[bool] = False  # too many classes for rows × classes: compact scores

    # ------------------------------------------------------------ labels in, labels out

    def encode(self, y: np.ndarray, where: str) -> np.ndarray:
        """Labels -> training targets: class indices (int64) or float32 arrays."""
        return y.astype(np.float32)

    def to_label_units(self, z: np.ndarray) -> np.ndarray:
        """Encoded targets -> the units metrics are reported in."""
        return z

    @abstractmethod
    def probabilities(self, out: torch.Tensor) -> torch.Tensor:
        """Logits -> probabilities (classification) or values in label units (regression)."""

    @abstractmethod
    def decode(self, scores: np.ndarray) -> np.ndarray:
        """Probabilities or values -> predicted labels or values."""

    @abstractmethod
    def prediction_frame(self, scores: np.ndarray) -> pd.DataFrame:
        """The table `predict` writes: predictions, then one probability column per class."""

    # ------------------------------------------------------------ training

    @abstractmethod
    def make_loss(self, label_smoothing: float = 0.0,
                  class_weight: Optional[torch.Tensor] = None) -> LossFn:
        """loss(logits, targets) -> mean loss over the batch."""

    def fast_output(self, label_smoothing: float, class_weight: Optional[torch.Tensor]) -> Optional[str]:
        """'softmax' or 'sigmoid' when the hand-written fast path computes this loss; else None."""
        return None

    def count_correct(self, out: torch.Tensor, y: torch.Tensor) -> Optional[torch.Tensor]:
        """Correct predictions in a batch, for the training accuracy; None where it has no meaning."""
        return None

    def class_weights(self, spec: Any, y: np.ndarray) -> np.ndarray:
        raise DensekitError("train.class_weight applies to binary and multiclass tasks with one "
                            f"label per row; this task is {self.name}. Remove it.")

    # ------------------------------------------------------------ metrics

    @abstractmethod
    def quick_metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        """The headline metric logged at every evaluation (besides the loss)."""

    @abstractmethod
    def full_metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
        """Everything metrics.json holds for one split."""

    def yes_no_outcomes(self, y: np.ndarray, scores: np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(name, 0/1 truth, probability of yes) for each yes/no decision a threshold makes:
        what ROC and precision-recall curves are drawn from; empty for other tasks."""
        return []

    def history_keys(self) -> list[str]:
        """The figures each evaluation records (history.jsonl), which early stopping can watch."""
        train = ["train_loss", "train_accuracy"] if self.single_label else ["train_loss"]
        return train + ["val_loss", f"val_{self.main_metric}"]

    def calibrate(self, y: np.ndarray, scores: np.ndarray) -> Optional[str]:
        """After training, settle what the validation rows decide (a decision threshold); a
        line for the log, or None when this task has nothing to settle."""
        return None

    def class_counts(self, y: np.ndarray) -> Optional[np.ndarray]:
        """Rows per class (or positives per label) among encoded targets; None for regression."""
        return None

    def per_output(self) -> list[tuple[str, "Task", slice, slice]]:
        """(name, task, its output columns, its target columns) for each of several outputs;
        empty for a task of one output."""
        return []

    def output_heads(self) -> list[tuple[Optional[str], int]]:
        """(name, units) of each output the layer summary shows; one unnamed head here."""
        return [(None, self.n_outputs)]

    def describe(self, how: str) -> str:
        """The log's line for the task; `how`: given, or inferred from what."""
        classes = f", {len(self.classes)} classes" if self.is_classifier else ""
        return f"task: {self.name} ({how}; --task overrides){classes}; loss {self.loss}"

    # ------------------------------------------------------------ saved form

    def to_json(self) -> dict[str, Any]:
        return {"task": self.name, "soft_labels": False, "target_mean": None,
                "target_std": None, **asdict(self)}

