"""The network as one exportable module: numeric preprocessing, the dense stack and the task's
output activation, so an ONNX runtime needs nothing from densekit but the encoders' JSON."""

from __future__ import annotations

import torch
from torch import nn

from densekit.data.preprocess import CLIP_AT, Preprocessor
from densekit.errors import DensekitError
from densekit.nn.model import DenseNet
from densekit.tasks import Task
from densekit.tasks.classify import SingleLabel
from densekit.tasks.multilabel import Multilabel


class ExportGraph(nn.Module):
    """(batch, features) float32 as `densekit predict` reads them -> the task's outputs.

    Images: raw pixel values 0..255; tables: raw (encoded) column values; bags: counts as they
    are. The output names are the module's `output_names` (see `outputs_of`)."""

    def __init__(self, model: DenseNet, prep: Preprocessor, task: Task):
        super().__init__()
        self.model, self.task, self.kind = model.eval(), task, prep.kind
        self.output_names = outputs_of(task)
        self.eval()  # dropout off, batch norm on its running statistics: the inference graph
        # Buffers, so the exporter stores them as initializers; the same float32 operations as
        # Preprocessor.transform (tables) and Preprocessor.batch (images), in the same order.
        if prep.kind == "table":
            self.register_buffer("mean", torch.as_tensor(prep.mean, dtype=torch.float32))
            self.register_buffer("std", torch.as_tensor(prep.std, dtype=torch.float32))
            clip = prep.clip if prep.clip is not None else [False] * len(prep.mean)
            self.register_buffer("clip", torch.as_tensor(clip, dtype=torch.bool))
        elif prep.kind == "image":
            self.register_buffer("scale", torch.tensor(prep.pixel_scale, dtype=torch.float32))
            self.register_buffer("shift", torch.tensor(prep.pixel_shift, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:  # (batch, features)
        scores = self.task.probabilities(self.model(self.scaled(x)))  # (batch, outputs)
        if isinstance(self.task, SingleLabel):
            probabilities = class_probabilities(scores)            # (batch, classes)
            # argmax, as Task.decode picks the label (ties go to the first class there too)
            return probabilities.argmax(dim=1), probabilities
        if isinstance(self.task, Multilabel):
            return (scores >= self.task.threshold).to(torch.int64), scores  # as Multilabel.decode
        return (scores,)                                              # regression: label units

    def scaled(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "table":
            z = (x - self.mean) / self.std
            clipped = z / torch.sqrt(1.0 + torch.square(z / CLIP_AT))  # preprocess.smooth_clip
            return torch.where(self.clip, clipped, z)
        if self.kind == "image":
            return x * self.scale - self.shift
        return x


def class_probabilities(scores: torch.Tensor) -> torch.Tensor:
    """A binary model's single sigmoid as two columns, as SingleLabel.class_probabilities."""
    if scores.shape[1] == 1:
        return torch.cat([1.0 - scores, scores], dim=1)
    return scores


def outputs_of(task: Task) -> list[str]:
    """The graph's output names: the first is replaced by `label` (the class values) later."""
    if isinstance(task, SingleLabel):
        return ["label_index", "probabilities"]
    if isinstance(task, Multilabel):
        return ["labels", "probabilities"]
    if not task.is_classifier:
        return ["values"]
    raise DensekitError(f"ONNX export does not know the outputs of a {task.name} task.")
