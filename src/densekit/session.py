"""One training session, fresh or resumed: data → model → loop → run directory."""

from __future__ import annotations

import hashlib
import platform
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch

from densekit.nn import fastpath
from densekit.training.checkpoint import Checkpoint, CheckpointFolder, tensor_bytes
from densekit.config import Config
from densekit.errors import DensekitError
from densekit.training.evaluation import Resident, score
from densekit.training.interrupt import InterruptFlag, TrainingInterrupted
from densekit.tasks.losses import make_loss
from densekit.nn.model import DenseNet, format_summary, summarise
from densekit.training.optim import resolve_device
from densekit.pipeline import Prepared, class_weight_tensor, describe, prepare
from densekit.rundir.files import RunDir, write_json
from densekit.training.loop import LoopState, Trainer
from densekit.rundir.evidence import save_predictions
from densekit.training.tblog import TensorBoardLog

Log = Callable[[str], None]


@dataclass
class TrainResult:
    run_dir: Path
    task: str
    metrics: dict[str, Any]   # {"validation": {...}, "test": {...}} as in metrics.json
    history: list[dict]       # one record per evaluation, as in history.jsonl
    model: DenseNet


def execute(cfg: Config, out: Path, log: Log, quiet: bool,
            checkpoint: Optional[Checkpoint] = None, force: bool = False) -> TrainResult:
    cfg = cfg.model_copy(update={"out": str(out)})
    seed_everything(cfg.train.seed)
    device = resolve_device(cfg.train.device)
    prepared = prepare(cfg, device)
    check_monitor(cfg, prepared)
    identity = {"config": cfg.to_dict(), "data_sha256": data_digest(prepared.train)}
    if checkpoint is not None:
        check_same_run(checkpoint, identity, force)
    describe(prepared, log)
    model = build_model(cfg, prepared).to(device)
    log(format_summary(summarise(model_inputs(prepared), prepared.targets.n_outputs, cfg.model,
                                 prepared.dataset.image_shape)))
    # From the run directory's creation on, Ctrl-C is honoured at a safe point (the loop saves
    # and stops), never in the middle of an import or a file being written.
    with InterruptFlag() as interrupt:
        run = open_run(out, cfg, fresh=checkpoint is None)
        trainer = build_trainer(cfg, prepared, model, run, quiet, identity, interrupt)
        if checkpoint is not None:
            trainer.restore(checkpoint)
            # Evaluations logged after the checkpoint will be logged again: drop them.
            run.write_history(trainer.state.history)
            log(f"resumed from {checkpoint.path.name} at step {trainer.state.step} "
                f"(epoch {trainer.state.epoch})")
        state = fit_with_logs(trainer, run, tensorboard_log(cfg, run, trainer, prepared, checkpoint))
    return finish(run, cfg, prepared, trainer, state, log)


def open_run(out: Path, cfg: Config, fresh: bool) -> RunDir:
    run = RunDir.create(out)
    run.write_text("config.yaml", cfg.to_yaml())
    if fresh:
        run.write_history([])  # a restarted run begins its history afresh
    return run


def build_trainer(cfg: Config, prepared: Prepared, model: DenseNet, run: RunDir, quiet: bool,
                  identity: dict, interrupt: InterruptFlag) -> Trainer:
    class_weight = class_weight_tensor(cfg, prepared)
    loss_fn = make_loss(prepared.targets, cfg.model.label_smoothing, class_weight)
    fast = None
    if cfg.train.fast_path and fastpath.supports(model, prepared.targets, class_weight,
                                                  cfg.model.label_smoothing):
        fast = fastpath.FastDenseStep(model, prepared.targets)
    return Trainer(model, loss_fn, prepared.targets, prepared.prep, cfg.train, prepared.train,
                   prepared.validation, quiet=quiet, checkpoints=CheckpointFolder(run.path),
                   identity=identity, fast=fast, interrupt=interrupt)


def fit_with_logs(trainer: Trainer, run: RunDir, board: Optional[TensorBoardLog]) -> LoopState:
    """Train, appending each evaluation to history.jsonl and the TensorBoard files."""
    def on_eval(record: dict) -> None:
        run.append_history(record)
        if board:
            board.log(record)

    trainer.on_eval = on_eval
    trainer.on_snapshot = lambda step: run.save_snapshot(step, trainer.model)
    try:
        state = trainer.fit()
        if board:
            board.final_snapshot(state.step)
        return state
    except TrainingInterrupted as err:
        err.run_dir = run.path  # for the resume hint
        raise
    finally:
        if board:
            board.close()


def tensorboard_log(cfg: Config, run: RunDir, trainer: Trainer, prepared: Prepared,
                    checkpoint: Optional[Checkpoint]) -> Optional[TensorBoardLog]:
    if not cfg.train.tensorboard:
        return None
    purge = checkpoint.meta["loop"]["step"] + 1 if checkpoint is not None else None
    return TensorBoardLog(run.file("tensorboard"), trainer.model, trainer.expected_evaluations(),
                          prepared.dataset.image_shape, purge_step=purge)


