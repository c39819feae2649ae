"""The HTML report of a run, and the comparison of several runs: one self-contained file each,
images embedded, readable offline. Everything is read from the run directory."""

from __future__ import annotations

import datetime
import shlex
from pathlib import Path
from typing import Optional

import jinja2

from densekit.errors import DensekitError
from densekit.report import compare, sections
from densekit.report.thresholds import threshold_curves
from densekit.rundir.files import atomic_write
from densekit.rundir.outputs import check_output

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
# What a finished run holds (names from rundir/outputs.py's RUN_FILES, a test checks), in the
# order the page lists the missing ones.
EXPECTED = ["config.yaml", "history.jsonl", "run.json", "metrics.json", "model.json",
            "model.safetensors", "predictions.npz"]


def build_report(run_dir: str | Path, skip_first: int = 0, smoothing: float = 0.0,
                 output: Optional[str | Path] = None, overwrite: bool = False) -> Path:
    """Write RUN/report.html (or `output`, which must not exist unless overwrite=True) and
    return its path."""
    run = check_run(run_dir)
    path = check_output(output or run / "report.html", overwrite, own=run / "report.html")
    view = sections.RunView.read(run)
    context = {
        "title": f"densekit report — {run.name}", "run_name": run.name, "generated": now(),
        "resume_command": resume_command(run),
        "missing": missing_files(run),
        "no_predictions": not (run / "predictions.npz").exists(),
        "damaged": view.damaged,
        "info": view.info, "config_text": view.config_text,
        "summary": sections.summary_rows(view), "balance": sections.class_balance(view),
        "curves": sections.learning_curves(view, skip_first, smoothing),
        "smoothing": smoothing, "skip_first": skip_first,
        "metrics": sections.metric_tables(view),
        "outputs": [output_sections(name, part) for name, part in sections.output_views(view)],
        "weights": sections.first_layer_weights(view),
        "snapshots": sections.weight_snapshots(view),
        "gallery": sections.gallery(view),
    }
    atomic_write(path, TEMPLATES.get_template("report.html.j2").render(**context).encode())
    return path


def output_sections(name: Optional[str], view: sections.RunView) -> dict:
    """What the page draws for one output (the run's only one: name None)."""
    return {"name": name, "task": view.targets.name if view.card else None,
            "metrics": sections.metric_tables(view) if name else [],
            "confusion": sections.confusion(view),
            "first_predictions": sections.first_predictions(view),
            "thresholds": threshold_curves(view),
            "regression": sections.regression(view)}


def missing_files(run: Path) -> list[str]:
    """The files an ended training run writes that this one lacks. A finished model saved
    without held-out predictions (an estimator's save) is complete: it has none to keep."""
    missing = [name for name in EXPECTED if not (run / name).exists()]
    return [] if missing == ["predictions.npz"] else missing


def build_comparison(run_dirs: list[str | Path], output: str | Path, overwrite: bool = False) -> Path:
    """One page that puts runs side by side: shared-axis curves, one metrics table, weights."""
    if len(run_dirs) < 2:
        raise DensekitError("compare needs at least two run directories.")
    path = check_output(output, overwrite)
    views = [sections.RunView.read(check_run(r)) for r in run_dirs]
    labels = compare.run_labels(views)
    context = {"title": "densekit comparison", "generated": now(), "runs": labels,
               "settings": compare.differing_settings(views),
               "curves": compare.compared_curves(views),
               "table": compare.compared_metrics(views),
               "weights": [(name, sections.first_layer_weights(v, units=16)) for name, v in zip(labels, views)]}
    atomic_write(path, TEMPLATES.get_template("compare.html.j2").render(**context).encode())
    return path


def check_run(run_dir: str | Path) -> Path:
    run = Path(run_dir)
    if not run.is_dir():
        raise DensekitError(f"{run} does not exist. Give a run directory, e.g. runs/digits-….")
    if not (run / "config.yaml").exists() and not (run / "history.jsonl").exists():
        raise DensekitError(f"{run} is not a densekit run: it has neither config.yaml nor "
                            "history.jsonl. Give the folder that `densekit train` printed.")
    return run


def resume_command(run: Path) -> str:
    """`densekit resume RUN` with a path that works where the report was written from: relative
    to the working directory when the run is inside it, else absolute (never the bare folder
    name, which works only from its parent)."""
    path = run.resolve()
    try:
        shown = path.relative_to(Path.cwd().resolve())
    except ValueError:
        shown = path
    return f"densekit resume {shlex.quote(str(shown))}"


def now() -> str:
    return datetime.datetime.now().strftime("%Y-%m-%d %H:%M")


__all__ = ["build_report", "build_comparison"]
