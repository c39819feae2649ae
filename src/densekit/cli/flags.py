"""The training flags, each a configuration key, and how their text becomes a value."""

from __future__ import annotations

import argparse
from typing import Any, get_args

import yaml

from densekit.config import Activation, BoundedLoader, short
from densekit.errors import DensekitError


# flag -> dotted configuration key. Values are passed as text and validated by the config.
TRAIN_FLAGS = {
    "--data": ("data.source", "dataset name (digits, moons, fashion-mnist, …; `densekit datasets` lists them), "
                              "a CSV/TSV/Parquet/NPZ file, or a folder of images, NPY or IDX files"),
    "--test-data": ("data.test", "separate labelled test file"),
    "--validation-data": ("data.validation", "separate labelled validation file"),
    "--label": ("data.label", "label column of a table: name, or index from 0; a,b,c: one 0/1 column per label (multilabel)"),
    "--task": ("data.task", "binary | multiclass | multilabel | regression (default: inferred)"),
    "--missing": ("data.missing", "gaps in a table: median (default), mean, most_frequent, zero, or error (refuse)"),
    "--validation-split": ("data.validation_split", "fraction held out for validation (0.2)"),
    "--test-split": ("data.test_split", "fraction held out for testing when the data has no test part (0.2)"),
    "--hidden": ("model.hidden", "hidden layer widths, e.g. 128,64; 'none' for a linear model; auto: from the data"),
    "--activation": ("model.activation", f"{', '.join(get_args(Activation))}; or one per layer: relu,tanh"),
    "--dropout": ("model.dropout", "dropout rate after each hidden layer (0.2)"),
    "--loss": ("model.loss", "cross_entropy, binary_cross_entropy, mse, mae, huber (default: by task); "
                             "sampled-softmax or adaptive-softmax for very many classes (model.output)"),
    "--l2": ("model.l2", "L2 penalty on kernels"),
    "--l1": ("model.l1", "L1 penalty on kernels"),
    "--label-smoothing": ("model.label_smoothing", "multiclass cross-entropy label smoothing"),
    "--optimizer": ("train.optimizer", "sgd, adagrad, rmsprop, adam, adamw (adam)"),
    "--lr": ("train.lr", "learning rate (0.001)"),
    "--momentum": ("train.momentum", "momentum for sgd/rmsprop (refused with other optimizers)"),
    "--batch-size": ("train.batch_size", "rows per step (default: chosen from the training rows, 16 to 256)"),
    "--epochs": ("train.epochs", "passes over the training data (default: enough for about 10,000 steps, 20 to 200, with early stopping)"),
    "--steps": ("train.steps", "total optimizer steps; overrides --epochs"),
    "--schedule": ("train.schedule", "auto (plateau when densekit chooses the epochs, else constant), constant, step, cosine, one_cycle, plateau"),
    "--clip-norm": ("train.clip_norm", "clip gradients to this global norm"),
    "--eval-every": ("train.eval_every", "evaluate every N steps instead of every epoch"),
    "--periods": ("train.periods", "evaluate this many times, evenly spaced"),
    "--patience": ("train.early_stopping.patience", "early stopping after N evaluations without improvement (default auto: on when densekit chooses the epochs; null: off)"),
    "--class-weight": ("train.class_weight", "'balanced' or a YAML mapping such as '{0: 1, 1: 5}'"),
    "--seed": ("train.seed", "random seed (0)"),
    "--device": ("train.device", "auto | cpu | cuda"),
    "--threads": ("train.threads", "CPU threads for PyTorch (default 1: see the README's Speed section)"),
    "--out": ("out", "run directory (default runs/<data>-<time>); never overwritten"),
}
# --loss values that choose an output layer (model.output) rather than a loss on the logits
OUTPUT_LOSSES = {"sampled-softmax": "sampled_softmax", "sampled_softmax": "sampled_softmax",
                 "adaptive-softmax": "adaptive_softmax", "adaptive_softmax": "adaptive_softmax"}
FLAG_ALIASES = {"--out": ["--output", "-o"]}  # --output/-o: the name every other command uses
SWITCHES = {"--batch-norm": ("model.batch_norm", "batch normalisation after each hidden Dense"),
            "--nesterov": ("train.nesterov", "Nesterov momentum (sgd with --momentum)"),
            "--no-bias": ("model.use_bias", "dense layers without bias")}


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for flag, (key, _) in TRAIN_FLAGS.items():
        raw = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if raw is not None:
            values[key] = flag_value(key, raw)
    for flag, (key, _) in SWITCHES.items():
        if getattr(args, flag.lstrip("-").replace("-", "_"), False):
            values[key] = flag != "--no-bias"
    if values.get("model.loss") in OUTPUT_LOSSES:  # a whole output layer, not a loss on logits
        values["model.output"] = OUTPUT_LOSSES[values.pop("model.loss")]
    for item in args.set:
        key, sep, raw = item.partition("=")
        if not sep:
            raise DensekitError(f"--set expects KEY=VALUE (for example train.lr=0.01); received {short(item)}.")
        values[key.strip()] = set_value(raw)
    return values


def set_value(raw: str) -> Any:
    """A YAML scalar (numbers, booleans, lists); text YAML would misread stays as typed."""
    try:
        parsed = yaml.load(raw, Loader=BoundedLoader)
    except (yaml.YAMLError, RecursionError):
        return raw
    # "|" and ">" start YAML block scalars and parse as "": a delimiter was meant.
    return raw if parsed in ("", None) and raw.strip() not in ("", "null", "~") else parsed


def flag_value(key: str, raw: str) -> Any:
    if key == "model.hidden":
        if raw.strip().lower() == "auto":
            return "auto"
        return [] if raw.strip().lower() in ("", "none", "0", "[]") else [w.strip() for w in raw.split(",")]
    if key in ("model.activation", "data.label") and "," in raw:
        return [a.strip() for a in raw.split(",")]
    if key == "train.class_weight" and raw != "balanced":
        return class_weight_value(raw)
    return raw


def class_weight_value(raw: str) -> dict[str, Any]:
    try:
        parsed = yaml.load(raw, Loader=BoundedLoader)
    except (yaml.YAMLError, RecursionError):
        parsed = None
    if not isinstance(parsed, dict):
        raise DensekitError(f"--class-weight expects 'balanced' or a mapping of label to weight "
                            f"such as '{{0: 1, 1: 5}}'; received {short(raw)}.")
    return {str(k): v for k, v in parsed.items()}
