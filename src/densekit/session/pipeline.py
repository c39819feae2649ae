"""From a configuration to tensors ready for training: load, split, check, fit preprocessing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Union

import numpy as np
import pandas as pd
import torch

from densekit.config import Config, DataConfig
from densekit.data import Dataset, Part, check_finite, is_raw_frame, load_source
from densekit.data.labels import resolve_label_lists
from densekit.data.preprocess import Preprocessor
from densekit.data.split import split_dataset
from densekit.data.tables import TableEncoder, refuse_missing
from densekit.data.text import TextEncoder
from densekit.errors import DensekitError
from densekit.tasks import (KINDS, Outputs, Task, build_outputs, build_task, infer_task,
                            outputs_reason, several_outputs)
from densekit.tasks.labels import UnknownLabels
from densekit.tasks.many_classes import OUTPUT_LOSSES
from densekit.training.evaluation import Resident, to_resident


Encoder = Union[TableEncoder, TextEncoder]


@dataclass
class Prepared:
    dataset: Dataset
    task: Task
    task_reason: str
    prep: Preprocessor
    train: Resident
    validation: Optional[Resident]
    test: Optional[Resident]
    encoder: Optional[Encoder] = None  # mixed tables: one-hot and imputation; text: words

    def sizes(self) -> dict[str, int]:
        parts = {"train": self.train, "validation": self.validation, "test": self.test}
        return {k: len(v) for k, v in parts.items() if v is not None}


@dataclass
class Fitted:
    """What a model trained before has fixed, kept when it trains further on new rows: its
    label coding (classes, outputs), input scaling and table encoder. A part left None is
    fitted on the training split as usual."""

    task: Optional[Task] = None
    prep: Optional[Preprocessor] = None
    encoder: Optional[Encoder] = None


def prepare(cfg: Config, device: torch.device, dataset: Optional[Dataset] = None,
            fitted: Optional[Fitted] = None) -> Prepared:
    """Load data.source (or take `dataset`, already in memory), split, encode, and fit the
    preprocessing on the training split only (or keep what `fitted` gives)."""
    fitted = fitted or Fitted()
    dataset = dataset if dataset is not None else load_source(cfg.data)
    # Label lists stay lists only for very many classes; a 0/1 matrix otherwise.
    dataset.label_names = resolve_label_lists(list(dataset.parts().values()), cfg.data.label_delimiter,
                                              dataset.label_names, cfg.model.output in OUTPUT_LOSSES)
    for role, part in dataset.parts().items():
        check_part(part, role)
        check_labels(part.y, role, dataset.label_column)
        if dataset.kind == "bag" and dataset.is_mixed_table():
            continue  # a missing text is an empty one
        if dataset.is_mixed_table():
            refuse_missing(part.x, cfg.data.missing, role)  # counted over the whole file
        else:
            check_finite(part.x, dataset.feature_names, role)
    refuse_unread_columns(dataset, cfg.data)
    kind, reason = choose_task(dataset, cfg)
    dataset = split_holdouts(dataset, cfg, stratify=KINDS[kind].is_classifier)
    encoder = encode_tables(dataset, cfg.data, fitted.encoder) if dataset.is_mixed_table() else None
    task = fitted.task
    if task is None and kind == Outputs.name:
        task = build_outputs(dataset.train.y, dataset.label_names, cfg.model.outputs,
                             cfg.model.standardize_target)
    elif task is None:
        task, _ = build_task(dataset.train.y, kind, cfg.model.loss, dataset.class_names,
                             dataset.label_names, cfg.model.standardize_target, cfg.model.output)
    if cfg.train.batch_size is not None:  # else chosen to suit the rows (training/budget.py)
        check_batch_size(len(dataset.train), cfg.train.batch_size)
    prep = fitted.prep
    if prep is None:
        prep = Preprocessor.fit(dataset.train.x, dataset.kind, dataset.pixel_max, cfg.data.pixels)
    resident = {role: to_resident(prep.transform(part.x), encode_labels(task, part, role, reason), device)
                for role, part in dataset.parts().items()}
    return Prepared(dataset, task, reason, prep, resident["train"],
                    resident.get("validation"), resident.get("test"), encoder)


def choose_task(dataset: Dataset, cfg: Config) -> tuple[str, str]:
    """The task's name (given, inferred, or several outputs) and the reason, for the log."""
    y = dataset.train.y
    if several_outputs(y, dataset.label_names, cfg.model.outputs, cfg.data.task, cfg.model.output):
        refuse_with_outputs(cfg)
        return Outputs.name, outputs_reason(y, dataset.label_names, cfg.model.outputs)
    return (cfg.data.task, "given") if cfg.data.task else infer_task(y, cfg.model.output)


