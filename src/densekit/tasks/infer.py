"""Choosing the task: inferred from the labels (or given), then fitted on the training labels."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from densekit.errors import DensekitError
from densekit.tasks.base import Task
from densekit.tasks.classify import Binary, Multiclass
from densekit.tasks.labels import display, preview, sorted_classes
from densekit.data.labels import is_label_lists
from densekit.tasks.many_classes import OUTPUT_LOSSES, ManyClasses, many_classes_task
from densekit.tasks.many_labels import ManyLabels, many_labels_task
from densekit.tasks.multilabel import Multilabel
from densekit.tasks.outputs import Head, Outputs, column_values
from densekit.tasks.regression import Regression

KINDS: dict[str, type[Task]] = {kind.name: kind for kind in (Binary, Multiclass, Multilabel, Regression,
                                                            ManyClasses, ManyLabels, Outputs)}
MAX_CLASSES = 200  # integer labels with more distinct values than this look like a quantity
FEW_CLASSES = 10   # this many integer values or fewer are classes whatever the row count
ROWS_PER_CLASS = 5


def infer_task(y: np.ndarray, output: str = "softmax") -> tuple[str, str]:
    """The task the labels suggest, and the reason, printed so the user can override it."""
    if output in OUTPUT_LOSSES:  # asked for a classifier over many classes: never regression
        if is_label_lists(y) or (y.ndim == 2 and y.shape[1] > 1):
            return "multilabel", f"model.output {output} with several labels per row"
        return "multiclass", f"model.output {output}"
    if y.ndim == 2 and y.shape[1] > 1:
        return infer_2d(y)
    y = y.reshape(len(y))
    distinct = np.unique(y)
    if y.dtype.kind not in "biuf":
        kind = "binary" if len(distinct) == 2 else "multiclass"
        return kind, f"text labels with {len(distinct)} distinct values"
    # np.mod of an infinite label warns and gives NaN: a non-finite label is no class anyway.
    integral = y.dtype.kind in "biu" or bool(np.isfinite(y).all() and np.all(np.mod(y, 1) == 0))
    if not integral:
        return "regression", "non-integer numeric labels"
    if len(distinct) == 2:
        return "binary", "two distinct label values"
    if looks_like_classes(len(distinct), len(y)):
        return "multiclass", f"integer labels with {len(distinct)} distinct values"
    return "regression", (f"integer labels with {len(distinct)} distinct values in {len(y):,} "
                          "rows, too many to be classes")


def looks_like_classes(distinct: int, rows: int) -> bool:
    """Integer labels are classes when there are few of them, or when each value repeats
    (at least ROWS_PER_CLASS rows each on average): 194 values in 442 rows are a quantity."""
    return distinct <= FEW_CLASSES or (distinct <= MAX_CLASSES and distinct * ROWS_PER_CLASS <= rows)


def infer_2d(y: np.ndarray) -> tuple[str, str]:
    y = y.astype(np.float64)
    in_unit = bool(np.all((y >= 0) & (y <= 1)))
    sums_to_one = in_unit and bool(np.allclose(y.sum(axis=1), 1.0, atol=1e-4))
    if sums_to_one:
        return "multiclass", f"{y.shape[1]} label columns whose rows sum to 1 (one-hot/probabilities)"
    if bool(np.all((y == 0) | (y == 1))):
        return "multilabel", f"{y.shape[1]} label columns of 0/1"
    return "regression", f"{y.shape[1]} numeric target columns"


def build_task(y: np.ndarray, kind: Optional[str], loss: Optional[str],
               class_names: Optional[dict], label_names: Optional[list[str]],
               standardize: bool, output: str = "softmax") -> tuple[Task, str]:
    """Decide the task (given or inferred) and fit the label coding on training labels."""
    reason = "given"
    if kind is None:
        kind, reason = infer_task(y, output)
    if output in OUTPUT_LOSSES:
        return many_classes(y, kind, loss, output, class_names, label_names), reason
    loss = check_loss(KINDS[kind], loss)
    if kind == "regression":
        return regression_task(y, loss, standardize), reason
    if kind == "multilabel":
        check_indicator(y, kind)
        names = label_names or [f"label_{i}" for i in range(y.shape[1])]
        return Multilabel(loss, y.shape[1], list(range(y.shape[1])), names), reason
    if y.ndim == 2 and y.shape[1] > 1:
        if kind != "multiclass":
            raise DensekitError(f"Labels with {y.shape[1]} columns cannot be used for a {kind} "
                                "task; use multiclass (one-hot) or multilabel.")
        classes = list(range(y.shape[1]))
        names = [display(c, class_names) for c in classes]
        return Multiclass(loss, y.shape[1], classes, names, soft_labels=True), reason
    classes = sorted_classes(y.reshape(len(y)))
    check_class_count(kind, classes)
    names = [display(c, class_names) for c in classes]
    if kind == "binary":
        return Binary(loss, 1, classes, names), reason
    return Multiclass(loss, len(classes), classes, names), reason


def task_from_json(values: dict[str, Any]) -> Task:
    """The task saved in model.json ("targets"), in the form every version has written."""
    values = dict(values)
    kind = KINDS[values.pop("task")]
    if kind is Outputs:
        heads = [Head(h["name"], task_from_json(h["targets"]), h["weight"], h.get("columns", [i]))
                 for i, h in enumerate(values["heads"])]
        return Outputs(values["loss"], values["n_outputs"], heads=heads)
    soft, mean, std = values.pop("soft_labels", False), values.pop("target_mean", None), values.pop("target_std", None)
    if kind is Multiclass:
        return kind(**values, soft_labels=soft)
    if kind is Regression:
        return kind(**values, target_mean=mean, target_std=std)
    return kind(**values)


def many_classes(y: np.ndarray, kind: str, loss: Optional[str], output: str,
                 class_names: Optional[dict], label_names: Optional[list[str]] = None) -> ManyClasses:
    several = is_label_lists(y) or (y.ndim == 2 and y.shape[1] > 1)
    if kind not in ("multiclass", "multilabel") or several != (kind == "multilabel"):
        raise DensekitError(f"model.output {output} scores one class per row (multiclass), or "
                            "several per row (multilabel: label lists with data.label_delimiter, "
                            f"or a 0/1 matrix), among many; the task here is {kind} with labels "
                            f"of shape {y.shape}. Use --task multiclass or multilabel to match "
                            "the labels, or model.output: softmax.")
    if loss is not None:
        raise DensekitError(f"model.output {output} brings its own loss; remove model.loss "
                            f"({loss}), or use model.output: softmax to choose a loss.")
    if kind == "multilabel":
        if not is_label_lists(y):
            check_indicator(y, kind)
        task = many_labels_task(y, output, class_names, label_names)
        check_class_count(kind, task.classes)
        return task
    task = many_classes_task(y, output, class_names)
    check_class_count(kind, task.classes)
    return task


def check_loss(kind: type[Task], loss: Optional[str]) -> str:
    loss = loss or kind.default_loss
    if loss not in kind.losses:
        hint = " For two softmax outputs, use task multiclass." if kind is Binary else ""
        raise DensekitError(f"The loss '{loss}' does not fit a {kind.name} task. Allowed: "
                            f"{', '.join(sorted(kind.losses))}.{hint}")
    return loss


def check_class_count(kind: str, classes: list) -> None:
    if len(classes) < 2:
        raise DensekitError(
            f"The training labels hold a single class ({classes[0]!r}); a classifier needs at "
            "least two. Check the label column, or that the split kept every class.")
    if kind == "binary" and len(classes) != 2:
        raise DensekitError(f"The task is binary but the labels hold {len(classes)} classes "
                            f"({preview(classes)}). Use --task multiclass.")


def check_indicator(y: np.ndarray, kind: str) -> None:
    if y.ndim != 2 or not np.all((y == 0) | (y == 1)):
        raise DensekitError(f"A {kind} task needs one 0/1 column per label; the labels have "
                            f"shape {y.shape}.")


def regression_task(y: np.ndarray, loss: str, standardize: bool) -> Regression:
    if y.dtype.kind not in "biuf":
        raise DensekitError("Regression needs numeric labels; these are text "
                            f"({preview(list(np.unique(y)))}). Use a classification task.")
    z = y.reshape(len(y), -1).astype(np.float64)
    mean = std = None
    if standardize:
        mean = z.mean(axis=0).tolist()
        std = np.where(z.std(axis=0) > 0, z.std(axis=0), 1.0).tolist()
    return Regression(loss, z.shape[1], target_mean=mean, target_std=std)


# ------------------------------------------------------------------ several outputs


def several_outputs(y: np.ndarray, label_names: Optional[list[str]], specs: dict, given: Optional[str],
                    output: str = "softmax") -> bool:
    """Several label columns are several outputs (a head each) when model.outputs names them,
    or when no task is given and their columns are not all of one kind that a single head
    covers: all 0/1 is multilabel (or one-hot), all quantities one regression of several targets."""
    if specs:
        return True
    if given is not None or output in OUTPUT_LOSSES or y.ndim != 2 or y.shape[1] < 2 or not label_names:
        return False
    if y.dtype.kind in "biuf" and infer_2d(y)[0] != "regression":  # 0/1 or one-hot: one head
        return False
    kinds = {infer_task(column_values(y[:, i]))[0] for i in range(y.shape[1])}
    return kinds not in ({"binary"}, {"regression"})


def outputs_reason(y: np.ndarray, label_names: list[str], specs: dict) -> str:
    parts = []
    for name, columns, spec in output_plan(label_names, specs):
        kind = ("multilabel" if len(columns) > 1 else
                (spec.task if spec else None) or infer_task(column_values(y[:, columns[0]]))[0])
        parts.append(f"{name} {kind}")
    return "several label columns: " + ", ".join(parts)


def output_plan(label_names: list[str], specs: dict) -> list[tuple[str, list[int], Any]]:
    """(output name, positions of its label columns, its spec or None) in label column order:
    a group (model.outputs.NAME.columns) is one output, every other label column one of its own."""
    check_distinct(label_names)
    position = {str(n): i for i, n in enumerate(label_names)}
    group_of = {c: name for name, spec in specs.items() for c in spec.columns}
    plan, done = [], set()
    for column in map(str, label_names):
        name = group_of.get(column, column)
        if name not in done:
            done.add(name)
            spec = specs.get(name)
            columns = [position[c] for c in spec.columns] if spec and spec.columns else [position[column]]
            plan.append((name, columns, spec))
    return plan


def build_outputs(y: np.ndarray, label_names: list[str], specs: dict, standardize: bool) -> Outputs:
    """One head per output, each task given (model.outputs) or inferred from its column and
    fitted on it; regression heads on standardised targets, so that no head's loss dominates
    the sum because of its units. A group of 0/1 columns is one multilabel head."""
    heads = []
    for name, columns, spec in output_plan(label_names, specs):
        group = [str(label_names[c]) for c in columns] if len(columns) > 1 else None
        try:
            values = group_values(y, columns, group) if group else column_values(y[:, columns[0]])
            task, _ = build_task(values, group_task(spec) if group else spec.task if spec else None,
                                 spec.loss if spec else None, None, group, standardize)
        except DensekitError as err:
            raise DensekitError(f"Output {name!r}: {err}") from None
        heads.append(Head(name, task, spec.weight if spec else 1.0, columns))
    return Outputs("weighted_sum", sum(h.task.n_outputs for h in heads), heads=heads)


def group_task(spec: Any) -> str:
    """A group (always given by its spec) is one multilabel output; another task is refused."""
    if spec.task not in (None, Multilabel.name):
        raise DensekitError(f"a group of columns is one {Multilabel.name} output, not {spec.task}; "
                            f"remove its task or set it to {Multilabel.name}.")
    return Multilabel.name


def group_values(y: np.ndarray, columns: list[int], names: list[str]) -> np.ndarray:
    """A group's label columns as the 0/1 matrix its multilabel head learns."""
    try:
        return y[:, columns].astype(np.float32)
    except (TypeError, ValueError):
        raise DensekitError(f"the group's columns ({', '.join(names)}) hold text; a group is "
                            "several 0/1 columns (1: the label applies). Recode them as 0/1, or "
                            "give each column an output of its own.") from None


def check_distinct(label_names: list[str]) -> None:
    twice = sorted({n for n in label_names if label_names.count(n) > 1})
    if twice:
        raise DensekitError(f"The label column(s) {', '.join(map(repr, twice))} are named twice in "
                            "data.label; name each output's column once.")
