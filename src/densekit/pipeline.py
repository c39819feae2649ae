"""From a configuration to tensors ready for training: load, split, check, fit preprocessing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Union

import numpy as np
import torch
from sklearn.utils.class_weight import compute_class_weight

from densekit.config import Config, DataConfig
from densekit.data import Dataset, Part, check_finite, load_source
from densekit.data.split import fold_rows, holdout_rows, take
from densekit.data.tables import TableEncoder, refuse_missing
from densekit.data.text import TextEncoder
from densekit.errors import DensekitError
from densekit.training.evaluation import Resident, to_resident
from densekit.preprocess import Preprocessor
from densekit.tasks.kinds import Targets, build_targets, infer_task


Encoder = Union[TableEncoder, TextEncoder]


@dataclass
class Prepared:
    dataset: Dataset
    targets: Targets
    task_reason: str
    prep: Preprocessor
    train: Resident
    validation: Optional[Resident]
    test: Optional[Resident]
    encoder: Optional[Encoder] = None  # mixed tables: one-hot and imputation; text: words

    def sizes(self) -> dict[str, int]:
        parts = {"train": self.train, "validation": self.validation, "test": self.test}
        return {k: len(v) for k, v in parts.items() if v is not None}


def prepare(cfg: Config, device: torch.device) -> Prepared:
    dataset = load_source(cfg.data)
    for role, part in dataset.parts().items():
        check_part(part, role)
        if dataset.kind == "bag" and dataset.is_mixed_table():
            continue  # a missing text is an empty one
        if dataset.is_mixed_table():
            refuse_missing(part.x, cfg.data.missing, role)  # counted over the whole file
        else:
            check_finite(part.x, dataset.feature_names, role)
    task, reason = (cfg.data.task, "given") if cfg.data.task else infer_task(dataset.train.y)
    split_holdouts(dataset, cfg, stratify=task != "regression")
    encoder = encode_tables(dataset, cfg.data) if dataset.is_mixed_table() else None
    targets, _ = build_targets(dataset.train.y, task, cfg.model.loss, dataset.class_names,
                               dataset.label_names, cfg.model.standardize_target)
    check_batch_size(len(dataset.train), cfg.train.batch_size)
    prep = Preprocessor.fit(dataset.train.x, dataset.kind, dataset.pixel_max, cfg.data.pixels)
    resident = {role: to_resident(prep.transform(part.x), targets.encode(part.y, role), device)
                for role, part in dataset.parts().items()}
    return Prepared(dataset, targets, reason, prep, resident["train"],
                    resident.get("validation"), resident.get("test"), encoder)


def encode_tables(dataset: Dataset, cfg: DataConfig) -> Encoder:
    """Fit the encoder on the training split only, then encode every split with it."""
    if dataset.kind == "bag":
        text = cfg.text
        encoder = TextEncoder.fit(dataset.train.x, dataset.feature_names[0], text.words, text.mode)
    else:
        encoder = TableEncoder.fit(dataset.train.x, cfg.missing)
    for role, part in dataset.parts().items():
        part.x, _ = encoder.transform(part.x, role)  # unseen categories encode as zeros
    dataset.feature_names = encoder.output_names()
    for role, part in dataset.parts().items():
        check_finite(part.x, dataset.feature_names, role)
    return encoder


def check_part(part: Part, role: str) -> None:
    if part.y is None:
        raise DensekitError(f"The {role} data has no labels.")
    if len(part.y) != len(part.x):
        raise DensekitError(f"The {role} data has {len(part.x)} feature rows but {len(part.y)} "
                            "labels; they must match one to one.")
    if hasattr(part.x, "iloc"):
        return  # a mixed table: its columns are checked when encoded
    if part.x.ndim != 2:
        raise DensekitError(f"The {role} features must form a table (rows × columns); they have "
                            f"shape {part.x.shape}.")
    if part.x.dtype.kind not in "biuf":
        raise DensekitError(f"The {role} features must be numbers; they are of type {part.x.dtype}.")


def split_holdouts(dataset: Dataset, cfg: Config, stratify: bool) -> None:
    """Choose the test rows, then the validation rows, then copy each part once: a large
    memory-mapped set is not copied twice on the way."""
    seed, source, last = cfg.train.seed, dataset.train, cfg.data.holdout == "last"
    kept, held = np.arange(len(source)), {}
    if dataset.test is None and cfg.data.test_split > 0:
        kept, held["test"] = holdout_rows(kept, source.y, cfg.data.test_split, stratify, seed, last)
    if cfg.data.folds:
        if dataset.validation is not None:
            raise DensekitError("Cross-validation takes its validation folds from the training data; "
                                "remove data.validation (the separate validation file).")
        kept, held["validation"] = fold_rows(kept, source.y, cfg.data.folds, cfg.data.fold, stratify, seed)
    elif dataset.validation is None and cfg.data.validation_split > 0:
        kept, held["validation"] = holdout_rows(kept, source.y, cfg.data.validation_split, stratify, seed, last)
    if not held:
        return
    for role, rows in held.items():
        setattr(dataset, role, take(source, rows))
    dataset.train = take(source, kept)


def check_batch_size(rows: int, batch_size: int) -> None:
    if rows < batch_size:
        raise DensekitError(
            f"The training split has {rows} rows, fewer than one batch ({batch_size}). Lower "
            "--batch-size, lower --validation-split/--test-split, or give more data.")


def class_weight_tensor(cfg: Config, prepared: Prepared) -> Optional[torch.Tensor]:
    """Per-class loss weights from train.class_weight ('balanced' or {label: weight})."""
    spec, targets = cfg.train.class_weight, prepared.targets
    if spec is None:
        return None
    if targets.task not in ("binary", "multiclass") or targets.soft_labels:
        raise DensekitError("train.class_weight applies to binary and multiclass tasks with one "
                            f"label per row; this task is {targets.task}. Remove it.")
    n = len(targets.classes)
    if spec == "balanced":
        y = prepared.train.y.long().cpu().numpy()
        weights = compute_class_weight("balanced", classes=np.arange(n), y=y)
    else:
        weights = explicit_weights(spec, targets)
    return torch.tensor(weights, dtype=torch.float32, device=prepared.train.x.device)


def explicit_weights(spec: dict[str, float], targets: Targets) -> list[float]:
    keys = {str(c): i for i, c in enumerate(targets.classes)}
    keys.update({name: i for i, name in enumerate(targets.class_names)})
    unknown = [k for k in spec if k not in keys]
    if unknown:
        raise DensekitError(f"train.class_weight names unknown class(es) {', '.join(unknown)}; the "
                            f"classes are {', '.join(map(str, targets.classes))}.")
    weights = [1.0] * len(targets.classes)
    for key, weight in spec.items():
        weights[keys[key]] = float(weight)
    return weights


def describe(prepared: Prepared, log: Callable[[str], None]) -> None:
    d, t = prepared.dataset, prepared.targets
    sizes = " / ".join(f"{n:,} {role}" for role, n in prepared.sizes().items())
    shape = f", images {'×'.join(map(str, d.image_shape))}" if d.image_shape else ""
    log(f"data: {d.name} — {sizes} rows, {len(d.feature_names)} features{shape}")
    how = "given" if prepared.task_reason == "given" else f"inferred from {prepared.task_reason}"
    classes = f", {len(t.classes)} classes" if t.is_classifier else ""
    log(f"task: {t.task} ({how}; --task overrides){classes}; loss {t.loss}")
