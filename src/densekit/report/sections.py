"""The report's sections, each computed from the run directory (what is missing is skipped)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import numpy as np

from densekit.config import ModelConfig
from densekit.data.preprocess import Preprocessor
from densekit.errors import DensekitError
from densekit.logs import library_log
from densekit.nn.embeddings import embedded_count
from densekit.nn.model import summarise
from densekit.report import plots
from densekit.rundir.card import ModelCard
from densekit.rundir.evidence import FIRST, load_predictions
from densekit.rundir.files import JSON_LIMIT, read_regular
from densekit.rundir.run import RunDir
from densekit.tasks import SingleLabel, Task, task_from_json

MAX_HEATMAP_CLASSES = 49   # Kuzushiji-49 still gets a readable heatmap; beyond: top confusions


@dataclass
class RunView:
    """The files of a run directory, read once; absent files are None."""

    path: Path
    info: dict = field(default_factory=dict)
    config_text: str = ""
    history: list[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    card: Optional[ModelCard] = None
    weights: Optional[dict] = None
    predictions: Optional[dict] = None
    damaged: list[str] = field(default_factory=list)  # present but unreadable

    @classmethod
    def read(cls, path: Path) -> "RunView":
        view = cls(path)
        view.info = read_json_or_empty(path / "run.json", view.damaged)
        config = path / "config.yaml"
        view.config_text = read_text_or_empty(config, view.damaged)
        view.history = RunDir(path).read_history(warn=view.torn_history)
        view.metrics = read_json_or_empty(path / "metrics.json", view.damaged)
        if (path / "model.json").exists():
            try:
                view.card, view.weights = RunDir(path).load_model()
            except DensekitError:
                view.card = view.weights = None
                view.damaged.append("model.json / model.safetensors")
        view.predictions = load_predictions(path)
        if view.predictions is None and (path / "predictions.npz").exists():
            view.damaged.append("predictions.npz")
        return view

    def torn_history(self, message: str) -> None:
        """A crash while a line was appended: the page says so, and so does the log."""
        self.damaged.append("history.jsonl (an incomplete line was skipped)")
        library_log(f"warning: {message}")

    @property
    def targets(self) -> Optional[Task]:
        return task_from_json(self.card.targets) if self.card else None

    @property
    def task(self) -> str:
        return self.info.get("task") or (self.card.targets["task"] if self.card else "multiclass")

    @property
    def main_metric(self) -> str:
        task = self.targets
        return task.main_metric if task is not None else "accuracy"


def read_json_or_empty(path: Path, damaged: list[str]) -> dict:
    """The file's object; {} when absent, or when unreadable (then listed as damaged)."""
    if not path.exists():
        return {}
    try:
        values = json.loads(read_regular(path, JSON_LIMIT))
    except (DensekitError, ValueError):  # not a regular file, or not JSON (torn by a crash)
        values = None
    if not isinstance(values, dict):
        damaged.append(path.name)
        return {}
    return values


def read_text_or_empty(path: Path, damaged: list[str]) -> str:
    if not path.exists():
        return ""
    try:
        return read_regular(path, JSON_LIMIT).decode(errors="replace")
    except DensekitError:  # a FIFO or a device in its place: never waited on
        damaged.append(path.name)
        return ""


def output_views(view: RunView) -> list[tuple[Optional[str], RunView]]:
    """The run as one view, or one view per output of a run with several: each holds that
    output's task, metrics and predictions, so every section draws for it as for a run of
    its own."""
    task = view.targets
    parts = task.per_output() if task is not None else []
    if not parts:
        return [(None, view)]
    return [(name, output_view(view, name, head, out, target)) for name, head, out, target in parts]


def output_view(view: RunView, name: str, task: Task, out: slice, target: slice) -> RunView:
    metrics = {split: figures.get("outputs", {}).get(name, {}) for split, figures in view.metrics.items()}
    p = view.predictions
    predictions = None if p is None else {**p, "y": p["y"][:, target], "scores": p["scores"][:, out]}
    card = replace(view.card, targets=task.to_json())
    return replace(view, metrics=metrics, predictions=predictions, card=card, damaged=[])


