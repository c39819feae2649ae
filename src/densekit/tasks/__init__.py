"""Tasks: one type per kind of problem (binary, multiclass, multilabel, regression), each owning
its label coding, loss, output activation, metrics and prediction columns."""

from densekit.tasks.base import LossFn, Task
from densekit.tasks.classify import Binary, Multiclass, SingleLabel
from densekit.tasks.infer import (KINDS, build_outputs, build_task, infer_task, outputs_reason,
                                  several_outputs, task_from_json)
from densekit.tasks.many_classes import ManyClasses
from densekit.tasks.many_labels import ManyLabels
from densekit.tasks.multilabel import Multilabel
from densekit.tasks.outputs import Outputs
from densekit.tasks.regression import Regression

__all__ = ["Binary", "KINDS", "LossFn", "ManyClasses", "ManyLabels", "Multiclass", "Multilabel", "Outputs", "Regression",
           "SingleLabel", "Task", "build_outputs", "build_task", "infer_task", "outputs_reason",
           "several_outputs", "task_from_json"]
