"""The end of a training session: final metrics, the model card, and the run's files."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch

from densekit.config import Config
from densekit.logs import Log
from densekit.nn.model import DenseNet
from densekit.rundir.card import ModelCard, RunInfo
from densekit.rundir.evidence import example_rows, save_predictions
from densekit.rundir.files import write_json
from densekit.rundir.run import RunDir
from densekit.session.convergence import still_improving
from densekit.session.pipeline import Prepared, class_weight_tensor
from densekit.tasks import Task
from densekit.training.evaluation import score, scores_of
from densekit.training.loop import Trainer
from densekit.version import __version__


@dataclass
class TrainResult:
    run_dir: Optional[Path]   # None when trained without a run directory
    task: str
    metrics: dict[str, Any]   # {"validation": {...}, "test": {...}} as in metrics.json
    history: list[dict]       # one record per evaluation, as in history.jsonl
    model: DenseNet
    card: ModelCard           # what prediction needs, as in model.json
    info: dict[str, Any]      # as in run.json
    config: Config            # as resolved for training (budget and network decided), config.yaml


def finish(run: Optional[RunDir], cfg: Config, prepared: Prepared, trainer: Trainer,
           log: Log) -> TrainResult:
    state, model = trainer.state, trainer.model
    if state.stop_reason:
        log(state.stop_reason)
    calibrate(trainer, prepared, log)
    metrics = final_metrics(trainer, prepared)
    card = model_card(cfg, prepared)
    info = run_info(prepared, trainer).to_json()
    if run is not None:
        run.save_model(model, card)
        write_json(run.file("metrics.json"), metrics)
        write_json(run.file("run.json"), info)
        write_held_out_predictions(run, trainer, prepared)
    log(headline(metrics, prepared.task))
    # An early stop says the loss stopped improving; a run that used its whole budget may not.
    warning = still_improving(state.history, cfg.train) if state.step >= trainer.total_steps else None
    if warning:
        log(warning)
    return TrainResult(run.path if run else None, prepared.task.name, metrics, state.history,
                       model, card, info, cfg)


def calibrate(trainer: Trainer, prepared: Prepared, log: Log) -> None:
    """What the task settles on the validation rows once the weights are final (before the
    metrics and the model card, which then use it)."""
    data = prepared.validation
    if data is None or not len(data):
        return
    task = prepared.task
    scores = scores_of(trainer.model, prepared.prep, task, data.x)
    note = task.calibrate(data.y.cpu().numpy(), scores)
    if note:
        log(note)


def final_metrics(trainer: Trainer, prepared: Prepared) -> dict[str, Any]:
    splits = {"validation": prepared.validation, "test": prepared.test}
    loss_fn = trainer.steps.loss_fn
    return {name: score(trainer.model, prepared.prep, loss_fn, prepared.task, data, full=True)
            for name, data in splits.items() if data is not None}


def model_card(cfg: Config, prepared: Prepared) -> ModelCard:
    d = prepared.dataset
    weights = class_weight_tensor(cfg, prepared)
    return ModelCard(
        n_inputs=prepared.train.x.shape[1], n_outputs=prepared.task.n_outputs,
        model=cfg.model.model_dump(mode="json"), targets=prepared.task.to_json(),
        preprocessing=prepared.prep.to_json(), feature_names=d.feature_names,
        label_column=d.label_column if d.label_column is not None else cfg.data.label,
        label_delimiter=cfg.data.label_delimiter, data_kind=d.kind,
        image_shape=list(d.image_shape) if d.image_shape else None,
        label_smoothing=cfg.model.label_smoothing,
        table_encoder=prepared.encoder.to_json() if prepared.encoder else None,
        class_weight=weights.tolist() if weights is not None else None)


def run_info(prepared: Prepared, trainer: Trainer) -> RunInfo:
    return RunInfo(
        densekit_version=__version__, data=prepared.dataset.name, sizes=prepared.sizes(),
        task=prepared.task.name, task_reason=prepared.task_reason, steps=trainer.state.step,
        epochs=trainer.state.epoch, stop_reason=trainer.state.stop_reason,
        train_seconds=round(trainer.seconds, 3), class_counts=class_counts(prepared),
        device=str(trainer.generator.device), step=trainer.steps.kind, torch=torch.__version__,
        threads=torch.get_num_threads(), machine=platform.platform(),
        processes=processes(), exchange_seconds=round(trainer.steps.exchange_seconds, 3))


def processes() -> int:
    """How many processes trained together (torchrun's WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def class_counts(prepared: Prepared) -> Optional[dict[str, dict[str, int]]]:
    """Rows per class (or positives per label) in each split, for the report's balance table."""
    task = prepared.task
    splits = {"train": prepared.train, "validation": prepared.validation, "test": prepared.test}
    counts = {}
    for split, data in splits.items():
        per = task.class_counts(data.y.cpu().numpy()) if data is not None else None
        if per is not None:
            counts[split] = {name: int(n) for name, n in zip(task.class_names, per)}
    return counts or None


def write_held_out_predictions(run: RunDir, trainer: Trainer, prepared: Prepared) -> None:
    """The test predictions (or validation ones without a test split), for the report."""
    split, data = ("test", prepared.test) if prepared.test is not None else ("validation", prepared.validation)
    if data is None:
        return
    task = prepared.task
    scores = scores_of(trainer.model, prepared.prep, task, data.x)
    y = task.to_label_units(data.y.cpu().numpy())
    examples = None
    if prepared.dataset.kind == "image":
        rows = example_rows(task, y, scores)
        examples = (rows, data.x[torch.from_numpy(rows).to(data.x.device)].cpu().numpy())
    save_predictions(run.path, split, y, scores, examples)


def headline(metrics: dict[str, Any], task: Task | type[Task]) -> str:
    """One line: each split's main metric (and the task's other headline figures) and loss."""
    keys = (task.main_metric, *task.headline_metrics)
    parts = [f"{split} " + ", ".join(f"{k} {figures[k]:.4f}" for k in keys if k in figures)
             + f" (loss {figures['loss']:.4f})" for split, figures in metrics.items()]
    return "; ".join(parts) or "no validation or test data to score"
