"""Several outputs from one network: a head per label column (a class and a number from one
table, Keras's multi-output models), each with its own task, loss and metrics.

The network stays one dense stack ending in one output layer whose units are the heads'
units side by side; this task reads each head's slice of them. So the fast path's plain
layers, checkpoints, resume and --nproc need nothing of their own. Targets are laid out the
same way: each head's encoded targets (a class index, a 0/1 value, standardised numbers) in
its own columns of one float array. The training loss is the weighted sum of the heads'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd
import torch

from densekit.tasks.base import LossFn, Task
from densekit.tasks.classify import Binary, Multiclass


@dataclass
class Head:
    """One output: the label column it predicts, its task (fitted on that column) and the
    weight of its loss in the sum."""

    name: str
    task: Task
    weight: float = 1.0
    columns: list = field(default_factory=list)  # positions of its label columns (two or more: a group)

    def labels(self, y: np.ndarray) -> np.ndarray:
        """Its label columns of a (rows, label columns) array: a group's 0/1 matrix, else one
        column in the dtype its values share."""
        if len(self.columns) > 1:
            return y[:, self.columns].astype(np.float32)
        return column_values(y[:, self.columns[0]])

    @property
    def target_width(self) -> int:
        """Columns of the target array: a class index or a 0/1 value is one column."""
        return 1 if isinstance(self.task, (Binary, Multiclass)) else self.task.n_outputs

    def targets(self, y: torch.Tensor) -> torch.Tensor:
        """Its columns of a target batch, in the form its own loss takes."""
        if isinstance(self.task, Multiclass):
            return y[:, 0].long()
        return y[:, 0] if isinstance(self.task, Binary) else y

    def metric(self, key: str) -> str:
        return f"{self.name}_{key}"


@dataclass
class Outputs(Task):
    """The heads, in the order of the label columns."""

    heads: list = field(default_factory=list)   # [Head]

    name = "outputs"
    default_loss = "weighted_sum"
    losses = frozenset({"weighted_sum"})
    is_classifier = False

    # ------------------------------------------------------------ layout

    def output_slices(self) -> list[slice]:
        return slices([h.task.n_outputs for h in self.heads])

    def target_slices(self) -> list[slice]:
        return slices([h.target_width for h in self.heads])

    def parts(self, scores: np.ndarray, y: Optional[np.ndarray] = None):
        """(head, its scores, its targets or None) for each head."""
        for head, out, target in zip(self.heads, self.output_slices(), self.target_slices()):
            yield head, scores[:, out], None if y is None else y[:, target]

    @property
    def main_metric(self) -> str:  # type: ignore[override]
        head = self.heads[0]
        return head.metric(head.task.main_metric)

    @property
    def headline_metrics(self) -> tuple[str, ...]:  # type: ignore[override]
        keys = [h.metric(k) for h in self.heads for k in (h.task.main_metric, *h.task.headline_metrics)]
        return tuple(k for k in keys if k != self.main_metric)

    # ------------------------------------------------------------ labels in, labels out

    def encode(self, y: np.ndarray, where: str) -> np.ndarray:
        """(rows, label columns) -> (rows, target columns) float32."""
        y = np.asarray(y).reshape(len(y), -1)
        columns = [head.task.encode(head.labels(y), f"{where} {head.name!r}") for head in self.heads]
        return np.column_stack([c.reshape(len(y), -1).astype(np.float32) for c in columns])

    def to_label_units(self, z: np.ndarray) -> np.ndarray:
        return np.column_stack([head.task.to_label_units(z[:, t]).reshape(len(z), -1)
                                for head, t in zip(self.heads, self.target_slices())])

    def probabilities(self, out: torch.Tensor) -> torch.Tensor:
        return torch.cat([head.task.probabilities(out[:, s])
                          for head, s in zip(self.heads, self.output_slices())], dim=1)

    def decode(self, scores: np.ndarray) -> dict[str, np.ndarray]:  # type: ignore[override]
        """{label column: its predictions}, as Keras answers a model of named outputs."""
        return {head.name: head.task.decode(part) for head, part, _ in self.parts(scores)}

    def prediction_frame(self, scores: np.ndarray) -> pd.DataFrame:
        """Each head's columns, named after its label column: `species`, `species_prob_Adelie`,
        …, `body_mass_g`."""
        frames = []
        for head, part, _ in self.parts(scores):
            frame = head.task.prediction_frame(part)
            frames.append(frame.rename(columns=lambda c, n=head.name: n if c == "prediction" else f"{n}_{c}"))
        return pd.concat(frames, axis=1)

    # ------------------------------------------------------------ training

    def make_loss(self, label_smoothing: float = 0.0,
                  class_weight: Optional[torch.Tensor] = None) -> LossFn:
        plans = [(head, head.task.make_loss(label_smoothing if isinstance(head.task, Multiclass) else 0.0),
                  out, target)
                 for head, out, target in zip(self.heads, self.output_slices(), self.target_slices())]

        def weighted_sum(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return sum(head.weight * loss(out[:, o], head.targets(y[:, t])) for head, loss, o, t in plans)

        return weighted_sum

    def calibrate(self, y: np.ndarray, scores: np.ndarray) -> Optional[str]:
        lines = [f"{head.name}: {line}" for head, part, target in self.parts(scores, y)
                 if (line := head.task.calibrate(target, part))]
        return "; ".join(lines) or None

    # ------------------------------------------------------------ metrics

    def quick_metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        return {head.metric(k): v for head, part, target in self.parts(scores, y)
                for k, v in head.task.quick_metrics(target, part).items()}

    def full_metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
        """Each head's figures under "outputs", and its headline figures beside the loss."""
        per_head = {head.name: head.task.full_metrics(target, part) for head, part, target in self.parts(scores, y)}
        flat = {head.metric(k): per_head[head.name][k] for head in self.heads
                for k in (head.task.main_metric, *head.task.headline_metrics) if k in per_head[head.name]}
        return {**flat, "outputs": per_head}

    def yes_no_outcomes(self, y: np.ndarray, scores: np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray]]:
        return [(f"{head.name}: {name}", truth, p) for head, part, target in self.parts(scores, y)
                for name, truth, p in head.task.yes_no_outcomes(target, part)]

    def history_keys(self) -> list[str]:
        return ["train_loss", "val_loss"] + [f"val_{h.metric(h.task.main_metric)}" for h in self.heads]

    def per_output(self) -> list[tuple[str, Task, slice, slice]]:
        return [(h.name, h.task, o, t) for h, o, t in zip(self.heads, self.output_slices(), self.target_slices())]

    def output_heads(self) -> list[tuple[Optional[str], int]]:
        return [(h.name, h.task.n_outputs) for h in self.heads]

    def describe(self, how: str) -> str:
        heads = "; ".join(f"{h.name}: {h.task.name}" + (f", {len(h.task.classes)} {kinds(h)}" if h.task.is_classifier else "")
                          + f", loss {h.task.loss} × {h.weight:g}" for h in self.heads)
        return f"task: {len(self.heads)} outputs ({heads}; model.outputs.NAME sets task, loss, weight)"

    # ------------------------------------------------------------ saved form

    def to_json(self) -> dict[str, Any]:
        return {"task": self.name, "loss": self.loss, "n_outputs": self.n_outputs,
                "heads": [{"name": h.name, "weight": h.weight, "columns": [int(c) for c in h.columns],
                           "targets": h.task.to_json()} for h in self.heads]}


def kinds(head: Head) -> str:
    return "labels" if len(head.columns) > 1 else "classes"


def slices(widths: list[int]) -> list[slice]:
    edges = np.cumsum([0, *widths])
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def column_values(values: np.ndarray) -> np.ndarray:
    """One label column of a mixed table (object dtype) as the dtype its values share: numbers
    as numbers, so that classes 1, 2, 3 stay integers and a quantity stays a float."""
    if values.dtype.kind != "O":
        return values
    return pd.Series(values).infer_objects().to_numpy()