def finish(run: RunDir, cfg: Config, prepared: Prepared, trainer: Trainer, state: LoopState,
           log: Log) -> TrainResult:
    if state.stop_reason:
        log(state.stop_reason)
    model = trainer.model
    metrics = final_metrics(model, trainer.loss_fn, prepared)
    run.save_model(model, model_meta(cfg, prepared, model))
    write_json(run.file("metrics.json"), metrics)
    write_json(run.file("run.json"), run_info(prepared, state, trainer))
    save_predictions(run.path, model, prepared)
    log(headline(metrics, prepared.targets.task))
    write_report(run, log)
    log(f"run directory: {run.path}")
    return TrainResult(run.path, prepared.targets.task, metrics, state.history, model)


def write_report(run: RunDir, log: Log) -> None:
    from densekit.report import build_report
    try:
        log(f"report: {build_report(run.path)}")
    except Exception as err:  # the model and metrics are saved; a report failure must not hide that
        log(f"warning: the report could not be written ({err}); retry with "
            f"`densekit report {run.path}`")


def resume_checkpoint(run_path: Path, log: Log) -> Checkpoint:
    folder = CheckpointFolder(run_path)
    if not folder.exists():
        raise DensekitError(f"{run_path} has no checkpoint to resume from (no "
                            f"{folder.last.relative_to(run_path)}). Start the run again with "
                            "`densekit train`.")
    return folder.load_newest(warn=log)


def check_same_run(checkpoint: Checkpoint, identity: dict[str, Any], force: bool) -> None:
    """Refuse to continue a run with other settings or other data, unless forced."""
    changes = config_differences(checkpoint.meta["config"], identity["config"])
    if checkpoint.meta["data_sha256"] != identity["data_sha256"]:
        changes.append("the training data (its SHA-256 differs)")
    if changes and not force:
        raise DensekitError(
            "The run would continue with changes since its checkpoint: " + "; ".join(changes)
            + ". The result would not be the run that was started. Undo the changes, or pass "
            "--force to continue anyway.")


def config_differences(before: dict, after: dict, prefix: str = "") -> list[str]:
    changes = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            changes += config_differences(old, new, f"{prefix}{key}.")
        elif old != new and f"{prefix}{key}" != "out":
            changes.append(f"{prefix}{key}: {old!r} → {new!r}")
    return changes


def data_digest(data: Resident) -> str:
    digest = hashlib.sha256()
    for t in (data.x, data.y):
        digest.update(str((t.dtype, tuple(t.shape))).encode())
        digest.update(tensor_bytes(t))
    return digest.hexdigest()


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
        "label_delimiter": cfg.data.label_delimiter,
        "data_kind": d.kind, "image_shape": list(d.image_shape) if d.image_shape else None,
        "label_smoothing": cfg.model.label_smoothing,
        "table_encoder": prepared.encoder.to_json() if prepared.encoder else None,
    }


def run_info(prepared: Prepared, state: LoopState, trainer: Trainer) -> dict[str, Any]:
    from densekit import __version__
    return {"densekit_version": __version__, "data": prepared.dataset.name,
            "sizes": prepared.sizes(), "task": prepared.targets.task,
            "task_reason": prepared.task_reason, "steps": state.step, "epochs": state.epoch,
            "stop_reason": state.stop_reason, "train_seconds": round(trainer.seconds, 3),
            "class_counts": class_counts(prepared),
            "device": str(trainer.device), "step": trainer.step_kind(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "machine": platform.platform()}


def class_counts(prepared: Prepared) -> Optional[dict[str, dict[str, int]]]:
    """Rows per class (or positives per label) in each split, for the report's balance table."""
    t = prepared.targets
    if not t.is_classifier:
        return None
    counts = {}
    for split, data in (("train", prepared.train), ("validation", prepared.validation),
                        ("test", prepared.test)):
        if data is None:
            continue
        y = data.y.cpu().numpy()
        if t.task == "multilabel":
            per = y.sum(axis=0)
        elif t.soft_labels:
            per = np.bincount(y.argmax(axis=1), minlength=len(t.classes))
        else:
            per = np.bincount(y.astype(np.int64).reshape(-1), minlength=len(t.classes))
        counts[split] = {name: int(n) for name, n in zip(t.class_names, per)}
    return counts


def headline(metrics: dict[str, Any], task: str) -> str:
    key = {"regression": "mae", "multilabel": "subset_accuracy"}.get(task, "accuracy")
    parts = [f"{split} {key} {figures[key]:.4f} (loss {figures['loss']:.4f})"
             for split, figures in metrics.items()]
    return "; ".join(parts) or "no validation or test data to score"
