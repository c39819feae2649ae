"""One training session, fresh or resumed: data → model → loop → run directory (optional).

Training never imports the report: the entry points (api.py) draw it from the run directory
afterwards, as `densekit report` would."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from densekit.config import Config, as_written_then
from densekit.data import Dataset
from densekit.errors import DensekitError
from densekit.logs import Log
from densekit.nn import auto, fastpath
from densekit.nn.class_chunks import CELLS
from densekit.nn.embeddings import embedded_columns, embedded_count
from densekit.nn.model import DenseNet, format_summary, summarise
from densekit.rundir.checkpoint import Checkpoint, CheckpointFolder, tensor_bytes
from densekit.rundir.run import RunDir
from densekit.session.finish import TrainResult, finish
from densekit.session.pipeline import Fitted, Prepared, class_weight_tensor, describe, prepare
from densekit.training.budget import choose_budget
from densekit.training.evaluation import Resident
from densekit.training.interrupt import InterruptFlag, TrainingInterrupted
from densekit.training.listeners import HistoryFile, Listener, ProgressBar, TensorBoard, WeightSnapshots
from densekit.training.loop import Trainer, expected_evaluations, total_steps
from densekit.training.many_classes import training_loss
from densekit.training.memory import check_memory
from densekit.training.optim import Optimization, lazy_adam_applies
from densekit.training.resume import Checkpointer, resume_from
from densekit.training.shards import AgreedInterrupt, ShardedStepRunner
from densekit.training.steps import StepRunner
from densekit.training.strategy import Processes, SingleProcess, cpu_threads, is_launched_by_torchrun
from densekit.training.tblog import TensorBoardLog


def execute(cfg: Config, out: Optional[Path], log: Log, quiet: bool,
            checkpoint: Optional[Checkpoint] = None, force: bool = False,
            dataset: Optional[Dataset] = None, handle_signals: bool = False,
            initial_weights: Optional[dict[str, torch.Tensor]] = None,
            fitted: Optional[Fitted] = None) -> TrainResult:
    """Train; with `out`, write the run directory (and checkpoints) as training goes.
    handle_signals: Ctrl-C/SIGTERM save a checkpoint and stop (the command line's choice).
    initial_weights: start from these weights (a model trained before, to train further).
    fitted: keep that model's label coding, input scaling and encoder (pipeline.Fitted)."""
    with cpu_threads(cfg.train.threads), choose_strategy(cfg.train.device) as strategy:
        return session(strategy, cfg, out, log, quiet, checkpoint, force, dataset,
                       handle_signals, initial_weights, fitted)


def session(strategy: SingleProcess, cfg: Config, out: Optional[Path], log: Log, quiet: bool,
            checkpoint: Optional[Checkpoint], force: bool, dataset: Optional[Dataset],
            handle_signals: bool, initial_weights: Optional[dict[str, torch.Tensor]],
            fitted: Optional[Fitted]) -> TrainResult:
    cfg = cfg.model_copy(update={"out": str(out) if out else None})
    seed_everything(cfg.train.seed)
    cfg = with_resolved_shards(cfg, strategy)
    prepared = prepare(cfg, strategy.device, dataset, fitted)
    cfg = with_budget(cfg, prepared, log)
    check_monitor(cfg, prepared)
    identity = {"config": cfg.to_dict(), "data_sha256": data_digest(prepared.train)}
    if checkpoint is not None:
        check_same_run(checkpoint, identity, force)
    describe(prepared, log)
    layers = summarise(model_inputs(prepared), prepared.task.output_heads(), cfg.model,
                       prepared.dataset.image_shape, embedded_count(cfg.model, prepared.prep))
    check_memory(layers, cfg.train.batch_size, evaluated_rows(prepared), strategy.device)
    model = build_model(cfg, prepared).to(strategy.device)
    if initial_weights is not None:
        model.load_state_dict(initial_weights)
    log(format_summary(layers))
    # From the run directory's creation on, Ctrl-C is honoured at a safe point (the loop saves
    # and stops), never in the middle of an import or a file being written.
    echo = 2.0 if strategy.world_size > 1 else 0.0
    with InterruptFlag(install=handle_signals, echo_seconds=echo) as interrupt:
        run = RunDir.create(out) if out else None
        trainer = build_trainer(cfg, prepared, model, strategy, run, quiet, log, identity, interrupt)
        if checkpoint is not None:  # what it refuses, it refuses before any file is written
            resume_from(trainer, checkpoint, checkpoint.meta["config"], identity["config"], log)
            log(f"resumed from {checkpoint.path.name} at step {trainer.state.step} "
                f"(epoch {trainer.state.epoch})")
        if run is not None:
            open_run(run, cfg, trainer.state.history)
        try:
            trainer.fit()
        except TrainingInterrupted as err:
            err.run_dir = out  # for the resume hint
            raise
    return finish(run, cfg, prepared, trainer, log)


def choose_strategy(device: str) -> SingleProcess:
    """Several processes when torchrun started this one (on CPU, over gloo); else one."""
    single = SingleProcess.from_setting(device)
    if not is_launched_by_torchrun():
        return single
    if single.device.type != "cpu":
        raise DensekitError("Training in several processes runs on the CPU (gloo) in this "
                            "version of densekit. Add --device cpu, or train in one process on "
                            "the GPU.")
    return Processes(single.device)


def with_resolved_shards(cfg: Config, strategy: SingleProcess) -> Config:
    """train.micro_shards: None means one part per process; config.yaml records the number,
    so that a resume with another number of processes cuts batches the same way."""
    shards = cfg.train.micro_shards or strategy.world_size
    if shards > 1:
        strategy.check_shards(shards)
        cfg = cfg.model_copy(update={"train": cfg.train.model_copy(update={"micro_shards": shards})})
    return cfg


def with_budget(cfg: Config, prepared: Prepared, log: Log) -> Config:
    """The batch size, epochs, early stopping and schedule the user left open, decided for
    the training rows (training/budget.py), and the hidden widths for the kind of input
    (nn/auto.py), each said in one line."""
    decided, reason = choose_budget(cfg.train, len(prepared.train), prepared.validation is not None)
    if reason:
        log(reason)
    kind = prepared.prep.kind
    model = auto.with_network(cfg.model, kind, len(prepared.train))
    network = auto.describe(cfg.model, model, kind)
    if network:
        log(network)
    return cfg.model_copy(update={"train": decided, "model": model})


def open_run(run: RunDir, cfg: Config, history: list[dict]) -> None:
    """config.yaml as the run goes on; the history so far (a restarted run's begins afresh, a
    resumed run's evaluations after its checkpoint will be logged again)."""
    run.write_text("config.yaml", cfg.to_yaml())
    run.write_history(history)


def build_trainer(cfg: Config, prepared: Prepared, model: DenseNet, strategy: SingleProcess,
                  run: Optional[RunDir], quiet: bool, log: Log, identity: dict,
                  interrupt: InterruptFlag) -> Trainer:
    task, settings = prepared.task, cfg.train
    class_weight = class_weight_tensor(cfg, prepared)
    loss_fn = training_loss(model, task.make_loss(cfg.model.label_smoothing, class_weight), cfg,
                            prepared.train.y, lazy_adam_applies(settings))
    sparse = getattr(loss_fn, "sparse", False)  # a sampled softmax's output rows: a lazy Adam
    output = task.fast_output(cfg.model.label_smoothing, class_weight)
    fast = None
    if settings.fast_path and output and fastpath.supports(model):
        fast = fastpath.FastDenseStep(model, output)
    params = [p for p in model.parameters() if p.requires_grad]
    optimization = Optimization(params, settings, total_steps(settings, len(prepared.train)), sparse)
    parts = (model, loss_fn, task, prepared.prep, prepared.train, optimization, fast,
             settings.cuda_graphs)
    if settings.micro_shards:
        own_signal = interrupt
        steps = ShardedStepRunner(*parts, shards=settings.micro_shards, strategy=strategy,
                                  stop_requested=lambda: own_signal.signal_name is not None)
        interrupt = AgreedInterrupt(own_signal, steps)  # every process stops at the same step
    else:
        steps = StepRunner(*parts)
    checkpoints = Checkpointer(CheckpointFolder(run.path), identity) if run else None
    return Trainer(steps, settings, prepared.validation, strategy.generator(settings.seed),
                   checkpoints, interrupt, listeners(cfg, prepared, model, run, quiet, log))


def listeners(cfg: Config, prepared: Prepared, model: DenseNet, run: Optional[RunDir],
              quiet: bool, log: Log) -> list[Listener]:
    found: list[Listener] = []
    if run is not None:
        found.append(HistoryFile(run.append_history))
        if cfg.train.tensorboard:
            evaluations = expected_evaluations(cfg.train, len(prepared.train))
            found.append(TensorBoard(lambda purge_step: TensorBoardLog(
                run.file("tensorboard"), model, evaluations, prepared.dataset.image_shape,
                purge_step=purge_step, warn=log)))
        if cfg.train.weight_snapshots:
            found.append(WeightSnapshots(cfg.train.weight_snapshots, run.save_snapshot, model))
    found.append(ProgressBar(quiet, log))
    return found


def resume_checkpoint(run_path: Path, log: Log) -> Checkpoint:
    folder = CheckpointFolder(run_path)
    if not folder.exists():
        raise DensekitError(f"{run_path} has no checkpoint to resume from (no "
                            f"{folder.last.relative_to(run_path)}). Start the run again with "
                            "`densekit train`.")
    return folder.load_newest(warn=log)


def check_same_run(checkpoint: Checkpoint, identity: dict[str, Any], force: bool) -> None:
    """Refuse to continue a run with other settings or other data, unless forced."""
    changes = config_differences(as_written_then(checkpoint.meta["config"]), identity["config"])
    if checkpoint.meta["data_sha256"] != identity["data_sha256"]:
        changes.append("the training data (its SHA-256 differs)")
    if changes and not force:
        raise DensekitError(
            "The run would continue with changes since its checkpoint: " + "; ".join(changes)
            + ". The result would not be the run that was started. Undo the changes, or pass "
            "--force to continue anyway.")


def config_differences(before: dict, after: dict, prefix: str = "",
                       defaults: Optional[dict] = None) -> list[str]:
    """Keys whose values differ. A key added to densekit since `before` was written counts as
    unchanged while it holds its default: older checkpoints still resume."""
    defaults = Config().to_dict() if defaults is None else defaults
    changes = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, defaults.get(key)), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            changes += config_differences(old, new, f"{prefix}{key}.", defaults.get(key) or {})
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
    es, task = cfg.train.early_stopping, prepared.task
    known = task.history_keys()
    if es.monitor not in known:  # a misspelt key would silently turn early stopping off
        raise DensekitError(f"train.early_stopping.monitor is '{es.monitor}', which this run's "
                            f"history ({task.name}) never records. Choose one of: {', '.join(known)}.")
    if es.patience and es.monitor.startswith("val_") and prepared.validation is None:
        raise DensekitError(f"Early stopping monitors {es.monitor}, but there is no validation "
                            "data. Set --validation-split above 0, give validation data, or "
                            "monitor train_loss.")


def model_inputs(prepared: Prepared) -> int:
    return prepared.train.x.shape[1]


def evaluated_rows(prepared: Prepared) -> int:
    """The most rows scored at once (in chunks) when validating or testing."""
    rows = max((len(part) for part in (prepared.validation, prepared.test) if part is not None),
               default=0)
    if prepared.task.scores_in_chunks:  # the logits held at once are bounded by class chunks
        rows = min(rows, max(1, CELLS // prepared.task.n_outputs))
    return rows


def build_model(cfg: Config, prepared: Prepared) -> DenseNet:
    return DenseNet(model_inputs(prepared), prepared.task.n_outputs, cfg.model,
                    embedded_columns(cfg.model.embedding, prepared.prep))