# ------------------------------------------------------------------ run and model


def summary_rows(view: RunView) -> Optional[dict]:
    if not view.card:
        return None
    card = view.card
    cfg = ModelConfig(**card.model)
    rows = summarise(card.n_inputs, task_from_json(card.targets).output_heads(), cfg,
                     tuple(card.image_shape) if card.image_shape else None,
                     embedded_count(cfg, Preprocessor.from_json(card.preprocessing)))
    total = sum(r.params for r in rows)
    trainable = sum(r.trainable for r in rows)
    return {"rows": rows, "total": total, "trainable": trainable}


def class_balance(view: RunView) -> Optional[dict]:
    counts = view.info.get("class_counts")
    if not counts:
        return None
    names = list(next(iter(counts.values())).keys())
    return {"splits": list(counts), "rows": [[name] + [counts[s].get(name, 0) for s in counts] for name in names]}


# ------------------------------------------------------------------ curves


def learning_curves(view: RunView, skip_first: int = 0, smoothing: float = 0.0) -> list[str]:
    history = view.history[skip_first:]
    if not history:
        return []
    figures = []
    for key in curve_keys(view):
        label = key.replace("_", " ")
        series = {}
        for prefix, name in [("train_", "training"), ("val_", "validation")]:
            points = [(r["epoch"], r[prefix + key]) for r in history if prefix + key in r]
            if points:
                series[name] = ([p[0] for p in points], [p[1] for p in points])
        if series:
            title = f"{label} per evaluation" + (f", smoothed ({smoothing})" if smoothing else "")
            figures.append(plots.curves(series, label, title, smoothing))
    return figures


def curve_keys(view: RunView) -> list[str]:
    """The loss, then what the task records at each evaluation (each output's main metric)."""
    task = view.targets
    if task is None:
        return ["loss", view.main_metric]
    recorded = [k.removeprefix("val_") for k in task.history_keys() if k.startswith("val_")]
    return ["loss"] + [k for k in recorded if k != "loss"]


# ------------------------------------------------------------------ metrics


def metric_tables(view: RunView) -> list[dict]:
    """Headline figures per split, and the per-class (or per-label) table."""
    tables = []
    for split, figures in view.metrics.items():
        scalars = {k: v for k, v in figures.items() if isinstance(v, (int, float))}
        per_class = figures.get("per_class") or figures.get("per_label")
        tables.append({"split": split, "scalars": scalars, "per_class": per_class})
    return tables


def confusion(view: RunView) -> Optional[dict]:
    split = "test" if "test" in view.metrics else "validation"
    figures = view.metrics.get(split, {})
    if figures.get("most_confused"):  # very many classes: metrics.json keeps the pairs alone
        pairs = [tuple(pair) for pair in figures["most_confused"]]
        return {"split": split, "pairs": pairs[:10], "top_chart": plots.top_confusions_chart(pairs[:30])}
    matrix = figures.get("confusion_matrix")
    if matrix is None or not view.card:
        return None
    matrix = np.asarray(matrix)
    names = view.targets.class_names
    pairs = most_confused(matrix, names)
    result = {"split": split, "pairs": pairs[:10]}
    if len(names) <= MAX_HEATMAP_CLASSES:
        result["counts"] = plots.confusion_heatmap(matrix, names, normalise=False)
        result["normalised"] = plots.confusion_heatmap(matrix, names, normalise=True)
    else:
        result["top_chart"] = plots.top_confusions_chart(pairs[:30])
    return result


def most_confused(matrix: np.ndarray, names: list[str]) -> list[tuple[str, str, int]]:
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None)
    pairs = []
    for flat in order:
        i, j = divmod(int(flat), off.shape[1])
        if off[i, j] == 0:
            break
        pairs.append((names[i], names[j], int(off[i, j])))
    return pairs


# ------------------------------------------------------------------ images


def image_shape(view: RunView) -> Optional[tuple[int, int]]:
    shape = view.card.image_shape if view.card else None
    if not shape or len(shape) < 2:
        return None
    return int(shape[0]), int(shape[1])


