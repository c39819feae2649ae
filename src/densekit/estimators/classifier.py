"""DenseClassifier: binary, multiclass, and multilabel when y is a 2-D 0/1 indicator matrix."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from densekit.estimators.base import DenseEstimator, Targets
from densekit.estimators.docs import CLASSIFIER_EXTRA, docstring
from densekit.estimators.inputs import InvalidInput
from densekit.estimators.settings import CLASSIFIER

# scikit-learn's name for a kind of target -> densekit's task
TASKS = {"binary": "binary", "multiclass": "multiclass", "multilabel-indicator": "multilabel"}


class DenseClassifier(ClassifierMixin, DenseEstimator):
    __doc__ = docstring(
        "A dense neural network classifier, scikit-learn style: binary and multiclass labels "
        "(numbers or strings), or several labels per row when y is a 2-D 0/1 indicator matrix.",
        CLASSIFIER_EXTRA,
        "classes_ : ndarray\n    The class labels (for multilabel y, the label columns 0..k-1).\n")

    _parameters = CLASSIFIER

    def __init__(self, hidden="auto", activation="relu", dropout=0.2, batch_norm=False, l2=0.0,
                 optimizer="adam", lr=0.001, momentum=0.0, weight_decay=0.0, batch_size=None,
                 epochs=None, schedule="auto", clip_norm=None, validation_split=0.2,
                 patience="auto", monitor="val_loss", missing="median", class_weight=None,
                 label_smoothing=0.0, device="auto", random_state=None, warm_start=False,
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
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing
        self.device = device
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.settings = settings

    def partial_fit(self, X, y, classes=None):
        """One more epoch over the rows given (all of them), continuing the fitted network.

        classes: every label the model will ever see, needed on the first call when that
        batch lacks some (as scikit-learn's partial_fit takes it); later calls may omit it.
        The first call fixes the classes and the input scaling (from its rows)."""
        return self._train(X, y, continuing=hasattr(self, "model_"), one_epoch=True,
                           classes=classes)

    # ------------------------------------------------------------ labels

    def _targets(self, y: np.ndarray, continuing: bool, classes: Any):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # a column vector: one label per row
        refuse_mixed_types(y)
        check_classification_targets(y)
        kind = TASKS[type_of_target(y)]
        if continuing:
            return Targets(y, self._continued_kind(y, classes))
        if y.ndim == 2:
            return Targets(y, kind, {"classes_": np.arange(y.shape[1])})
        labels = np.unique(y if classes is None else np.asarray(classes))
        refuse_unknown(y, labels)
        if len(labels) < 2:
            raise InvalidInput(
                f"{type(self).__name__} needs rows of at least 2 classes, but y holds only one "
                f"class: {labels[0]!r}. Check the labels, or that your split kept every class.")
        kind = "binary" if len(labels) == 2 else "multiclass"
        return Targets(y, kind, {"classes_": labels}, None if classes is None else labels)

    def _continued_kind(self, y: np.ndarray, classes: Any) -> str:
        """Continued training keeps the task of the first fit; the labels must fit it."""
        task = self._task()
        if (y.ndim == 2) != (not task.single_label):
            raise InvalidInput(f"y is {'an indicator matrix' if y.ndim == 2 else '1-D'}, but the "
                               "model was fitted on the other form; use warm_start=False.")
        if y.ndim == 2:
            if y.shape[1] != len(self.classes_):
                raise InvalidInput(f"y has {y.shape[1]} label columns but the model was fitted "
                                   f"on {len(self.classes_)}.")
            return task.name
        if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise InvalidInput(f"classes={np.asarray(classes).tolist()!r} differs from the classes "
                               f"the model was fitted with, {self.classes_.tolist()!r}.")
        refuse_unknown(y, self.classes_)
        return task.name

    # ------------------------------------------------------------ predictions

    def decision_function(self, X) -> np.ndarray:
        """Raw scores: (rows,) for binary (positive: classes_[1]), (rows, classes) otherwise."""
        out = self._logits(X).numpy()
        return out[:, 0] if out.shape[1] == 1 else out

    def predict_proba(self, X) -> np.ndarray:
        """(rows, classes) probabilities; for multilabel y, each label's own probability."""
        task = self._task()
        scores = task.probabilities(self._logits(X)).numpy()
        return task.class_probabilities(scores) if task.single_label else scores

    def predict(self, X) -> np.ndarray:
        """The most probable class per row; for multilabel y, a 0/1 row (probability at the
        decision threshold or above: 0.5, or the one chosen on validation data)."""
        proba = self.predict_proba(X)
        task = self._task()
        if task.single_label:
            return self.classes_[proba.argmax(axis=1)]
        return task.decode(proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


def refuse_unknown(y: np.ndarray, classes: np.ndarray) -> None:
    unknown = np.setdiff1d(np.unique(y), classes)
    if len(unknown):
        raise InvalidInput(f"y holds label(s) {unknown[:10].tolist()!r} that are not among the "
                           f"classes {np.asarray(classes)[:20].tolist()!r}.")


def refuse_mixed_types(y: np.ndarray) -> None:
    """Strings beside numbers ('a', 1) cannot be ordered into classes; say so plainly."""
    if y.dtype != object:
        return
    text = np.fromiter((isinstance(v, str) for v in y.ravel()), dtype=bool, count=y.size)
    if text.any() and not text.all():
        raise InvalidInput(
            f"y mixes text and number labels (for example {y.ravel()[text.argmax()]!r} and "
            f"{y.ravel()[(~text).argmax()]!r}); a class label must be one or the other. "
            "Convert them to one type, e.g. y.astype(str).")
