"""The Python API: train, load, evaluate. The command line calls these and only prints."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Optional, Union

import torch

from densekit.training.checkpoint import CheckpointFolder
from densekit.config import Config, DataConfig, load_config, read_yaml, set_dotted
from densekit.data import load_source
from densekit.data.named import LOADERS
from densekit.errors import DensekitError
from densekit.training.evaluation import score, to_resident
from densekit.tasks.losses import make_loss
from densekit.nn.model import format_summary, summarise
from densekit.pipeline import prepare
from densekit.predict import Predictor
from densekit.rundir.files import plan_run_dir
from densekit.session import Log, TrainResult, execute, model_inputs, resume_checkpoint

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
    return log or ((lambda _: None) if quiet else print)


def train(config: ConfigLike = None, *, quiet: bool = False, log: Optional[Log] = None,
          resume: bool = False, force: bool = False, **overrides: Any) -> TrainResult:
    """Train a network and write a run directory. Overrides use dotted keys with '__' for '.'
    in Python: train(data__source="digits", model__hidden=[64], train__epochs=5).
    resume=True continues the run in `out` from its newest checkpoint when it has one."""
    log = logger(log, quiet)
    cfg = resolve(config, dotted(overrides))
    if resume and cfg.out and CheckpointFolder(Path(cfg.out)).exists():
        checkpoint = resume_checkpoint(Path(cfg.out), log)
        return execute(cfg, Path(cfg.out), log, quiet, checkpoint, force)
    if resume and cfg.out and unfinished_without_checkpoint(Path(cfg.out)):
        log(f"{cfg.out} has no checkpoint yet: starting the run again from the beginning")
        return execute(cfg, Path(cfg.out), log, quiet)
    out = plan_run_dir(cfg.out, Path(cfg.data.source).stem)
    return execute(cfg, out, log, quiet)


def cross_validate(config: ConfigLike = None, *, folds: int = 4, retrain: bool = False,
                   monitor: Optional[str] = None, quiet: bool = False, log: Optional[Log] = None,
                   **overrides: Any):
    """K-fold cross-validation (see densekit.cv): one run per fold under `out`, their curves
    averaged, the best epoch chosen; retrain=True then trains on all the training data."""
    from densekit.cv import cross_validate as run_folds
    log = logger(log, quiet)
    cfg = resolve(config, dotted(overrides))
    cv_dir = Path(cfg.out) if cfg.out else plan_run_dir(None, Path(cfg.data.source).stem + "-cv")

    def train_fold(fold_cfg: Config, out: Path) -> TrainResult:
        return train(fold_cfg, quiet=True, log=log, resume=True)
    return run_folds(cfg, folds, cv_dir, train_fold, monitor, retrain, log)


def unfinished_without_checkpoint(path: Path) -> bool:
    """A run killed before its first checkpoint: nothing in it is worth keeping."""
    return path.is_dir() and (path / "config.yaml").exists() and not (path / "model.json").exists()


def resume(run_dir: str | Path, *, force: bool = False, quiet: bool = False,
           log: Optional[Log] = None, **overrides: Any) -> TrainResult:
    """Continue a run from its newest good checkpoint, with the configuration it was started with."""
    log = logger(log, quiet)
    run_path = Path(run_dir)
    checkpoint = resume_checkpoint(run_path, log)
    config_path = run_path / "config.yaml"
    values = read_yaml(config_path) if config_path.exists() else checkpoint.meta["config"]
    cfg = resolve(values, dotted(overrides))
    return execute(cfg, run_path, log, quiet, checkpoint, force)


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
    prepared = prepare(cfg, torch.device("cpu"))
    return format_summary(summarise(model_inputs(prepared), prepared.targets.n_outputs, cfg.model,
                                    prepared.dataset.image_shape))


__all__ = ["TrainResult", "evaluate", "load", "resume", "summary", "train"]