def refuse_with_outputs(cfg: Config) -> None:
    """What several outputs do not combine with: a loss for all (each output has its own)."""
    if cfg.model.loss is not None:
        raise DensekitError(f"model.loss ({cfg.model.loss}) sets one loss, but this run has several "
                            "outputs, each with its own: give it per output (model.outputs.NAME.loss) "
                            "and remove model.loss.")
    if cfg.model.output in OUTPUT_LOSSES:
        raise DensekitError(f"model.output {cfg.model.output} scores very many classes of one "
                            "label; it does not combine with several outputs. Use model.output: "
                            "softmax, or train one label column.")
    if cfg.train.class_weight is not None:
        raise DensekitError("train.class_weight weighs the classes of one label; with several "
                            "outputs it is not supported yet. Remove it, or train one label column.")


def refuse_unread_columns(dataset: Dataset, cfg: DataConfig) -> None:
    """data.columns names columns of a table; given for anything else it would do nothing."""
    if cfg.columns and not (dataset.is_mixed_table() and dataset.kind == "table"):
        raise DensekitError(
            f"data.columns says how to read the columns of a table (a CSV/TSV/Parquet file or a "
            f"DataFrame), but {dataset.name} is {dataset.kind} data whose columns are already "
            "numbers: remove data.columns, or give the data as a table.")


def encode_labels(task: Task, part: Part, role: str, reason: str):
    """The part's training targets. Held-out numbers unseen in training, under a task that
    was inferred, most often mean the label is a quantity: say so, with the flag to use."""
    try:
        return task.encode(part.y, role)
    except UnknownLabels as err:
        if reason == "given" or part.y.dtype.kind not in "biuf":
            raise
        fix = ("--set model.outputs.NAME.task=regression for that output" if isinstance(task, Outputs)
               else "--task regression")
        raise DensekitError(f"{err} The task {task.name} was inferred (from {reason}); if "
                            f"the label is a quantity rather than a category, train with {fix}.") from None


def encode_tables(dataset: Dataset, cfg: DataConfig, encoder: Optional[Encoder] = None) -> Encoder:
    """Fit the encoder on the training split only (unless one is given), then encode every
    split with it."""
    encoder = encoder if encoder is not None else fit_encoder(dataset, cfg)
    for role, part in dataset.parts().items():
        part.x, _ = encoder.transform(part.x, role)  # unseen categories encode as zeros
    dataset.feature_names = encoder.output_names()
    for role, part in dataset.parts().items():
        check_finite(part.x, dataset.feature_names, role)
    return encoder


def fit_encoder(dataset: Dataset, cfg: DataConfig) -> Encoder:
    if dataset.kind == "bag":
        text = cfg.text
        return TextEncoder.fit(dataset.train.x, dataset.feature_names[0], text.words, text.mode)
    return TableEncoder.fit(dataset.train.x, cfg.missing, cfg.columns)


