"""What DenseClassifier and DenseRegressor share: training through densekit's own loop
(api.train_in_memory: the command line's defaults and fast paths, no files, no signal
handlers), continued training (warm_start, partial_fit), and the forward pass predictions
are read from."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Optional

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, is_classifier
from sklearn.utils.validation import check_is_fitted

from densekit.api import train_in_memory
from densekit.config import Config
from densekit.data import dataset_from_memory
from densekit.data.preprocess import Preprocessor, smooth_clip
from densekit.estimators import inputs
from densekit.estimators.inputs import InvalidInput, sklearn_errors
from densekit.estimators.runfiles import save_run
from densekit.estimators.settings import MAX_SEED, build_config, seed_from, training_rows
from densekit.logs import console_log
from densekit.nn.auto import AUTO_KEYS
from densekit.session.finish import TrainResult
from densekit.session.pipeline import Fitted
from densekit.session.predict import Predictor, saved_encoder
from densekit.tasks import Task, build_task, task_from_json

ARCHITECTURE = ("hidden", "activation", "batch_norm", "use_bias")


@dataclass
class Targets:
    """The labels of one fit, as densekit reads them, and what they decide."""

    y: np.ndarray
    kind: str                                   # the task: binary, multiclass, multilabel, regression
    learned: dict = field(default_factory=dict)  # attributes set once training succeeds (classes_)
    fixed_classes: Optional[np.ndarray] = None  # partial_fit(classes=...) on a first call


class DenseEstimator(BaseEstimator):
    """Shared by the estimators; not an estimator by itself."""

    _parameters: ClassVar[dict[str, str]]  # parameter -> configuration key

    # ------------------------------------------------------------ training

    def fit(self, X, y, validation_data=None):
        """Train on all rows of X (less `validation_split` of them, when above 0).

        validation_data: optional (X_val, y_val), scored after every epoch (history_) and
        used by early stopping (`patience`) instead of rows held out of X.
        With warm_start=True and a fitted model, training continues from its weights, input
        scaling and classes for `epochs` more epochs."""
        continuing = bool(self.warm_start) and hasattr(self, "model_")
        return self._train(X, y, validation_data, continuing=continuing)

    def _train(self, X, y, validation_data=None, *, continuing: bool, one_epoch: bool = False,
               classes: Any = None):
        with sklearn_errors(self._parameters):
            numeric = not is_classifier(self)
            x, y = inputs.training_data(self, X, y, reset=not continuing, y_numeric=numeric)
            targets = self._targets(y, continuing, classes)
            x_val, y_val = inputs.validation_rows(self, validation_data, numeric)
            if x_val is None and not one_epoch:
                inputs.check_rows_to_hold_out(self, x.shape[0])
            dataset = dataset_from_memory(x, targets.y, feature_names=self._names(x),
                                          x_validation=x_val, y_validation=y_val)
            cfg = self._config(targets.kind, x.shape[0], x_val is not None, one_epoch, continuing)
            result = train_in_memory(
                cfg, dataset, log=console_log if self.verbose else None, quiet=not self.verbose,
                initial_weights=self._weights_to_continue(cfg, continuing),
                fitted=self._fitted_state(cfg, targets, continuing))
        self._keep(result, cfg, continuing)
        for name, value in targets.learned.items():
            setattr(self, name, value)
        return self

    def _targets(self, y: np.ndarray, continuing: bool, classes: Any) -> Targets:
        """The task and encoded labels: DenseClassifier and DenseRegressor each define it."""
        raise TypeError(f"{type(self).__name__} does not say how to read y; use "
                        "DenseClassifier or DenseRegressor.")

    def _names(self, x) -> Optional[list[str]]:
        return None if isinstance(x, pd.DataFrame) else inputs.feature_names(self)

    def _config(self, kind: str, rows: int, has_validation_data: bool, one_epoch: bool,
                continuing: bool) -> Config:
        seed = seed_from(self.random_state)
        if continuing and isinstance(self.random_state, numbers.Integral):
            seed = (seed + self._trainings) % (MAX_SEED + 1)  # new sample orders each time
        cfg = build_config(self.get_params(), self._parameters, kind, self.settings, seed)
        if continuing:  # what "auto" chose for the fitted network stays: its weights fit it
            fitted = {k: self.card_.model[k] for k in AUTO_KEYS if getattr(cfg.model, k) == "auto"}
            cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update=fitted)})
        if one_epoch:  # partial_fit: one pass over the rows given, all of them
            cfg.train.steps, cfg.train.epochs = None, 1
            cfg.data.validation_split = 0.0
            cfg.train.early_stopping.patience = None
            has_validation_data = False
        # As scikit-learn's MLP does: a batch larger than the data is the whole data (a batch
        # left open is chosen from the rows by the training budget, as the command line does).
        if cfg.train.batch_size is not None:
            rows = training_rows(rows, cfg.data.validation_split, has_validation_data)
            cfg.train.batch_size = max(1, min(cfg.train.batch_size, rows))
        return cfg

    def _weights_to_continue(self, cfg: Config, continuing: bool) -> Optional[dict]:
        if not continuing:
            return None
        before, now = self.card_.model, cfg.model.model_dump(mode="json")
        changed = [k for k in ARCHITECTURE if before.get(k) != now.get(k)]
        if changed:
            raise InvalidInput(
                f"warm_start continues the fitted network, but {', '.join(changed)} changed "
                f"since it was fitted ({', '.join(f'{k}={before.get(k)!r}' for k in changed)}). "
                "Set warm_start=False to train a new network.")
        return {k: v.clone() for k, v in self.model_.state_dict().items()}

    def _fitted_state(self, cfg: Config, targets: Targets, continuing: bool) -> Optional[Fitted]:
        """Continued training keeps the label coding, input scaling and encoder it began with;
        classes given to partial_fit's first call fix the outputs (its rows may lack some)."""
        if continuing:
            card = self.card_
            return Fitted(task_from_json(card.targets), Preprocessor.from_json(card.preprocessing),
                          saved_encoder(card.table_encoder))
        if targets.fixed_classes is not None:
            task, _ = build_task(targets.fixed_classes, targets.kind, cfg.model.loss, None, None,
                                 False)
            return Fitted(task=task)
        return None

    def _keep(self, result: TrainResult, cfg: Config, continuing: bool) -> None:
        before = self.history_ if continuing else []
        self.model_ = result.model.cpu().eval()
        self.card_ = result.card
        self.config_ = result.config.to_dict()  # with the budget and network densekit chose
        self.history_ = before + continued(before, result.history)
        self.n_iter_ = (self.n_iter_ if continuing else 0) + result.info["epochs"]
        self.n_outputs_ = result.card.n_outputs
        self.metrics_ = result.metrics
        self._run_info = result.info
        self._trainings = (self._trainings if continuing else 0) + 1

    # ------------------------------------------------------------ the fitted network

    def _task(self) -> Task:
        check_is_fitted(self)
        return task_from_json(self.card_.targets)

    def _logits(self, X) -> torch.Tensor:
        """(rows, outputs) float64 raw scores. Computed in float64 (the weights are float32):
        a row's prediction is then the same alone or in any batch, to far below 1e-7."""
        check_is_fitted(self)
        with sklearn_errors(self._parameters):
            x = self._encoded(X)
            return forward64(self.model_, Preprocessor.from_json(self.card_.preprocessing), x)

    def _encoded(self, X) -> np.ndarray:
        encoder = saved_encoder(self.card_.table_encoder)
        x = inputs.prediction_data(self, X, frames=encoder is not None)
        if encoder is None:
            return x
        if not isinstance(x, pd.DataFrame):  # numbers with gaps, filled by the saved encoder
            columns = getattr(encoder, "columns", None) or [encoder.column]
            x = pd.DataFrame(x, columns=columns)
        return Predictor.from_card(self.model_, self.card_).check(x)

    def save(self, path: str | Path) -> Path:
        """Write the fitted model as a run directory (model, configuration, history, metrics)
        that `densekit.load(path)`, `densekit predict`, `densekit evaluate` and
        `densekit report` read like any other. The folder must not exist or be empty."""
        check_is_fitted(self)
        return save_run(path, self.model_, self.card_, self.config_, self.history_,
                        self.metrics_, self._run_info)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = self.missing != "error"
        return tags


def forward64(model: torch.nn.Module, prep: Preprocessor, x: np.ndarray) -> torch.Tensor:
    x = np.asarray(x, dtype=np.float64)
    if prep.kind == "table":
        x = (x - prep.mean.astype(np.float64)) / prep.std.astype(np.float64)
        if prep.clip is not None:  # as Preprocessor.transform does, in float64
            x[:, prep.clip] = smooth_clip(x[:, prep.clip])
    elif prep.kind == "image":
        x = x * prep.pixel_scale - prep.pixel_shift
    weights = {k: v.double() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    with torch.inference_mode():
        return torch.func.functional_call(model, weights, (torch.from_numpy(x),))


def continued(before: list[dict], records: list[dict]) -> list[dict]:
    """History records of continued training, numbered on from the earlier ones."""
    if not before:
        return list(records)
    step, epoch = before[-1]["step"], before[-1]["epoch"]
    return [{**r, "step": r["step"] + step, "epoch": round(r["epoch"] + epoch, 4)} for r in records]
