"""Metrics from scikit-learn, on outputs already turned into probabilities or values."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics as skm

from densekit.tasks.kinds import Targets

# Lower is better for these history keys; every other metric is better when higher.
LOWER_IS_BETTER = ("loss", "log_loss", "mae", "mse", "rmse", "hamming_loss")


def lower_is_better(key: str) -> bool:
    return key.removeprefix("val_").removeprefix("train_") in LOWER_IS_BETTER


def quick_metrics(targets: Targets, y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """The headline metric logged at every evaluation (besides the loss)."""
    if targets.task == "regression":
        return {"mae": float(skm.mean_absolute_error(y, scores))}
    if targets.task == "multilabel":
        return {"subset_accuracy": float(skm.accuracy_score(y, scores >= 0.5))}
    return {"accuracy": float(skm.accuracy_score(true_classes(targets, y),
                                                 predicted_classes(targets, scores)))}


def full_metrics(targets: Targets, y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """Everything metrics.json holds for one split. y: encoded targets; scores: probabilities."""
    if targets.task == "regression":
        return regression_metrics(y, scores)
    if targets.task == "multilabel":
        return multilabel_metrics(targets, y, scores)
    return classification_metrics(targets, y, scores)


def classification_metrics(targets: Targets, y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    truth = true_classes(targets, y)
    pred = predicted_classes(targets, scores)
    labels = list(range(len(targets.classes)))
    proba = class_probabilities(targets, scores)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        truth, pred, labels=labels, zero_division=0)
    per_class = {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                 for name, p, r, f, s in zip(targets.class_names, precision, recall, f1, support)}
    return {
        "accuracy": float(skm.accuracy_score(truth, pred)),
        "log_loss": float(skm.log_loss(truth, np.clip(proba, 1e-7, 1.0), labels=labels)),
        "precision_macro": float(precision.mean()),
        "recall_macro": float(recall.mean()),
        "f1_macro": float(f1.mean()),
        "per_class": per_class,
        "confusion_matrix": skm.confusion_matrix(truth, pred, labels=labels).tolist(),
    }


def regression_metrics(y: np.ndarray, values: np.ndarray) -> dict[str, Any]:
    mse = float(skm.mean_squared_error(y, values))
    return {"mae": float(skm.mean_absolute_error(y, values)), "mse": mse,
            "rmse": float(np.sqrt(mse)), "r2": float(skm.r2_score(y, values))}


def multilabel_metrics(targets: Targets, y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    pred = (scores >= 0.5).astype(int)
    truth = y.astype(int)
    precision, recall, f1, support = skm.precision_recall_fscore_support(truth, pred, zero_division=0)
    per_label = {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                 for name, p, r, f, s in zip(targets.class_names, precision, recall, f1, support)}
    return {
        "subset_accuracy": float(skm.accuracy_score(truth, pred)),
        "hamming_loss": float(skm.hamming_loss(truth, pred)),
        "f1_micro": float(skm.f1_score(truth, pred, average="micro", zero_division=0)),
        "f1_macro": float(skm.f1_score(truth, pred, average="macro", zero_division=0)),
        "per_label": per_label,
    }


def true_classes(targets: Targets, y: np.ndarray) -> np.ndarray:
    if targets.task == "binary":
        return np.asarray(y).astype(np.int64).reshape(-1)
    if targets.soft_labels:
        return np.asarray(y).argmax(axis=1)
    return np.asarray(y).reshape(-1)


def predicted_classes(targets: Targets, scores: np.ndarray) -> np.ndarray:
    if targets.task == "binary":
        return (scores[:, 0] >= 0.5).astype(np.int64)
    return scores.argmax(axis=1)


def class_probabilities(targets: Targets, scores: np.ndarray) -> np.ndarray:
    """(n, classes) probabilities; binary's single sigmoid becomes two columns."""
    if targets.task == "binary":
        return np.column_stack([1.0 - scores[:, 0], scores[:, 0]])
    return scores
