"""The served model: a batch of requests' rows through the saved encoder (Predictor.check, as
`densekit predict` encodes a file), the backend, and the task's labels, back to one JSON answer
per request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd

from densekit.logs import Log, library_log
from densekit.serve.backend import make_backend
from densekit.serve.inputs import Payload
from densekit.serve.schema import Schema
from densekit.session.predict import Predictor
from densekit.tasks.base import Task
from densekit.tasks.classify import SingleLabel
from densekit.tasks.multilabel import Multilabel
from densekit.version import __version__

MANY_CLASSES = 10   # above this, answers carry the top TOP_K probabilities unless asked otherwise
TOP_K = 5


class ServedModel:
    def __init__(self, predictor: Predictor, scores, schema: Schema):
        self.predictor, self.scores, self.schema = predictor, scores, schema
        self.task = predictor.task
        self.names = [str(n) for n in self.task.class_names]

    @classmethod
    def load(cls, run_dir: str | Path, backend: str = "auto", onnx_file: Optional[Path] = None,
             log: Log = library_log) -> "ServedModel":
        predictor = Predictor.load(run_dir, log)
        scores = make_backend(predictor, Path(run_dir), backend, onnx_file, log)
        return cls(predictor, scores, Schema.of(predictor))

    @property
    def backend(self) -> str:
        return self.scores.name

    # ------------------------------------------------------------ the batch (worker thread)

    def predict_batch(self, payloads: list[Payload]) -> list[bytes]:
        scores = self.scores(self.inputs([p.rows for p in payloads]))  # (rows, outputs)
        answers, start = [], 0
        for p in payloads:
            answers.append(self.answer(scores[start:start + p.count], p.top_k))
            start += p.count
        return answers

    def inputs(self, parts: list) -> np.ndarray:
        """The network's inputs for every row of the batch, checked and encoded as predict does."""
        if self.schema.encoded:
            frame = pd.DataFrame({name: [v for part in parts for v in part[name]]
                                  for name in self.schema.names})
            return self.predictor.check(frame)
        return self.predictor.check(parts[0] if len(parts) == 1 else np.concatenate(parts))

    def answer(self, scores: np.ndarray, top_k: Optional[int]) -> bytes:
        return json.dumps({"predictions": self.rows(scores, top_k)}).encode()

    def rows(self, scores: np.ndarray, top_k: Optional[int]) -> list[dict]:
        outputs = self.task.per_output()
        if outputs:  # several outputs: one field per output, each answered as a run of its own
            fields = {name: answer_rows(task, scores[:, out], top_k) for name, task, out, _ in outputs}
            return [dict(zip(fields, row)) for row in zip(*fields.values())]
        if self.task.scores_in_chunks:  # very many classes: only the top ones were computed
            return self.top_classes(self.task.decode(scores), scores, top_k)
        return answer_rows(self.task, scores, top_k)

    def top_classes(self, labels: np.ndarray, scores: np.ndarray, top_k: Optional[int]) -> list[dict]:
        """The most probable class and the top k (at most the task's top_k(), the classes
        `densekit predict` writes) with their probabilities under the full softmax."""
        ids, proba, _ = self.task.split_scores(scores)
        k = min(top_k or TOP_K, ids.shape[1])
        return [{"label": plain(label),
                 "probabilities": {self.names[c]: float(p) for c, p in zip(row[:k], chance[:k])}}
                for label, row, chance in zip(labels, ids, proba)]


    # ------------------------------------------------------------ GET /metadata

    def metadata(self, settings: dict[str, Any]) -> dict[str, Any]:
        card = self.predictor.card
        values = {
            "densekit_version": __version__, "task": self.task.name,
            "features": [c.to_json() for c in self.schema.columns],
            "model_sha256": card.weights_sha256, "backend": self.backend,
            "n_inputs": card.n_inputs, "limits": settings,
        }
        if self.task.is_classifier:
            values["classes"] = [plain(c) for c in self.task.classes]
            values["class_names"] = self.names
        if self.task.per_output():
            values["outputs"] = {name: {"task": task.name, **({"classes": [plain(c) for c in task.classes]}
                                                           if task.is_classifier else {})}
                                 for name, task, _, _ in self.task.per_output()}
        if card.image_shape:
            values["image_shape"] = list(card.image_shape)
        return values


def plain(value: Any) -> Any:
    """NumPy scalars as the Python values JSON writes."""
    return value.item() if isinstance(value, np.generic) else value


def answer_rows(task: Task, scores: np.ndarray, top_k: Optional[int]) -> list[dict]:
    """One answer per row: the label and the top probabilities, the labels that are on, or
    the value(s)."""
    labels, names = task.decode(scores), [str(n) for n in task.class_names]
    if isinstance(task, SingleLabel):
        probabilities = task.class_probabilities(scores)
        k = min(top_k or (TOP_K if len(names) > MANY_CLASSES else len(names)), len(names))
        return [{"label": plain(label), "probabilities": top(names, row, k)}
                for label, row in zip(labels, probabilities)]
    if isinstance(task, Multilabel):
        return [{"labels": [n for n, on in zip(names, flags) if on],
                 "probabilities": dict(zip(names, map(float, row)))}
                for flags, row in zip(labels, scores)]
    if scores.shape[1] == 1:
        return [{"value": float(v)} for v in scores[:, 0]]
    return [{"values": list(map(float, row))} for row in scores]


def top(names: list[str], row: np.ndarray, k: int) -> dict[str, float]:
    if k >= len(names):
        return dict(zip(names, map(float, row)))
    best = np.argsort(-row, kind="stable")[:k]   # most probable first
    return {names[i]: float(row[i]) for i in best}
