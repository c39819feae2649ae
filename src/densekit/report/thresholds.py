"""ROC and precision-recall curves with their areas, for binary and multi-label tasks: how the
decision threshold (0.5 by default) trades false alarms against misses. Read from
predictions.npz: the held-out labels and the predicted probabilities."""

from __future__ import annotations

from typing import Optional

import numpy as np
from sklearn.metrics import auc, precision_recall_curve, roc_curve

from densekit.report import plots

MAX_LABELS = 8  # beyond this a multi-label chart is a tangle; the first ones are drawn


def positive_scores(view) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(positive class name, 0/1 truth, probability of that class) for each curve to draw."""
    p, task = view.predictions, view.targets
    if p is None or task is None:
        return []
    return task.yes_no_outcomes(p["y"], p["scores"].astype(np.float32))[:MAX_LABELS]


def threshold_curves(view) -> Optional[dict]:
    """The two figures and a table of areas; None when no class has both outcomes held out."""
    roc, pr, rows = {}, {}, []
    for name, truth, proba in positive_scores(view):
        if truth.min() == truth.max():
            continue  # one outcome only: no curve can be drawn
        fpr, tpr, _ = roc_curve(truth, proba)
        precision, recall, _ = precision_recall_curve(truth, proba)
        roc_auc, pr_auc = float(auc(fpr, tpr)), float(auc(recall, precision))
        roc[f"{name} (AUC {roc_auc:.3f})"] = (fpr, tpr)
        pr[f"{name} (AUC {pr_auc:.3f})"] = (recall, precision, float(truth.mean()))
        rows.append({"name": name, "roc_auc": roc_auc, "pr_auc": pr_auc,
                     "positives": int(truth.sum()), "rows": len(truth)})
    if not rows:
        return None
    return {"split": str(view.predictions["split"]), "rows": rows,
            "roc": plots.roc_curves(roc), "pr": plots.precision_recall_curves(pr)}
