"""K-fold cross-validation, as the Boston-housing chapter does it.

Each fold is an ordinary run directory (CV/fold-1 …), trained with data.folds/data.fold set so
the pipeline validates on that fold: it has checkpoints, a report, and can be resumed. Running
the same command again continues an interrupted cross-validation: finished folds are kept,
unfinished ones resume from their checkpoints. The folds' per-epoch validation curves are
averaged (cv.json, cv.html), the best epoch is read from the mean curve, and --retrain trains
once more on all the training data for that many epochs (CV/final), scored on the test part.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch

from densekit.config import Config, read_yaml
from densekit.errors import DensekitError
from densekit.rundir.files import read_json, write_json
from densekit.rundir.run import RunDir
from densekit.tasks.metrics import lower_is_better
from densekit.training.interrupt import TrainingInterrupted

PLAN = "cv.yaml"  # the configuration every fold shares: a rerun must match it to continue


@dataclass
class FoldOutcome:
    run_dir: Path
    history: list[dict]
    validation: dict[str, Any]   # final validation metrics (metrics.json)


@dataclass
class CVResult:
    cv_dir: Path
    folds: list[FoldOutcome]
    monitor: str
    mean_curve: list[dict]       # per epoch: {"epoch", "<key>": mean over folds, "<key>_std"}
    best_epoch: int
    summary: dict[str, Any]      # per-fold and mean ± std of the final validation metrics
    final: Optional[dict] = None  # metrics.json of the retrained model, when asked for


def cross_validate(cfg: Config, folds: int, cv_dir: Path, train_fold, monitor: Optional[str] = None,
                   retrain: bool = False, log=print) -> CVResult:
    """train_fold(cfg, out) trains (or resumes) one run and returns its TrainResult."""
    if folds < 2:
        raise DensekitError(f"--folds must be 2 or more; received {folds}.")
    monitor = monitor or cfg.train.early_stopping.monitor
    cfg = without_automatic_stopping(cfg)
    check_plan(cfg, folds, monitor)
    open_cv_dir(cv_dir, cfg, folds)
    outcomes = []
    for fold in range(folds):
        out = cv_dir / f"fold-{fold + 1}"
        if not (out / "model.json").exists():
            log(f"fold {fold + 1} of {folds}")
            try:
                train_fold(fold_config(cfg, folds, fold, out), out)
            except TrainingInterrupted as err:
                err.hint = (f"the same densekit cv command with --out {cv_dir} (finished folds are "
                            "kept; this one resumes from its checkpoint)")
                raise
        outcomes.append(read_fold(out))
    mean_curve = average_curves([o.history for o in outcomes])
    best_epoch = pick_epoch(mean_curve, monitor)
    result = CVResult(cv_dir, outcomes, monitor, mean_curve, best_epoch, summarise(outcomes))
    if retrain:
        result.final = retrain_on_everything(cfg, best_epoch, cv_dir / "final", train_fold, log)
    write_json(cv_dir / "cv.json", to_json(result))
    from densekit.report.crossval import build_cv_report  # matplotlib only when needed
    build_cv_report(cv_dir)
    return result


def fold_config(cfg: Config, folds: int, fold: int, out: Optional[Path]) -> Config:
    fold_cfg = cfg.model_copy(deep=True)
    fold_cfg.data.folds, fold_cfg.data.fold, fold_cfg.out = folds, fold, str(out) if out else None
    return fold_cfg


def without_automatic_stopping(cfg: Config) -> Config:
    """Cross-validation picks the epochs from the folds' mean curve: folds that stopped early
    by densekit's own choice would cut those curves short. Patience set by the user stays."""
    if cfg.train.early_stopping.patience != "auto":
        return cfg
    cfg = cfg.model_copy(deep=True)
    cfg.train.early_stopping.patience = None
    return cfg


def check_plan(cfg: Config, folds: int, monitor: str) -> None:
    """What a fold would refuse, refused before any folder is made or fold trained: the data
    (read, split into the first fold, encoded) and a monitored key the history never holds."""
    from densekit.session.pipeline import prepare  # data readers only when a cross-validation runs
    task = prepare(fold_config(cfg, folds, 0, None), torch.device("cpu")).task
    known = task.history_keys()
    if monitor not in known:
        raise DensekitError(f"A {task.name} run's history holds no '{monitor}' to choose the "
                            f"best epoch from. Choose --monitor among: {', '.join(known)}.")


