"""DenseRegressor: one target, or several (y with one column per target)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin

from densekit.estimators.base import DenseEstimator, Targets
from densekit.estimators.docs import REGRESSOR_EXTRA, docstring
from densekit.estimators.inputs import InvalidInput
from densekit.estimators.settings import REGRESSOR


class DenseRegressor(RegressorMixin, DenseEstimator):
    __doc__ = docstring(
        "A dense neural network regressor, scikit-learn style: one target, or several when y "
        "has one column per target.", REGRESSOR_EXTRA)

    _parameters = REGRESSOR

    def __init__(self, hidden="auto", activation="relu", dropout=0.2, batch_norm=False, l2=0.0,
                 optimizer="adam", lr=0.001, momentum=0.0, weight_decay=0.0, batch_size=None,
                 epochs=None, schedule="auto", clip_norm=None, validation_split=0.2,
                 patience="auto", monitor="val_loss", missing="median", loss=None,
                 standardize_target=True, device="auto", random_state=None, warm_start=False,
                 verbose=False, settings=None):
        self.hidden = hidden
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.l2 = l2
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.schedule = schedule
        self.clip_norm = clip_norm
        self.validation_split = validation_split
        self.patience = patience
        self.monitor = monitor
        self.missing = missing
        self.loss = loss
        self.standardize_target = standardize_target
        self.device = device
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.settings = settings

    def partial_fit(self, X, y):
        """One more epoch over the rows given (all of them), continuing the fitted network.
        The first call fixes the input scaling (and target scaling) from its rows."""
        return self._train(X, y, continuing=hasattr(self, "model_"), one_epoch=True)

    def _targets(self, y: np.ndarray, continuing: bool, classes: Any) -> Targets:
        targets = 1 if y.ndim == 1 else y.shape[1]
        if continuing and targets != self.n_outputs_:
            raise InvalidInput(f"y has {targets} target column(s) but the model was fitted on "
                               f"{self.n_outputs_}.")
        return Targets(y.astype(np.float64), "regression")

    def predict(self, X) -> np.ndarray:
        """Predicted values: (rows,) for one target, (rows, targets) for several."""
        values = self._task().probabilities(self._logits(X)).numpy()
        return values[:, 0] if values.shape[1] == 1 else values

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
