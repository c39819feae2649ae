"""The cross-validation page (CV/cv.html): every fold's validation curve and their mean, the
chapter's smoothed view of the mean (first points dropped, exponential moving average), the
chosen epoch, the per-fold table, and the final model's test figures when it was retrained."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from densekit.report import TEMPLATES, now, plots
from densekit.rundir.files import atomic_write, read_json
from densekit.rundir.outputs import check_output
from densekit.rundir.run import RunDir

SMOOTHING = 0.9  # the Boston-housing chapter's factor


def build_cv_report(cv_dir: Path, output: Optional[str | Path] = None, overwrite: bool = False) -> Path:
    path = check_output(output or cv_dir / "cv.html", overwrite, own=cv_dir / "cv.html")
    summary = read_json(cv_dir / "cv.json")
    folds = [RunDir(cv_dir / name).read_history() for name in summary["folds"]]
    monitor, curve = summary["monitor"], summary["mean_curve"]
    skip = 10 if len(curve) > 30 else 0  # the chapter drops the first 10 of its 500 points
    context = {
        "title": f"densekit cross-validation — {cv_dir.name}", "name": cv_dir.name,
        "generated": now(), "summary": summary, "monitor": monitor, "skip": skip,
        "smoothing": SMOOTHING, "metrics": list(summary["validation"]["mean"]),
        "figures": [per_fold_figure(summary["folds"], folds, curve, monitor),
                    smoothed_figure(curve, monitor, skip, summary["best_epoch"]),
                    mean_loss_figure(curve)],
    }
    atomic_write(path, TEMPLATES.get_template("crossval.html.j2").render(**context).encode())
    return path


def series(records: list[dict], key: str) -> tuple[list, list]:
    points = [(r["epoch"], r[key]) for r in records if key in r]
    return [p[0] for p in points], [p[1] for p in points]


def per_fold_figure(names: list[str], folds: list[list[dict]], curve: list[dict], monitor: str) -> str:
    lines = {name: series(history, monitor) for name, history in zip(names, folds)}
    lines["mean of the folds"] = series(curve, monitor)
    styles = {name: ":" for name in names}
    return plots.curves(lines, monitor, f"{monitor} per fold, and their mean", styles=styles)


def smoothed_figure(curve: list[dict], monitor: str, skip: int, best_epoch: int) -> str:
    x, y = series(curve[skip:], monitor)
    title = (f"mean {monitor}, first {skip} dropped, smoothed ({SMOOTHING}); best epoch {best_epoch}"
             if skip else f"mean {monitor}, smoothed ({SMOOTHING}); best epoch {best_epoch}")
    return plots.curves({f"mean {monitor}": (x, y)}, monitor, title, smoothing=SMOOTHING)


def mean_loss_figure(curve: list[dict]) -> str:
    lines = {"training": series(curve, "train_loss"), "validation": series(curve, "val_loss")}
    return plots.curves({k: v for k, v in lines.items() if v[0]}, "loss", "mean loss over folds")
