"""The Python API: train, load, evaluate. The command line calls these and only prints."""

from __future__ import annotations

import copy
import platform
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np
import torch

from densekit.config import Config, DataConfig, load_config, set_dotted
from densekit.data import load_source, read_part
from densekit.data.named import LOADERS
from densekit.errors import DensekitError
from densekit.evaluation import score, to_resident
from densekit.losses import make_loss
from densekit.model import DenseNet, format_summary, summarise
from densekit.optim import resolve_device
from densekit.pipeline import Prepared, class_weight_tensor, describe, prepare
from densekit.predict import Predictor
from densekit.run import RunDir, plan_run_dir, write_json
from densekit.train import Trainer

ConfigLike = Union[Config, dict, str, Path, None]


@dataclass
class TrainResult:
    run_dir: Path
    task: str
    metrics: dict[str, Any]   # {"validation": {...}, "test": {...}} as in metrics.json
    history: list[dict]       # one record per evaluation, as in history.jsonl
    model: DenseNet


def resolve(config: ConfigLike, overrides: dict[str, Any]) -> Config:
    """A Config from a Config, a dict, a YAML path or nothing, plus dotted-key overrides."""
    overrides = {k: str(v) if isinstance(v, Path) else v for k, v in overrides.items()}
    if isinstance(config, (str, Path)):
        return load_config(config, overrides)
    values = config.to_dict() if isinstance(config, Config) else copy.deepcopy(config or {})
    for dotted, value in overrides.items():
        set_dotted(values, dotted, value)
    return Config.from_dict(values)


def train(config: ConfigLike = None, *, quiet: bool = False,
          log: Optional[Callable[[str], None]] = None, **overrides: Any) -> TrainResult:
    """Train a network and write a run directory. Overrides use dotted keys with '__' for '.'
    in Python: train(data__source="digits", model__hidden=[64], train__epochs=5)."""
    log = log or ((lambda _: None) if quiet else print)
    cfg = resolve(config, {k.replace("__", "."): v for k, v in overrides.items()})
    out = plan_run_dir(cfg.out, Path(cfg.data.source).stem)
    seed_everything(cfg.train.seed)
    device = resolve_device(cfg.train.device)
    prepared = prepare(cfg, device)
    check_monitor(cfg, prepared)
    describe(prepared, log)
    model = build_model(cfg, prepared).to(device)
    log(format_summary(summarise(model_inputs(prepared), prepared.targets.n_outputs, cfg.model,
                                 prepared.dataset.image_shape)))
    run = RunDir.create(out)
    run.write_text("config.yaml", cfg.model_copy(update={"out": str(out)}).to_yaml())
    loss_fn = make_loss(prepared.targets, cfg.model.label_smoothing, class_weight_tensor(cfg, prepared))
    trainer = Trainer(model, loss_fn, prepared.targets, prepared.prep, cfg.train, prepared.train,
                      prepared.validation, on_eval=run.append_history, quiet=quiet)
    started = time.perf_counter()
    state = trainer.fit()
    seconds = time.perf_counter() - started
    if state.stop_reason:
        log(state.stop_reason)
    metrics = final_metrics(model, loss_fn, prepared)
    run.save_model(model, model_meta(cfg, prepared, model))
    write_json(run.file("metrics.json"), metrics)
    write_json(run.file("run.json"), run_info(cfg, prepared, state, seconds, device))
    log(headline(metrics, prepared.targets.task))
    log(f"run directory: {run.path}")
    return TrainResult(run.path, prepared.targets.task, metrics, state.history, model)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def check_monitor(cfg: Config, prepared: Prepared) -> None:
    es = cfg.train.early_stopping
    if es.patience and es.monitor.startswith("val_") and prepared.validation is None:
        raise DensekitError(f"Early stopping monitors {es.monitor}, but there is no validation "
                            "data. Set --validation-split above 0, give validation data, or "
                            "monitor train_loss.")


