"""Metrics from scikit-learn, on outputs already turned into probabilities or values.

The tasks import scikit-learn inside the functions that use it: it takes about a second to
import, and a command that only predicts never needs it (tests/test_startup.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

# Lower is better for these history keys; every other metric is better when higher.
LOWER_IS_BETTER = ("loss", "log_loss", "mae", "mse", "rmse", "hamming_loss")


def lower_is_better(key: str) -> bool:
    """By the metric's name, also after an output's name (val_body_mass_g_mae)."""
    key = key.removeprefix("val_").removeprefix("train_")
    return any(key == name or key.endswith("_" + name) for name in LOWER_IS_BETTER)


def classification_metrics(truth: np.ndarray, pred: np.ndarray, proba: np.ndarray,
                           class_names: list) -> dict[str, Any]:
    from sklearn import metrics as skm
    labels = list(range(len(class_names)))
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        truth, pred, labels=labels, zero_division=0)
    per_class = {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                 for name, p, r, f, s in zip(class_names, precision, recall, f1, support)}
    return {
        "accuracy": float(skm.accuracy_score(truth, pred)),
        "log_loss": float(skm.log_loss(truth, rows_summing_to_one(proba), labels=labels)),
        "precision_macro": float(precision.mean()),
        "recall_macro": float(recall.mean()),
        "f1_macro": float(f1.mean()),
        "per_class": per_class,
        "confusion_matrix": skm.confusion_matrix(truth, pred, labels=labels).tolist(),
    }


def rows_summing_to_one(proba: np.ndarray) -> np.ndarray:
    """float64 rows that sum to one, divided by their sums, for scikit-learn's log loss, which
    warns when a row misses 1 by more than sqrt(eps) of its dtype. float32 rows: the clip away
    from 0 (a finite loss where p = 0, as tasks/many_classes.py computes it) adds up to
    classes × 1e-7, beyond 3.5e-4 from about 3,500 classes; float32 rows upcast: their
    rounding (2e-7) alone is beyond float64's 1.5e-8."""
    clipped = np.clip(proba.astype(np.float64), 1e-7, 1.0)
    return clipped / clipped.sum(axis=1, keepdims=True)


def regression_metrics(y: np.ndarray, values: np.ndarray) -> dict[str, Any]:
    from sklearn import metrics as skm
    mse = float(skm.mean_squared_error(y, values))
    return {"mae": float(skm.mean_absolute_error(y, values)), "mse": mse,
            "rmse": float(np.sqrt(mse)), "r2": float(skm.r2_score(y, values))}


def multilabel_metrics(truth: np.ndarray, pred: np.ndarray, label_names: list) -> dict[str, Any]:
    from sklearn import metrics as skm
    precision, recall, f1, support = skm.precision_recall_fscore_support(truth, pred, zero_division=0)
    per_label = {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                 for name, p, r, f, s in zip(label_names, precision, recall, f1, support)}
    return {
        "subset_accuracy": float(skm.accuracy_score(truth, pred)),
        "hamming_loss": float(skm.hamming_loss(truth, pred)),
        "f1_micro": float(skm.f1_score(truth, pred, average="micro", zero_division=0)),
        "f1_macro": float(skm.f1_score(truth, pred, average="macro", zero_division=0)),
        "per_label": per_label,
    }
