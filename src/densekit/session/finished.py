"""Whether a run's training is over, so `resume` says so instead of redoing its end, and
continues only when asked for a longer run."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from densekit.config import TrainConfig, load_config
from densekit.errors import DensekitError
from densekit.rundir.checkpoint import CheckpointFolder
from densekit.rundir.files import read_json
from densekit.rundir.run import RunDir
from densekit.session.finish import TrainResult
from densekit.session.predict import Predictor
from densekit.training.loop import total_steps


TOTALS = {"train.epochs": "--epochs", "train.steps": "--steps"}  # the keys that make a run longer


@dataclass
class Finished:
    """Where a finished run stopped, from its run.json and newest checkpoint."""

    epochs: int
    steps: int
    train_rows: int
    stop_reason: str   # why it ended, when early stopping ended it (or restored weights)


def finished_run(run_dir: Path) -> Optional[Finished]:
    """The run's end, or None while it has training left (interrupted, crashed, or continued
    since it last finished: its newest checkpoint is then past the step run.json records)."""
    info_path, folder = run_dir / "run.json", CheckpointFolder(run_dir)
    ended = ("run.json", "config.yaml", "model.json", "metrics.json")  # what the end writes
    if not (all((run_dir / name).is_file() for name in ended) and folder.exists()):
        return None  # an end cut short is redone
    try:
        info = read_json(info_path)
        loop = folder.load_newest(warn=lambda _: None).meta["loop"]
    except (OSError, ValueError, KeyError, DensekitError):
        return None  # unreadable: let resume itself say what is wrong
    if loop["step"] != info.get("steps"):
        return None
    return Finished(loop["epoch"], loop["step"], int(info["sizes"]["train"]), loop["stop_reason"])


def check_resumable(run_dir: Path, overrides: dict[str, Any], force: bool) -> Optional[str]:
    """None when `resume` should go on; else what to tell the user about a finished run.
    A longer run (train.epochs or train.steps beyond where it ended) goes on with --force,
    since it is no longer the run that was started; without it, it is refused with the command."""
    if set(overrides) - set(TOTALS):
        return None  # other changes: resume's own checks say what they allow
    done = finished_run(run_dir)
    if done is None:
        return None
    where = f"{done.epochs} epoch{'s' * (done.epochs != 1)} ({done.steps:,} steps)"
    planned = total_steps(load_config(run_dir / "config.yaml").train, done.train_rows)
    if done.steps < planned:  # ended before its budget: early stopping's decision stands
        return (f"{run_dir} is finished: {done.stop_reason.rstrip('.') or 'it stopped early'}. "
                "Nothing to resume; to train longer, start a new run with more early-stopping "
                "patience.")
    settings = load_config(run_dir / "config.yaml", overrides).train
    wanted = total_steps(settings, done.train_rows)
    if wanted <= done.steps:
        longer = f"--steps {done.steps * 2}" if settings.steps else f"--epochs {done.epochs * 2}"
        return (f"{run_dir} is finished: it trained the {where} it was set to. Nothing to "
                f"resume. To train it further: densekit resume {run_dir} {longer} --force")
    if not force:
        raise DensekitError(
            f"{run_dir} is finished after {where}; training on to {describe(settings, done)} "
            "makes it a longer run than the one started (a schedule, early stopping and the "
            f"report then belong to the longer run). Add --force to continue: densekit resume "
            f"{run_dir} {longer_flags(overrides)} --force")
    return None


def finished_result(run_dir: Path) -> TrainResult:
    """A finished run as training returned it, read from its files: nothing is redone."""
    predictor = Predictor.load(run_dir)
    info = read_json(run_dir / "run.json")
    return TrainResult(run_dir, info["task"], read_json(run_dir / "metrics.json"),
                       RunDir(run_dir).read_history(), predictor.model, predictor.card, info,
                       load_config(run_dir / "config.yaml"))


def describe(settings: TrainConfig, done: Finished) -> str:
    if settings.steps:
        return f"{settings.steps:,} steps"
    per_epoch = math.ceil(done.train_rows / settings.batch_size)
    return f"{settings.epochs} epochs ({settings.epochs * per_epoch:,} steps)"


def longer_flags(overrides: dict[str, Any]) -> str:
    return " ".join(f"{TOTALS[k]} {v}" for k, v in overrides.items())
