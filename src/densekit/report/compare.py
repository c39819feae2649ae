"""The comparison page's sections: which settings differ between the runs, their curves on
shared axes (losses apart when they are on different scales), one metrics table."""

from __future__ import annotations

import json
from typing import Any

import yaml

from densekit.config import BoundedLoader
from densekit.report import plots
from densekit.report.sections import RunView, summary_rows

METRIC_KEYS = ["accuracy", "loss", "f1_macro", "mae", "rmse", "r2", "subset_accuracy", "f1_micro"]
NOT_A_SETTING = {"out"}  # the run directory: the runs' names already say it


def run_labels(views: list[RunView]) -> list[str]:
    """Each run's folder name, or parent/name where two runs share a name."""
    names = [v.path.name for v in views]
    return [f"{v.path.parent.name}/{v.path.name}" if names.count(v.path.name) > 1 else v.path.name
            for v in views]


def differing_settings(views: list[RunView]) -> list[dict]:
    """The configuration keys whose values differ between the runs, read from config.yaml."""
    configs = [flatten(read_settings(v)) for v in views]
    keys = sorted({k for c in configs for k in c} - NOT_A_SETTING)
    rows = []
    for key in keys:
        values = [c.get(key, "—") for c in configs]
        if any(value != values[0] for value in values):
            rows.append({"key": key, "cells": [shown(value) for value in values]})
    return rows


def read_settings(view: RunView) -> dict:
    try:
        values = yaml.load(view.config_text, Loader=BoundedLoader)
    except (yaml.YAMLError, RecursionError):
        return {}  # a damaged config.yaml: nothing to compare, the page still draws
    return values if isinstance(values, dict) else {}


def flatten(values: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def shown(value: Any) -> str:
    """As YAML would write it: null, true, [128, 64]."""
    return value if isinstance(value, str) else json.dumps(value)


def standardised(view: RunView) -> bool:
    return bool(flatten(read_settings(view)).get("model.standardize_target", False))


def compared_curves(views: list[RunView]) -> dict:
    """Shared axes: epochs, or steps when a run was evaluated within epochs (periods). A loss
    on standardised targets is on another scale than a raw one, so such losses get their own
    axes (the metric, in the labels' units, stays shared)."""
    by_steps = any(float(r["epoch"]) % 1 for v in views for r in v.history)
    x_key = "step" if by_steps else "epoch"
    everyone = list(zip(run_labels(views), views))
    colours = {name: plots.PALETTE[i % len(plots.PALETTE)] for i, (name, _) in enumerate(everyone)}
    split_losses = len({standardised(v) for v in views}) > 1
    loss_groups = [("", everyone)]
    if split_losses:
        loss_groups = [("standardised target", [(n, v) for n, v in everyone if standardised(v)]),
                       ("raw target", [(n, v) for n, v in everyone if not standardised(v)])]
    figures = []
    for key in ("val_loss", f"val_{views[0].main_metric}", "train_loss"):
        for scale, members in (loss_groups if key.endswith("loss") else [("", everyone)]):
            title = key.replace("_", " ") + (f" ({scale})" if scale else "")
            figure = curve_figure(members, key, title, x_key, colours)
            if figure:
                figures.append({"title": title, "runs": [n for n, _ in members], "image": figure})
    return {"figures": figures, "losses_apart": split_losses}


def curve_figure(members: list[tuple[str, RunView]], key: str, title: str, x_key: str,
                 colours: dict[str, str]):
    series = {name: ([r[x_key] for r in v.history if key in r], [r[key] for r in v.history if key in r])
              for name, v in members}
    series = {name: s for name, s in series.items() if s[0]}
    return plots.curves(series, key.replace("_", " "), title, xlabel=x_key, colours=colours) if series else None


def compared_metrics(views: list[RunView]) -> dict:
    columns = [(split, key) for split in ("validation", "test") for key in METRIC_KEYS
               if any(key in v.metrics.get(split, {}) for v in views)]
    rows = []
    for name, v in zip(run_labels(views), views):
        params = summary_rows(v)
        rows.append({"name": name, "cells": [v.metrics.get(s, {}).get(k) for s, k in columns],
                     "params": params["total"] if params else None,
                     "steps": v.info.get("steps"), "seconds": v.info.get("train_seconds")})
    return {"columns": [f"{s} {k}" for s, k in columns], "rows": rows}
