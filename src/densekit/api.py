"""The Python API: train, load, evaluate. The command line calls these and only prints."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any, Optional, Union

import torch

from densekit.config import Config, as_written_then, load_config, read_yaml, set_dotted
from densekit.data import Dataset
from densekit.data.named import LOADERS
from densekit.errors import DensekitError
from densekit.logs import Log, console_log
from densekit.nn.auto import with_network
from densekit.nn.embeddings import embedded_count
from densekit.nn.model import format_summary, summarise
from densekit.rundir.checkpoint import CheckpointFolder
from densekit.rundir.claim import RunClaim, check_owned, holds_nothing
from densekit.rundir.files import open_regular
from densekit.rundir.run import check_new_folder, plan_run_dir
from densekit.session.finished import check_resumable, finished_result
from densekit.session.heldout import named_test_part
from densekit.session.pipeline import Fitted, prepare
from densekit.session.predict import Predictor
from densekit.session.train import TrainResult, execute, model_inputs, resume_checkpoint
from densekit.training.evaluation import score, to_resident
from densekit.training.strategy import is_launched_by_torchrun

ConfigLike = Union[Config, dict, str, Path, None]


def resolve(config: ConfigLike, overrides: dict[str, Any]) -> Config:
    """A Config from a Config, a dict, a YAML path or nothing, plus dotted-key overrides."""
    overrides = {k: str(v) if isinstance(v, Path) else v for k, v in overrides.items()}
    if isinstance(config, (str, Path)):
        return load_config(config, overrides)
    values = config.to_dict() if isinstance(config, Config) else copy.deepcopy(config or {})
    for dotted, value in overrides.items():
        set_dotted(values, dotted, value)
    return Config.from_dict(values)


def dotted(overrides: dict[str, Any]) -> dict[str, Any]:
    """Python keyword overrides (train__lr) as configuration keys (train.lr); keys that already
    have dots (from the command line, passed as **{"train.lr": …}) are kept as they are."""
    return {k.replace("__", "."): v for k, v in overrides.items()}


def logger(log: Optional[Log], quiet: bool) -> Log:
    return log or ((lambda _: None) if quiet else console_log)


def train(config: ConfigLike = None, *, quiet: bool = False, log: Optional[Log] = None,
          resume: bool = False, force: bool = False, dataset: Optional[Dataset] = None,
          handle_signals: bool = False, report: bool = True, **overrides: Any) -> TrainResult:
    """Train a network and write a run directory. Overrides use dotted keys with '__' for '.'
    in Python: train(data__source="digits", model__hidden=[64], train__epochs=5).
    resume=True continues the run in `out` from its newest checkpoint when it has one.
    dataset: data already in memory (densekit.data.dataset_from_memory) instead of data.source.
    handle_signals=True: Ctrl-C and SIGTERM save a checkpoint and stop (as the command line
    does); by default a library call leaves the program's signal handlers alone."""
    log = logger(log, quiet)
    cfg = resolve(config, dotted(overrides))
    run = dict(log=log, quiet=quiet, dataset=dataset, handle_signals=handle_signals)
    hint = dataset.name if dataset is not None else Path(cfg.data.source).stem
    continuing = resume and cfg.out and Path(cfg.out).is_dir() and not holds_nothing(Path(cfg.out))
    if continuing:
        check_owned(Path(cfg.out))  # before anything is written into it
    path = Path(cfg.out) if continuing else plan_run_dir(cfg.out, hint)
    # The folder is this process's until the run (and its report) is written.
    with RunClaim(path, new=not continuing):
        result = train_claimed(cfg, path, continuing, force, run)
        if report:
            write_report(result.run_dir, log, quiet)
    log(f"run directory: {result.run_dir}")
    return result


def train_claimed(cfg: Config, path: Path, continuing: bool, force: bool, run: dict) -> TrainResult:
    """Resume, restart or start the run in `path`, decided now that no one else is in it."""
    log = run["log"]
    if continuing and CheckpointFolder(path).exists():
        checkpoint = resume_checkpoint(path, log)
        return execute(cfg, path, checkpoint=checkpoint, force=force, **run)
    if continuing and unfinished_without_checkpoint(path):
        log(f"{path} has no checkpoint yet: starting the run again from the beginning")
        return execute(cfg, path, **run)
    check_new_folder(path)  # a run that finished while this one was starting holds files now
    return execute(cfg, path, **run)


def train_in_memory(config: ConfigLike, dataset: Dataset, *, log: Optional[Log] = None,
                    initial_weights: Optional[dict] = None, fitted: Optional[Fitted] = None,
                    quiet: bool = True, **overrides: Any) -> TrainResult:
    """Train on data in memory and write nothing: no run directory, no checkpoints, no
    report, no signal handlers. What the scikit-learn estimators build on.
    initial_weights: a state_dict to start from (continued training); fitted: the label
    coding, input scaling and encoder of that model, kept (pipeline.Fitted).
    quiet=False: one line per evaluation to `log` (a progress bar in a terminal)."""
    cfg = resolve(config, dotted(overrides))
    return execute(cfg, None, log or (lambda _: None), quiet=quiet, dataset=dataset,
                   initial_weights=initial_weights, fitted=fitted)


def write_report(run_dir: Path, log: Log, quiet: bool = False) -> None:
    from densekit.report import build_report
    try:
        log(f"report: {build_report(run_dir)}")
    except Exception as err:  # the model and metrics are saved; a report failure must not hide that
        message = (f"warning: the report could not be written ({err}); retry with "
                   f"`densekit report {run_dir}`")
        # quiet silences progress, not a missing result: say it on stderr then.
        print(message, file=sys.stderr) if quiet else log(message)