def open_cv_dir(cv_dir: Path, cfg: Config, folds: int) -> None:
    """A new folder, or one this same cross-validation started (then it continues)."""
    plan = cfg.model_copy(update={"out": None}).to_yaml() + f"# folds: {folds}\n"
    existing = cv_dir / PLAN
    started = any(cv_dir.glob("fold-*"))  # a plan refused before its first fold binds nothing
    if existing.exists() and started:
        if existing.read_text() != plan:
            raise DensekitError(
                f"{cv_dir} holds a cross-validation with another configuration or fold count "
                f"(see {existing}). Give another --out, or the same configuration to continue it.")
        return
    if cv_dir.exists() and any(p.name != PLAN for p in cv_dir.iterdir()):
        raise DensekitError(f"{cv_dir} already exists and is not a cross-validation folder; "
                            "densekit never writes over a run. Choose another --out.")
    cv_dir.mkdir(parents=True, exist_ok=True)
    (cv_dir / PLAN).write_text(plan)


def read_fold(run_dir: Path) -> FoldOutcome:
    metrics = read_json(run_dir / "metrics.json")
    return FoldOutcome(run_dir, RunDir(run_dir).read_history(), metrics.get("validation", {}))


def average_curves(histories: list[list[dict]]) -> list[dict]:
    """Mean (and spread) over folds of every logged value, per evaluation point (epoch).
    A fold stopped early contributes to the epochs it reached."""
    by_epoch: dict[float, list[dict]] = {}
    for history in histories:
        for record in history:
            by_epoch.setdefault(record["epoch"], []).append(record)
    curve = []
    for epoch in sorted(by_epoch):
        records = by_epoch[epoch]
        point: dict[str, Any] = {"epoch": epoch, "folds": len(records)}
        for key in records[0]:
            if key.startswith(("train_", "val_")):
                values = [r[key] for r in records if key in r]
                point[key] = statistics.fmean(values)
                point[f"{key}_std"] = statistics.pstdev(values)
        curve.append(point)
    return curve


def pick_epoch(curve: list[dict], monitor: str) -> int:
    points = [p for p in curve if monitor in p and float(p["epoch"]).is_integer()]
    if not points:
        known = sorted({k for p in curve for k in p if k.startswith("val_") and not k.endswith("_std")})
        raise DensekitError(f"The folds' histories have no '{monitor}' per epoch to choose the best "
                            f"epoch from. Choose --monitor among: {', '.join(known)}.")
    best = min if lower_is_better(monitor) else max
    return int(best(points, key=lambda p: p[monitor])["epoch"])


def summarise(outcomes: list[FoldOutcome]) -> dict[str, Any]:
    keys = [k for k, v in outcomes[0].validation.items() if isinstance(v, (int, float))]
    per_fold = [{k: o.validation.get(k) for k in keys} for o in outcomes]
    mean = {k: statistics.fmean(f[k] for f in per_fold) for k in keys}
    std = {k: statistics.pstdev(f[k] for f in per_fold) for k in keys}
    return {"per_fold": per_fold, "mean": mean, "std": std}


def retrain_on_everything(cfg: Config, epochs: int, out: Path, train_fold, log):
    """The chapter's last step: all training rows (no validation split), the chosen epochs.
    Returns the final run's metrics (test part included)."""
    if (out / "model.json").exists():
        log(f"the final model in {out} exists already")
        return read_json(out / "metrics.json")
    log(f"retraining on all the training data for {epochs} epochs (the best mean epoch)")
    final = cfg.model_copy(deep=True)
    final.data.validation_split, final.train.epochs, final.out = 0.0, epochs, str(out)
    if final.train.batch_size is None:  # the folds' batch, which the best epoch was counted in
        fold = read_yaml(out.parent / "fold-1" / "config.yaml")
        final.train.batch_size = fold["train"]["batch_size"]
    final.train.early_stopping.patience = None  # nothing to monitor without validation data
    if final.train.schedule == "plateau":
        final.train.schedule = "constant"
    return train_fold(final, out).metrics


def to_json(result: CVResult) -> dict[str, Any]:
    return {"folds": [str(o.run_dir.name) for o in result.folds], "monitor": result.monitor,
            "best_epoch": result.best_epoch, "validation": result.summary,
            "mean_curve": result.mean_curve,
            "final": {"run": "final", "metrics": result.final} if result.final else None}