def first_layer_weights(view: RunView, units: int = 64) -> Optional[dict]:
    """Each first-layer unit's incoming weights as an image (the crash course's Task 3), and
    which units those are: the grid shows the first `units` of the layer's."""
    if view.weights is None:
        return None
    hidden = "body.0.weight" in view.weights
    weight = view.weights["body.0.weight" if hidden else "head.weight"]
    image = weight_images(view, weight, units)
    if image is None:
        return None
    total = int(weight.shape[0])
    return {"image": image, "shown": min(units, total), "total": total,
            "layer": "first hidden layer" if hidden else "output layer (a linear model)"}


def weight_snapshots(view: RunView, units: int = 16) -> list[tuple[int, str]]:
    """(step, image grid) of the first layer at each train.weight_snapshots step."""
    shots = [(step, weight_images(view, weight, units)) for step, weight in RunDir(view.path).read_snapshots()]
    return [(step, image) for step, image in shots if image]


def weight_images(view: RunView, weight, units: int) -> Optional[str]:
    shape = image_shape(view)
    if shape is None:
        return None
    weights = weight.float().numpy()                       # (units, inputs)
    if weights.shape[1] != shape[0] * shape[1]:
        return None  # colour images: the channels do not fold into one picture
    shown = weights[:units].reshape(-1, *shape)
    return plots.image_grid(shown, [f"unit {i}" for i in range(len(shown))], symmetric=True,
                            cmap="gray", columns=min(8, len(shown)))


def example_images(view: RunView) -> Optional[tuple[np.ndarray, np.ndarray]]:
    p, shape = view.predictions, image_shape(view)
    if p is None or shape is None or "example_x" not in p:
        return None
    return p["example_rows"], p["example_x"].reshape(-1, *shape)


def gallery(view: RunView) -> Optional[str]:
    """Misclassified examples with the highest loss: true label, predicted label, probability."""
    examples = example_images(view)
    if examples is None or not isinstance(view.targets, SingleLabel):
        return None
    rows, images = examples
    worst = slice(min(FIRST, len(view.predictions["y"])), None)
    if len(rows[worst]) == 0:
        return None
    titles = [caption(view, int(r)) for r in rows[worst]]
    return plots.image_grid(images[worst], titles, columns=6, cell=1.6)


def caption(view: RunView, row: int) -> str:
    t, p = view.targets, view.predictions
    truth = t.true_classes(p["y"][row:row + 1])[0]
    proba = t.class_probabilities(p["scores"][row:row + 1].astype(np.float32))[0]
    pred = int(proba.argmax())
    return f"true {t.class_names[truth]}\npred {t.class_names[pred]} ({proba[pred]:.2f})"


def first_predictions(view: RunView) -> Optional[dict]:
    """The first predictions beside the true labels, with images when the data has them."""
    p, t = view.predictions, view.targets
    if p is None or not isinstance(t, SingleLabel):
        return None
    n = min(FIRST, len(p["y"]))
    truth = t.true_classes(p["y"][:n])
    pred = t.predicted_classes(p["scores"][:n].astype(np.float32))
    rows = [{"row": i, "true": t.class_names[a], "pred": t.class_names[b], "ok": a == b}
            for i, (a, b) in enumerate(zip(truth, pred))]
    examples = example_images(view)
    picture = None
    if examples is not None:
        titles = [f"{r['true']} → {r['pred']}" for r in rows]
        picture = plots.image_grid(examples[1][:n], titles, columns=10, cell=1.3)
    return {"split": str(p["split"]), "rows": rows, "picture": picture}


def regression(view: RunView) -> Optional[dict]:
    p = view.predictions
    if p is None or view.targets is None or view.targets.is_classifier:
        return None
    actual, predicted = p["y"][:, 0], p["scores"][:, 0].astype(np.float64)
    scatter, residuals = plots.regression_plots(actual, predicted)
    return {"split": str(p["split"]), "scatter": scatter, "residuals": residuals}
