"""From an estimator's constructor parameters to densekit's Config, validated in fit.

Parameters keep scikit-learn's conventions (stored untouched, random_state); every other
configuration key is reachable through `settings`, a mapping of dotted keys
({"train.schedule": "cosine"}, or "train__schedule" as scikit-learn spells nested names).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Mapping

import numpy as np
from sklearn.utils import check_random_state

from densekit.api import dotted
from densekit.config import MAX_SEED, Config, set_dotted
from densekit.errors import DensekitError, did_you_mean
from densekit.tasks import KINDS

# Parameter -> configuration key, for the parameters both estimators take.
COMMON = {
    "hidden": "model.hidden", "activation": "model.activation", "dropout": "model.dropout",
    "batch_norm": "model.batch_norm", "l2": "model.l2",
    "optimizer": "train.optimizer", "lr": "train.lr", "momentum": "train.momentum",
    "weight_decay": "train.weight_decay", "batch_size": "train.batch_size",
    "epochs": "train.epochs", "schedule": "train.schedule", "clip_norm": "train.clip_norm",
    "validation_split": "data.validation_split", "patience": "train.early_stopping.patience",
    "monitor": "train.early_stopping.monitor", "missing": "data.missing", "device": "train.device",
}
CLASSIFIER = {**COMMON, "class_weight": "train.class_weight",
              "label_smoothing": "model.label_smoothing"}
REGRESSOR = {**COMMON, "loss": "model.loss", "standardize_target": "model.standardize_target"}

# Keys the estimator decides itself: the data comes from fit's arguments, the task from the
# estimator's kind and the labels, the seed from random_state; held-out test rows are the
# caller's to keep (cross_val_score, train_test_split).
DECIDED = {
    "data.source": "the data comes from fit(X, y)",
    "data.test": "the data comes from fit(X, y)",
    "data.validation": "give validation rows as fit(X, y, validation_data=(X_val, y_val))",
    "data.label": "the labels come from fit(X, y)",
    "data.label_delimiter": "give a 2-D 0/1 indicator matrix as y for several labels per row",
    "data.task": "the estimator and the labels decide the task (DenseRegressor for values)",
    "data.test_split": "hold out test rows yourself (train_test_split, cross_val_score)",
    "data.folds": "use scikit-learn's cross_val_score or GridSearchCV for folds",
    "data.fold": "use scikit-learn's cross_val_score or GridSearchCV for folds",
    "train.seed": "set random_state",
    "out": "fit writes no files; call save(path) to write a run directory",
}
# Settings of files that fit never writes.
NO_FILES = ("train.checkpoint", "train.tensorboard", "train.weight_snapshots")


def build_config(params: Mapping[str, Any], names: Mapping[str, str], task: str,
                 settings: Any, seed: int) -> Config:
    """The Config for one training: defaults, then `settings`, then the parameters."""
    values: dict[str, Any] = {"data": {"task": task, "test_split": 0.0}, "train": {"seed": seed}}
    for key, value in checked_settings(settings, names).items():
        set_dotted(values, key, value)
    for param, key in names.items():
        set_dotted(values, key, config_value(param, params[param]))
    try:
        cfg = Config.from_dict(values)
    except DensekitError as err:
        raise DensekitError(with_parameter_names(str(err), names)) from None
    check_monitor(cfg, task)
    return cfg


def check_monitor(cfg: Config, task: str) -> None:
    """The loop skips a monitored name its records lack, so a misspelt one would silently
    turn early stopping off: refuse it here."""
    es = cfg.train.early_stopping
    metric = KINDS[task].main_metric
    known = ["val_loss", f"val_{metric}", "train_loss"] + (["train_accuracy"] if metric == "accuracy" else [])
    if es.patience and es.monitor not in known:
        raise DensekitError(f"monitor={es.monitor!r} is not a figure this estimator records; "
                            f"choose one of {', '.join(known)}.{did_you_mean(es.monitor, known)}")


def checked_settings(settings: Any, names: Mapping[str, str]) -> dict[str, Any]:
    if settings is None:
        return {}
    if not isinstance(settings, Mapping):
        raise DensekitError(f"settings must be a mapping of configuration keys to values, such "
                            f"as {{'train.schedule': 'cosine'}}; received {type(settings).__name__}.")
    keys = dotted({str(k): v for k, v in settings.items()})
    by_key = {key: param for param, key in names.items()}
    for key in keys:
        refuse_setting(key, by_key)
    return keys


def refuse_setting(key: str, by_key: Mapping[str, str]) -> None:
    if key in by_key:
        param = by_key[key]
        raise DensekitError(f"settings sets '{key}', which is the parameter {param}: pass "
                            f"{param}=... instead.")
    if key in DECIDED:
        raise DensekitError(f"settings cannot set '{key}': {DECIDED[key]}.")
    if any(key == k or key.startswith(k + ".") for k in NO_FILES):
        raise DensekitError(f"settings sets '{key}', which has no effect: fit writes no files. "
                            "Remove it (save(path) writes a run directory after fit).")


def config_value(param: str, value: Any) -> Any:
    """A parameter in the form the configuration takes (tuples as lists, class keys as text)."""
    if param == "hidden" and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return [int(value)]
    if isinstance(value, tuple):
        return list(value)
    if param == "class_weight" and isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def with_parameter_names(message: str, names: Mapping[str, str]) -> str:
    """A configuration message names keys ('train.lr'); the caller knows parameters ('lr')."""
    for param, key in names.items():
        message = message.replace(f"'{key}'", f"'{param}'")
    return message


def seed_from(random_state: Any) -> int:
    """An int random_state is the seed itself (as --seed on the command line); None or a
    RandomState draws one, as scikit-learn's estimators do."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        seed = int(random_state)
        if not 0 <= seed <= MAX_SEED:
            raise DensekitError(f"random_state must be from 0 to {MAX_SEED} (2**32 - 1), None or "
                                f"a numpy RandomState; received {seed}.")
        return seed
    try:
        return int(check_random_state(random_state).randint(0, MAX_SEED, dtype=np.int64))
    except ValueError:
        raise DensekitError(f"random_state must be an int, None or a numpy RandomState; "
                            f"received {random_state!r}.") from None


def training_rows(rows: int, validation_split: float, has_validation_data: bool) -> int:
    """Rows left to train on once the validation rows are held out (as split.py rounds)."""
    if has_validation_data or not validation_split:
        return rows
    return rows - math.ceil(validation_split * rows)