def check_part(part: Part, role: str) -> None:
    if part.y is None:
        raise DensekitError(f"The {role} data has no labels.")
    if len(part.y) != len(part.x):
        raise DensekitError(f"The {role} data has {len(part.x)} feature rows but {len(part.y)} "
                            "labels; they must match one to one.")
    if np.ndim(part.x) == 2 and part.x.shape[1] == 0:
        raise DensekitError(f"The {role} data has no feature columns, only labels: there is "
                            "nothing to learn from. Check the file and --label.")
    if is_raw_frame(part.x):
        return  # a mixed table: its columns are checked when encoded
    if part.x.ndim != 2:
        raise DensekitError(f"The {role} features must form a table (rows × columns); they have "
                            f"shape {part.x.shape}.")
    if part.x.dtype.kind not in "biuf":
        raise DensekitError(f"The {role} features must be numbers; they are of type {part.x.dtype}.")


def check_labels(y, role: str, label_column) -> None:
    """Rows without a label: named here, before a NaN loss is blamed on the learning rate."""
    if np.ndim(y) == 2 and np.shape(y)[1] == 0:
        raise DensekitError(f"The {role} data has no label column: data.label names none "
                            f"({label_column!r}). Name the label column(s), e.g. --label y.")
    gaps = label_gaps(y)
    if gaps is None or not gaps.any():
        return
    missing = int(gaps.any(axis=1).sum())
    if isinstance(label_column, str) or not label_column:
        what = f"The label column {label_column}" if label_column else "The labels"
        what += f" {'has' if label_column else 'have'} {missing:,} missing values"
    else:  # several: which of them to fill in
        what = (f"The label columns ({gaps_per_column(gaps, label_column)}) have missing values "
                f"in {missing:,} rows")
    raise DensekitError(
        f"{what} (of {len(y):,} rows in the {role} data): a row "
        "without a label cannot be learned from. Drop those rows (pandas: "
        "dropna(subset=[label])) or fill them in, then train again.")


def label_gaps(y) -> Optional[np.ndarray]:
    """(rows, label columns) True where a label is NaN or None; None for integer labels."""
    y = np.asarray(y)
    if y.dtype.kind == "f":
        gaps = np.isnan(y)
    elif y.dtype.kind == "O":
        gaps = pd.isna(y)
    else:
        return None
    return np.asarray(gaps).reshape(len(y), -1)


def gaps_per_column(gaps: np.ndarray, names) -> str:
    """"species 1 missing, body_mass_g 2 missing": which label of several to fill in."""
    counts = gaps.sum(axis=0)
    if len(counts) != len(names):
        return ", ".join(map(str, names))
    return ", ".join(f"{n} {c:,} missing" for n, c in zip(names, counts) if c)


def split_holdouts(dataset: Dataset, cfg: Config, stratify: bool) -> Dataset:
    """The dataset with its test, then validation (or fold) rows held out of training."""
    data = cfg.data
    return split_dataset(dataset, data.test_split, data.validation_split, data.folds, data.fold,
                         data.holdout == "last", stratify, cfg.train.seed)


def check_batch_size(rows: int, batch_size: int) -> None:
    if rows < batch_size:
        raise DensekitError(
            f"The training split has {rows} rows, fewer than one batch ({batch_size}). Lower "
            "--batch-size, lower --validation-split/--test-split, or give more data.")


def class_weight_tensor(cfg: Config, prepared: Prepared) -> Optional[torch.Tensor]:
    """Per-class loss weights from train.class_weight ('balanced' or {label: weight})."""
    spec = cfg.train.class_weight
    if spec is None:
        return None
    weights = prepared.task.class_weights(spec, prepared.train.y.cpu().numpy())
    return torch.tensor(weights, dtype=torch.float32, device=prepared.train.x.device)


def describe(prepared: Prepared, log: Callable[[str], None]) -> None:
    d, t = prepared.dataset, prepared.task
    sizes = " / ".join(f"{n:,} {role}" for role, n in prepared.sizes().items())
    shape = f", images {'×'.join(map(str, d.image_shape))}" if d.image_shape else ""
    log(f"data: {d.name} — {sizes} rows, {len(d.feature_names)} features{shape}")
    how = "given" if prepared.task_reason == "given" else f"inferred from {prepared.task_reason}"
    log(t.describe(how))
    for note in getattr(prepared.encoder, "notes", []):
        log(f"note: {note}")