def model_inputs(prepared: Prepared) -> int:
    return prepared.train.x.shape[1]


def build_model(cfg: Config, prepared: Prepared) -> DenseNet:
    return DenseNet(model_inputs(prepared), prepared.targets.n_outputs, cfg.model)


def final_metrics(model, loss_fn, prepared: Prepared) -> dict[str, Any]:
    splits = {"validation": prepared.validation, "test": prepared.test}
    return {name: score(model, prepared.prep, loss_fn, prepared.targets, data, full=True)
            for name, data in splits.items() if data is not None}


def model_meta(cfg: Config, prepared: Prepared, model: DenseNet) -> dict[str, Any]:
    d = prepared.dataset
    return {
        "n_inputs": model_inputs(prepared), "n_outputs": prepared.targets.n_outputs,
        "model": cfg.model.model_dump(mode="json"), "targets": prepared.targets.to_json(),
        "preprocessing": prepared.prep.to_json(), "feature_names": d.feature_names,
        "label_column": d.label_column if d.label_column is not None else cfg.data.label,
        "data_kind": d.kind, "image_shape": list(d.image_shape) if d.image_shape else None,
        "label_smoothing": cfg.model.label_smoothing,
    }


def run_info(cfg: Config, prepared: Prepared, state, seconds: float, device) -> dict[str, Any]:
    from densekit import __version__
    return {"densekit_version": __version__, "data": prepared.dataset.name,
            "sizes": prepared.sizes(), "task": prepared.targets.task,
            "task_reason": prepared.task_reason, "steps": state.step, "epochs": state.epoch,
            "stop_reason": state.stop_reason, "train_seconds": round(seconds, 3),
            "device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "machine": platform.platform()}


def headline(metrics: dict[str, Any], task: str) -> str:
    key = {"regression": "mae", "multilabel": "subset_accuracy"}.get(task, "accuracy")
    parts = [f"{split} {key} {figures[key]:.4f} (loss {figures['loss']:.4f})"
             for split, figures in metrics.items()]
    return "; ".join(parts) or "no validation or test data to score"


def load(run_dir: str | Path) -> Predictor:
    """The trained model of a run directory, ready to predict."""
    return Predictor.load(run_dir)


def evaluate(run_dir: str | Path, data: str) -> dict[str, Any]:
    """Loss and metrics of a run's model on labelled data (a file, or a dataset's test part)."""
    predictor = load(run_dir)
    part = labelled_part(predictor, data)
    targets = predictor.targets
    resident = to_resident(predictor.prep.transform(predictor.check(part.x)),
                           targets.encode(part.y, "evaluation"), torch.device("cpu"))
    loss_fn = make_loss(targets, predictor.meta.get("label_smoothing", 0.0))
    return score(predictor.model, predictor.prep, loss_fn, targets, resident, full=True)


def labelled_part(predictor: Predictor, data: str):
    path = Path(data)
    if data in LOADERS and not path.exists():
        dataset = load_source(DataConfig(source=data))
        if dataset.test is None:
            raise DensekitError(f"The {data} dataset has no separate test part; evaluating on it "
                                "would score rows the model was trained on. Give a file instead.")
        return dataset.test
    if not path.is_file():
        raise DensekitError(f"The data file {path} does not exist. Check the path.")
    return read_part(path, predictor.meta.get("label_column"), predictor.feature_names,
                     require_label=True)


def summary(config: ConfigLike = None, **overrides: Any) -> str:
    """The layer table for a configuration (the data is read to learn input and output sizes)."""
    cfg = resolve(config, {k.replace("__", "."): v for k, v in overrides.items()})
    prepared = prepare(cfg, torch.device("cpu"))
    return format_summary(summarise(model_inputs(prepared), prepared.targets.n_outputs, cfg.model,
                                    prepared.dataset.image_shape))


__all__ = ["TrainResult", "evaluate", "load", "summary", "train"]
