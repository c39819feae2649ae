"""Prediction from a run directory alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
import torch

from densekit.config import ModelConfig
from densekit.data import Part, read_part
from densekit.data.images import images_to_predict
from densekit.data.labels import as_label_lists, label_matrix
from densekit.data.preprocess import Preprocessor
from densekit.data.tables import TableEncoder
from densekit.data.text import TextEncoder
from densekit.errors import DensekitError
from densekit.logs import Log, library_log
from densekit.nn.embeddings import embedded_columns
from densekit.nn.model import DenseNet
from densekit.rundir.card import ModelCard
from densekit.rundir.run import RunDir
from densekit.tasks import Task, task_from_json
from densekit.training.evaluation import as_tensor, scores_of


class Predictor:
    """A trained network with its preprocessing and label coding, loaded from a run."""

    def __init__(self, model: DenseNet, task: Task, prep: Preprocessor, card: ModelCard,
                 log: Optional[Log] = None):
        self.model, self.task, self.prep, self.card = model.eval(), task, prep, card
        self.feature_names: list[str] = card.feature_names
        self.encoder = saved_encoder(card.table_encoder)
        self.log = log or library_log

    def read_features(self, path: Path, require_label: bool) -> Part:
        """A file's rows as the network's inputs (mixed tables go through the saved encoder)."""
        label = self.card.label_column
        if path.is_dir():
            part, _ = images_to_predict(path, self.card.image_shape)
        elif self.encoder is None:
            part = read_part(path, label, self.feature_names, require_label)
        else:
            part = read_part(path, label, self.feature_names, require_label, as_frame=True)
            x, unseen = self.encoder.transform(part.x, "input")
            if unseen:
                self.log(f"note: {unseen} value(s) in {path} are categories never seen in "
                         "training; they were encoded as absent.")
            part = Part(x, part.y)
        return Part(part.x, self.label_lists(part.y))

    def label_lists(self, y):
        """Delimited label lists ("a|b") as the 0/1 matrix the model was trained on."""
        delimiter = self.card.label_delimiter
        if y is None or not delimiter or y.ndim != 1:
            return y
        if self.task.scores_in_chunks:  # very many classes: lists, never rows × classes
            return as_label_lists(y, delimiter)
        return label_matrix(y, delimiter, [str(n) for n in self.task.class_names])

    @classmethod
    def load(cls, run_dir: str | Path, log: Optional[Log] = None) -> "Predictor":
        run = RunDir.open(run_dir)
        card, weights = run.load_model()
        try:
            cfg, prep = ModelConfig(**card.model), Preprocessor.from_json(card.preprocessing)
            model = DenseNet(card.n_inputs, card.n_outputs, cfg, embedded_columns(cfg.embedding, prep))
            model.load_state_dict(weights)
            return cls(model, task_from_json(card.targets), prep, card, log)
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise DensekitError(f"{run.file('model.json')} and model.safetensors do not describe "
                                f"a loadable model ({err}). Were they edited by hand?") from None

    @classmethod
    def from_card(cls, model: DenseNet, card: ModelCard, log: Optional[Log] = None) -> "Predictor":
        """A Predictor for a model still in memory (a TrainResult's .model and .card)."""
        return cls(model, task_from_json(card.targets), Preprocessor.from_json(card.preprocessing),
                   card, log)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Probabilities (classification) or values in label units (regression): (rows, outputs)."""
        x = self.check(x)
        with torch.inference_mode():
            return scores_of(self.model, self.prep, self.task, as_tensor(self.prep.transform(x)))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted labels (classification) or values (regression)."""
        return self.decode(self.scores(x))

    def decode(self, scores: np.ndarray) -> np.ndarray:
        return self.task.decode(scores)

    def frame(self, x: np.ndarray) -> pd.DataFrame:
        """Predictions as a table: a prediction column, then one probability column per class."""
        return self.task.prediction_frame(self.scores(x))

    def check(self, x) -> np.ndarray:
        if isinstance(self.encoder, TextEncoder) and isinstance(x, (str, list, tuple, pd.Series)):
            x = pd.DataFrame({self.encoder.column: [x] if isinstance(x, str) else list(x)})
        if self.encoder is not None and isinstance(x, pd.DataFrame):
            x, _ = self.encoder.transform(x, "input")
        x = np.asarray(x)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        x = x.reshape(len(x), -1)
        expected = self.card.n_inputs
        if x.shape[1] != expected:
            raise DensekitError(f"The input has {x.shape[1]} features per row but the model "
                                f"expects {expected} ({', '.join(self.feature_names[:5])}…).")
        if x.dtype.kind not in "biuf":
            raise DensekitError(f"The input must be numeric; it is of type {x.dtype}.")
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            rows = int((~np.isfinite(x)).any(axis=1).sum())
            raise DensekitError(f"The input has NaN or infinite values in {rows} row(s); the model "
                                "cannot predict from them. Fill or drop those rows.")
        return x


def saved_encoder(values: dict[str, Any] | None) -> TableEncoder | TextEncoder | None:
    if not values:
        return None
    if values.get("kind") == "text":
        return TextEncoder.from_json(values)
    return TableEncoder.from_json(values)