def cross_validate(config: ConfigLike = None, *, folds: int = 4, retrain: bool = False,
                   monitor: Optional[str] = None, quiet: bool = False, log: Optional[Log] = None,
                   handle_signals: bool = False, **overrides: Any):
    """K-fold cross-validation (see densekit.session.cv): one run per fold under `out`, their curves
    averaged, the best epoch chosen; retrain=True then trains on all the training data."""
    from densekit.session.cv import cross_validate as run_folds
    log = logger(log, quiet)
    cfg = resolve(config, dotted(overrides))
    cv_dir = Path(cfg.out) if cfg.out else plan_run_dir(None, Path(cfg.data.source).stem + "-cv")

    def train_fold(fold_cfg: Config, out: Path) -> TrainResult:
        return train(fold_cfg, quiet=True, log=log, resume=True, handle_signals=handle_signals)
    return run_folds(cfg, folds, cv_dir, train_fold, monitor, retrain, log)


def unfinished_without_checkpoint(path: Path) -> bool:
    """A run killed before its first checkpoint: nothing in it is worth keeping."""
    return path.is_dir() and (path / "config.yaml").exists() and not (path / "model.json").exists()


def resume(run_dir: str | Path, *, force: bool = False, quiet: bool = False,
           log: Optional[Log] = None, handle_signals: bool = False, **overrides: Any) -> TrainResult:
    """Continue a run from its newest good checkpoint, with the configuration it was started with.
    A finished run is said to be finished and returned as it is, unless train.epochs or
    train.steps (with force=True) ask for a longer one."""
    log = logger(log, quiet)
    run_path = Path(run_dir)
    check_owned(run_path)
    with RunClaim(run_path, new=False):
        # Under torchrun the launcher has checked: every process must take the same path.
        finished = None if is_launched_by_torchrun() else check_resumable(run_path, dotted(overrides), force)
        if finished:
            log(finished)
            return finished_result(run_path)
        checkpoint = resume_checkpoint(run_path, log)
        cfg = resolve(saved_config(run_path, checkpoint), dotted(overrides))
        result = execute(cfg, run_path, log, quiet, checkpoint, force, handle_signals=handle_signals)
        write_report(run_path, log, quiet)
    log(f"run directory: {run_path}")
    return result


def saved_run_config(run_path: Path) -> dict:
    """The configuration a run was started with, for a process joining its resume."""
    folder = CheckpointFolder(run_path)
    return saved_config(run_path, folder.load_newest(warn=lambda _: None))


def saved_config(run_path: Path, checkpoint) -> dict:
    """The run's config.yaml (a regular file: a FIFO would wait forever), else the checkpoint's."""
    path = run_path / "config.yaml"
    if not path.exists():
        return as_written_then(checkpoint.meta["config"])
    open_regular(path).close()
    return as_written_then(read_yaml(path))


def load(run_dir: str | Path, log: Optional[Log] = None) -> Predictor:
    """The trained model of a run directory, ready to predict. Notes (such as categories never
    seen in training) go to `log`, or to Python's logging (logger "densekit")."""
    return Predictor.load(run_dir, log)


def evaluate(run_dir: str | Path, data: str) -> dict[str, Any]:
    """Loss and metrics of a run's model on labelled data (a file, or a dataset's test part)."""
    predictor = load(run_dir)
    part = labelled_part(predictor, data, Path(run_dir))
    task, card = predictor.task, predictor.card
    resident = to_resident(predictor.prep.transform(predictor.check(part.x)),
                           task.encode(part.y, "evaluation"), torch.device("cpu"))
    weights = torch.tensor(card.class_weight) if card.class_weight is not None else None
    loss_fn = task.make_loss(card.label_smoothing, weights)  # the loss training reported
    return score(predictor.model, predictor.prep, loss_fn, task, resident, full=True)


def labelled_part(predictor: Predictor, data: str, run_dir: Path):
    path = Path(data)
    if data in LOADERS and not path.exists():
        return named_test_part(run_dir, data, predictor.task.is_classifier)
    if path.is_dir():
        part = predictor.read_features(path, require_label=True)
        if part.y is None:
            raise DensekitError(f"The images in {path} have no labels: evaluation needs one "
                                "sub-folder per class, named as in training.")
        return part
    if not path.is_file():
        raise DensekitError(f"The data file {path} does not exist. Check the path.")
    return predictor.read_features(path, require_label=True)


def summary(config: ConfigLike = None, **overrides: Any) -> str:
    """The layer table for a configuration (the data is read to learn input and output sizes)."""
    cfg = resolve(config, dotted(overrides))
    prepared = prepare(shapes_only(cfg), torch.device("cpu"))
    model = with_network(cfg.model, prepared.prep.kind, len(prepared.train))
    return format_summary(summarise(model_inputs(prepared), prepared.task.output_heads(), model,
                                    prepared.dataset.image_shape,
                                    embedded_count(model, prepared.prep)))


def shapes_only(cfg: Config) -> Config:
    """The configuration a summary prepares the data with. It needs only the number of encoded
    columns and of outputs, which no fill changes, so gaps are filled (with zeros, which any
    column takes) instead of refused as training refuses them under data.missing: error."""
    if cfg.data.missing != "error":
        return cfg
    values = cfg.to_dict()
    values["data"]["missing"] = "zero"
    return Config.from_dict(values)


__all__ = ["TrainResult", "evaluate", "load", "resume", "summary", "train", "train_in_memory"]
