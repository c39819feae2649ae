"""The commands that read a trained run: evaluate, predict, datasets, report, compare,
export, serve."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from densekit.config import short
from densekit.errors import DensekitError
from densekit.rundir.outputs import check_output


def run_evaluate(args: argparse.Namespace) -> int:
    from densekit.api import evaluate
    metrics = evaluate(args.run, evaluation_data(args))
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print_metrics(metrics, per_class=not args.quiet)
    return 0


def evaluation_data(args: argparse.Namespace) -> str:
    """`evaluate RUN DATA`, as predict reads its input; `--data DATA` still works."""
    if args.input and args.data and args.input != args.data:
        raise DensekitError(f"evaluate received its data twice: {short(args.input)} and --data "
                            f"{short(args.data)}. Give one: densekit evaluate RUN DATA.")
    if not (args.input or args.data):
        raise DensekitError("evaluate needs labelled data: densekit evaluate RUN test.csv, or a "
                            "dataset name such as digits (its test part).")
    return args.input or args.data


def run_predict(args: argparse.Namespace) -> int:
    from densekit.api import load
    if args.output:  # before the work: a refused output must not cost a prediction
        check_output(args.output, args.overwrite)
    predictor = load(args.run)
    source = Path(args.input)
    ids = read_ids(source, args.id, predictor.feature_names) if args.id else None
    if source.is_dir():  # a folder of images: say which file each prediction is for
        from densekit.data.images import images_to_predict
        part, names = images_to_predict(source, predictor.card.image_shape)
    else:
        part, names = predictor.read_features(source, require_label=False), None
    table = predictor.frame(part.x)
    if names:
        table.insert(0, "file", names)
    if ids is not None:
        if ids.name in table.columns:
            raise DensekitError(f"--id {ids.name}: the output already has a column of that "
                                f"name ({', '.join(table.columns[:5])}…). Rename it in the input.")
        table.insert(0, ids.name, ids.to_numpy())
    if args.output:
        from densekit.rundir.files import atomic_write
        atomic_write(Path(args.output), table.to_csv(index=False).encode())
        if not args.quiet:
            print(f"wrote {len(table):,} predictions to {args.output}")
    else:
        print(table.to_string(index=False, max_rows=40))
    return 0


def read_ids(source: Path, column: str, features: list[str]):
    """`predict --id COLUMN`: the column to write first in the output (read before predicting,
    so a wrong name costs no prediction)."""
    from densekit.data.frames import id_column
    if source.is_dir():
        raise DensekitError("--id names a column of a table; for a folder of images the "
                            "output's first column already names each file.")
    return id_column(source, column, features)


def run_datasets(args: argparse.Namespace) -> int:
    from densekit.data.catalog import listing
    table = listing()
    # quiet: the names only (the first column, under the header), for scripts
    print("\n".join(line.split()[0] for line in table.splitlines()[1:]) if args.quiet else table)
    return 0


def run_report(args: argparse.Namespace) -> int:
    from densekit.report import build_report
    if not 0.0 <= args.smooth < 1.0:
        raise DensekitError(f"--smooth must be at least 0 and below 1; received {args.smooth}.")
    if args.skip_first < 0:
        raise DensekitError(f"--skip-first must be 0 or more; received {args.skip_first}.")
    if (Path(args.run) / "cv.json").exists():  # a cross-validation folder: its own page
        from densekit.report.crossval import build_cv_report
        print(f"report: {build_cv_report(Path(args.run), args.output, args.overwrite)}")
        return 0
    print(f"report: {build_report(args.run, args.skip_first, args.smooth, args.output, args.overwrite)}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from densekit.report import build_comparison
    print(f"comparison: {build_comparison(args.runs, args.output, args.overwrite)}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from densekit.exporting import export
    result = export(args.run, args.output, args.format, args.overwrite)
    print(f"model: {result.model} (outputs: {', '.join(result.outputs)})")
    if result.encoder is not None:
        print(f"encoder: {result.encoder} (apply it to the rows first: see the README)")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from densekit.serve import ServeSettings, serve
    settings = ServeSettings(args.run, args.host, args.port, args.workers, args.api_key,
                             args.backend, args.onnx, args.max_body_mb, args.max_rows,
                             batch_wait_ms=args.batch_wait_ms, queue=args.queue)
    stopped = serve(settings, log=(lambda _: None) if args.quiet else print)
    if stopped and not args.quiet:
        print(f"densekit serve: stopped by signal {stopped}; requests in flight were answered.")
    return 0


def print_metrics(metrics: dict[str, Any], per_class: bool = True) -> None:
    scalars = {key: value for key, value in metrics.items() if isinstance(value, float)}
    width = max([18, *(len(key) + 2 for key in scalars)])  # output names make keys long
    for key, value in scalars.items():
        print(f"{key:<{width}}{value:.4f}")
    per_class = per_class and (metrics.get("per_class") or metrics.get("per_label"))
    if per_class:
        print(f"\n{'class':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
        for name, row in per_class.items():
            print(f"{name[:19]:<20}{row['precision']:>10.3f}{row['recall']:>10.3f}"
                  f"{row['f1']:>10.3f}{row['support']:>10}")
