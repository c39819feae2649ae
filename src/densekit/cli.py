"""The command line: parses, calls the library, prints. User errors never show a traceback."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Optional, Sequence, get_args

import yaml

from densekit import __version__
from densekit.config import Activation, BoundedLoader, load_config, short
from densekit.errors import DensekitError
from densekit.logs import show_library_notes
from densekit.rundir.outputs import check_output
from densekit.training.interrupt import TrainingInterrupted

# flag -> dotted configuration key. Values are passed as text and validated by the config.
TRAIN_FLAGS = {
    "--data": ("data.source", "dataset name (digits, moons, fashion-mnist, …; `densekit datasets` lists them), "
                              "a CSV/TSV/Parquet/NPZ file, or a folder of images, NPY or IDX files"),
    "--test-data": ("data.test", "separate labelled test file"),
    "--validation-data": ("data.validation", "separate labelled validation file"),
    "--label": ("data.label", "label column of a table: name, or index from 0; a,b,c: one 0/1 column per label (multilabel)"),
    "--task": ("data.task", "binary | multiclass | multilabel | regression (default: inferred)"),
    "--missing": ("data.missing", "gaps in a table: median (default), mean, most_frequent, zero, or error (refuse)"),
    "--validation-split": ("data.validation_split", "fraction held out for validation (0.2)"),
    "--test-split": ("data.test_split", "fraction held out for testing when the data has no test part (0.2)"),
    "--hidden": ("model.hidden", "hidden layer widths, e.g. 128,64; 'none' for a linear model; auto: from the data"),
    "--activation": ("model.activation", f"{', '.join(get_args(Activation))}; or one per layer: relu,tanh"),
    "--dropout": ("model.dropout", "dropout rate after each hidden layer (0.2)"),
    "--loss": ("model.loss", "cross_entropy, binary_cross_entropy, mse, mae, huber (default: by task); "
                             "sampled-softmax or adaptive-softmax for very many classes (model.output)"),
    "--l2": ("model.l2", "L2 penalty on kernels"),
    "--l1": ("model.l1", "L1 penalty on kernels"),
    "--label-smoothing": ("model.label_smoothing", "multiclass cross-entropy label smoothing"),
    "--optimizer": ("train.optimizer", "sgd, adagrad, rmsprop, adam, adamw (adam)"),
    "--lr": ("train.lr", "learning rate (0.001)"),
    "--momentum": ("train.momentum", "momentum for sgd/rmsprop (refused with other optimizers)"),
    "--batch-size": ("train.batch_size", "rows per step (default: chosen from the training rows, 16 to 256)"),
    "--epochs": ("train.epochs", "passes over the training data (default: enough for about 10,000 steps, 20 to 200, with early stopping)"),
    "--steps": ("train.steps", "total optimizer steps; overrides --epochs"),
    "--schedule": ("train.schedule", "auto (plateau when densekit chooses the epochs, else constant), constant, step, cosine, one_cycle, plateau"),
    "--clip-norm": ("train.clip_norm", "clip gradients to this global norm"),
    "--eval-every": ("train.eval_every", "evaluate every N steps instead of every epoch"),
    "--periods": ("train.periods", "evaluate this many times, evenly spaced"),
    "--patience": ("train.early_stopping.patience", "early stopping after N evaluations without improvement (default auto: on when densekit chooses the epochs; null: off)"),
    "--class-weight": ("train.class_weight", "'balanced' or a YAML mapping such as '{0: 1, 1: 5}'"),
    "--seed": ("train.seed", "random seed (0)"),
    "--device": ("train.device", "auto | cpu | cuda"),
    "--threads": ("train.threads", "CPU threads for PyTorch (default 1: see the README's Speed section)"),
    "--out": ("out", "run directory (default runs/<data>-<time>); never overwritten"),
}
# --loss values that choose an output layer (model.output) rather than a loss on the logits
OUTPUT_LOSSES = {"sampled-softmax": "sampled_softmax", "sampled_softmax": "sampled_softmax",
                 "adaptive-softmax": "adaptive_softmax", "adaptive_softmax": "adaptive_softmax"}
FLAG_ALIASES = {"--out": ["--output", "-o"]}  # --output/-o: the name every other command uses
SWITCHES = {"--batch-norm": ("model.batch_norm", "batch normalisation after each hidden Dense"),
            "--nesterov": ("train.nesterov", "Nesterov momentum (sgd with --momentum)"),
            "--no-bias": ("model.use_bias", "dense layers without bias")}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="densekit", description="Train, evaluate and predict with dense neural networks.")
    parser.add_argument("--version", action="version", version=f"densekit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_training_commands(sub)
    add_model_commands(sub)
    add_report_commands(sub)
    add_deploy_commands(sub)
    sub.add_parser("datasets", help="list the datasets known by name and where they are")
    config = sub.add_parser("config", help="print the full configuration (defaults, or a file "
                            "with flags applied) as YAML")
    add_config_arguments(config)
    for command in sub.choices.values():
        if "--quiet" not in command._option_string_actions:
            command.add_argument("--quiet", "-q", action="store_true", help="print only the result")
    return parser


def add_training_commands(sub) -> None:
    train = sub.add_parser("train", help="train a network and write a run directory")
    add_config_arguments(train)
    train.add_argument("--resume", action="store_true",
                       help="continue the run in --out from its newest checkpoint, if it has one")
    train.add_argument("--force", action="store_true",
                       help="with --resume: continue even if the configuration or data changed")
    resume = sub.add_parser("resume", help="continue an interrupted run from its newest checkpoint")
    resume.add_argument("run", help="run directory")
    for command in (train, resume):
        command.add_argument("--nproc", type=int, metavar="N",
                             help="train in N processes on this machine (torchrun), each batch "
                                  "shared between them; the same weights as one process")
    resume.add_argument("--force", action="store_true",
                        help="continue even if the configuration or data changed")
    for flag in ("--epochs", "--steps"):  # a finished run trains on to a larger total
        resume.add_argument(flag, help=TRAIN_FLAGS[flag][1] + "; above the run's, with --force: train it longer")
    resume.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change a configuration key (needs --force)")
    cv = sub.add_parser("cv", help="K-fold cross-validation: one run per fold, curves averaged")
    add_config_arguments(cv)
    cv.add_argument("--folds", type=int, default=4, help="number of folds (4)")
    cv.add_argument("--monitor", help="history key whose fold-mean picks the best epoch "
                    "(train.early_stopping.monitor: val_loss); e.g. val_mae")
    cv.add_argument("--retrain", action="store_true",
                    help="then train on all the training data for the best epoch count and test it")
    summary = sub.add_parser("summary", help="print the layer table of a configuration")
    add_config_arguments(summary)


def add_model_commands(sub) -> None:
    evaluate = sub.add_parser("evaluate", help="score a run's model on labelled data")
    evaluate.add_argument("run", help="run directory")
    evaluate.add_argument("input", nargs="?", metavar="DATA",
                          help="labelled file, or a dataset name (its test part); or --data DATA")
    evaluate.add_argument("--data", help="the same as DATA")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    predict = sub.add_parser("predict", help="predict with a run's model")
    predict.add_argument("run", help="run directory")
    predict.add_argument("input", help="CSV/TSV/Parquet/NPZ/NPY file of features (a label column is "
                         "ignored), or a folder of images")
    predict.add_argument("--output", "-o", help="CSV to write (default: print to the terminal)")
    predict.add_argument("--id", metavar="COLUMN", help="a column of the input (e.g. an ID) "
                         "written first in the output, and not used as a feature")
    add_overwrite(predict)


def add_deploy_commands(sub) -> None:
    export = sub.add_parser("export", help="write a run's model as an ONNX file (encoders beside it as JSON)")
    export.add_argument("run", help="run directory")
    export.add_argument("--format", default="onnx", choices=["onnx"], help="file format (onnx)")
    export.add_argument("--output", "-o", help="file to write (default RUN/model.onnx)")
    add_overwrite(export)
    serve = sub.add_parser("serve", help="serve a run's model over HTTP (POST /predict)")
    serve.add_argument("run", help="run directory")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (8000)")
    serve.add_argument("--workers", type=int, default=1, help="server processes (1)")
    serve.add_argument("--api-key", help="require this key (Authorization: Bearer KEY or X-API-Key); "
                       "or set DENSEKIT_API_KEY")
    serve.add_argument("--backend", default="auto", choices=["auto", "onnx", "torch"],
                       help="auto: ONNX Runtime when installed (faster at every batch size measured)")
    serve.add_argument("--onnx", metavar="FILE", help="an exported model to serve (default "
                       "RUN/model.onnx when it holds these weights, else exported at start)")
    serve.add_argument("--max-rows", type=int, default=10_000, help="rows per request (10000)")
    serve.add_argument("--max-body-mb", type=float, default=16.0, help="request body size limit (16)")
    serve.add_argument("--batch-wait-ms", type=float, default=2.0,
                       help="how long a batch waits for requests still being read (2)")
    serve.add_argument("--queue", type=int, default=1024, help="requests waiting; beyond: 503 (1024)")


def add_report_commands(sub) -> None:
    report = sub.add_parser("report", help="write the HTML report of a run")
    report.add_argument("run", help="run directory, or a cross-validation folder (rewrites its cv.html)")
    report.add_argument("--skip-first", type=int, default=0, metavar="N",
                        help="drop the first N evaluations from the curves")
    report.add_argument("--smooth", type=float, default=0.0, metavar="F",
                        help="exponential smoothing of the curves, 0 (none) to 0.99")
    report.add_argument("--output", "-o", help="HTML file (default: RUN/report.html, always redrawn)")
    add_overwrite(report)
    compare = sub.add_parser("compare", help="put several runs side by side in one HTML page")
    compare.add_argument("runs", nargs="+", help="run directories")
    compare.add_argument("--output", "-o", default="compare.html", help="HTML file (compare.html)")
    add_overwrite(compare)


def add_overwrite(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the --output file if it exists (never a run directory's own files)")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="YAML file with data/model/train sections")
    for flag, (_, help_text) in TRAIN_FLAGS.items():
        parser.add_argument(flag, *FLAG_ALIASES.get(flag, []), help=help_text)
    for flag, (_, help_text) in SWITCHES.items():
        parser.add_argument(flag, action="store_true", help=help_text)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any configuration key, e.g. --set train.weight_decay=0.01")


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for flag, (key, _) in TRAIN_FLAGS.items():
        raw = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if raw is not None:
            values[key] = flag_value(key, raw)
    for flag, (key, _) in SWITCHES.items():
        if getattr(args, flag.lstrip("-").replace("-", "_"), False):
            values[key] = flag != "--no-bias"
    if values.get("model.loss") in OUTPUT_LOSSES:  # a whole output layer, not a loss on logits
        values["model.output"] = OUTPUT_LOSSES[values.pop("model.loss")]
    for item in args.set:
        key, sep, raw = item.partition("=")
        if not sep:
            raise DensekitError(f"--set expects KEY=VALUE (for example train.lr=0.01); received {short(item)}.")
        values[key.strip()] = set_value(raw)
    return values


def set_value(raw: str) -> Any:
    """A YAML scalar (numbers, booleans, lists); text YAML would misread stays as typed."""
    try:
        parsed = yaml.load(raw, Loader=BoundedLoader)
    except (yaml.YAMLError, RecursionError):
        return raw
    # "|" and ">" start YAML block scalars and parse as "": a delimiter was meant.
    return raw if parsed in ("", None) and raw.strip() not in ("", "null", "~") else parsed


def flag_value(key: str, raw: str) -> Any:
    if key == "model.hidden":
        if raw.strip().lower() == "auto":
            return "auto"
        return [] if raw.strip().lower() in ("", "none", "0", "[]") else [w.strip() for w in raw.split(",")]
    if key in ("model.activation", "data.label") and "," in raw:
        return [a.strip() for a in raw.split(",")]
    if key == "train.class_weight" and raw != "balanced":
        return class_weight_value(raw)
    return raw


def class_weight_value(raw: str) -> dict[str, Any]:
    try:
        parsed = yaml.load(raw, Loader=BoundedLoader)
    except (yaml.YAMLError, RecursionError):
        parsed = None
    if not isinstance(parsed, dict):
        raise DensekitError(f"--class-weight expects 'balanced' or a mapping of label to weight "
                            f"such as '{{0: 1, 1: 5}}'; received {short(raw)}.")
    return {str(k): v for k, v in parsed.items()}


def run_train(args: argparse.Namespace) -> int:
    from densekit.api import train
    check_resume_flags(args)
    if args.nproc or following():
        return in_processes(args)
    result = train(args.config, quiet=args.quiet, resume=args.resume, force=args.force,
                   handle_signals=True, **overrides_from(args))
    print_result(result, args.quiet)
    return 0


def check_resume_flags(args: argparse.Namespace) -> None:
    """--resume and --force would otherwise be ignored without a word."""
    if args.force and not args.resume:
        raise DensekitError("--force only applies with --resume (continue a run even though its "
                            "configuration or data changed). Add --resume --out RUN, or remove --force.")
    if args.resume and not args.out and not load_config(args.config, overrides_from(args)).out:
        raise DensekitError("--resume continues the run directory given by --out, and none was "
                            "given. Add --out RUN (or use `densekit resume RUN`).")


def run_resume(args: argparse.Namespace) -> int:
    from densekit.api import resume
    run = Path(args.run)
    if not run.is_dir():
        what = "is a file, not a run directory" if run.exists() else "does not exist"
        raise DensekitError(f"Cannot resume {run}: the folder {what}. Give the run directory "
                            "that `densekit train` printed, e.g. runs/digits-….")
    if args.nproc or following():
        return in_processes(args)
    result = resume(args.run, force=args.force, quiet=args.quiet, handle_signals=True,
                    **overrides_from(args))
    print_result(result, args.quiet)
    return 0


def interrupted_exit_code(err: TrainingInterrupted) -> int:
    """130, the shell's code for Ctrl-C; but a process under torchrun that stopped as agreed
    ends cleanly (0), or torchrun would report it as failed; the launcher returns 130."""
    from densekit.training.strategy import is_launched_by_torchrun
    return 0 if is_launched_by_torchrun() else err.exit_code


def resume_in_processes(args: argparse.Namespace) -> int:
    """A finished run is said so here, before any process starts: a process that stopped at
    once would leave the others waiting for it."""
    from densekit.session.finished import check_resumable
    from densekit.session.processes import launch
    finished = check_resumable(Path(args.run), overrides_from(args), args.force)
    if finished:
        print(finished)
        return 0
    return launch(args.argv, args.nproc, Path(args.run))


def following() -> bool:
    """A process after the first of several (torchrun's RANK above 0)."""
    from densekit.session.processes import rank
    return rank() > 0


def in_processes(args: argparse.Namespace) -> int:
    """--nproc N: launch N processes; in a process after the first: follow the first."""
    from densekit.api import dotted, resolve, saved_run_config
    from densekit.session.processes import follow, launch
    from densekit.rundir.run import plan_run_dir
    if args.nproc:
        if args.nproc < 1:
            raise DensekitError(f"--nproc must be 1 or more; received {args.nproc}.")
        if args.command == "resume":
            return resume_in_processes(args)
        cfg = resolve(args.config, dotted(overrides_from(args)))
        out = Path(cfg.out) if cfg.out else plan_run_dir(None, Path(cfg.data.source).stem)
        return launch(args.argv, args.nproc, out)
    if args.command == "resume":
        cfg = resolve(saved_run_config(Path(args.run)), dotted(overrides_from(args)))
        return follow(cfg, Path(args.run), args.force)
    cfg = resolve(args.config, dotted(overrides_from(args)))
    return follow(cfg, Path(cfg.out) if args.resume and cfg.out else None, args.force)


def print_result(result, quiet: bool) -> None:
    if quiet:  # otherwise the library already logged these lines
        from densekit.session.finish import headline
        from densekit.tasks import KINDS
        print(headline(result.metrics, KINDS[result.task]))
        print(f"run directory: {result.run_dir}")


def run_summary(args: argparse.Namespace) -> int:
    from densekit.api import summary
    print(summary(args.config, **overrides_from(args)))
    return 0


def run_cv(args: argparse.Namespace) -> int:
    from densekit.api import cross_validate
    result = cross_validate(args.config, folds=args.folds, retrain=args.retrain,
                            monitor=args.monitor, quiet=args.quiet, handle_signals=True,
                            **overrides_from(args))
    mean, std = result.summary["mean"], result.summary["std"]
    shown = [k for k in ("loss", "accuracy", "mae", "subset_accuracy") if k in mean]
    print("validation over {} folds: {}".format(len(result.folds), ", ".join(
        f"{k} {mean[k]:.4f} ± {std[k]:.4f}" for k in shown)))
    print(f"best epoch by mean {result.monitor}: {result.best_epoch}")
    if result.final:
        test = result.final.get("test", {})
        print("final model (all training data, {} epochs): {}".format(result.best_epoch, ", ".join(
            f"test {k} {test[k]:.4f}" for k in ("accuracy", "mae", "loss") if k in test)))
    print(f"report: {result.cv_dir / 'cv.html'}")
    print(f"cross-validation directory: {result.cv_dir}")
    return 0


def run_config(args: argparse.Namespace) -> int:
    print(load_config(args.config, overrides_from(args)).to_yaml(), end="")
    return 0


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
    for key, value in metrics.items():
        if isinstance(value, float):
            print(f"{key:<18}{value:.4f}")
    per_class = per_class and (metrics.get("per_class") or metrics.get("per_label"))
    if per_class:
        print(f"\n{'class':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
        for name, row in per_class.items():
            print(f"{name[:19]:<20}{row['precision']:>10.3f}{row['recall']:>10.3f}"
                  f"{row['f1']:>10.3f}{row['support']:>10}")



COMMANDS = {"train": run_train, "resume": run_resume, "cv": run_cv, "summary": run_summary,
            "evaluate": run_evaluate, "predict": run_predict, "report": run_report,
            "compare": run_compare, "datasets": run_datasets, "config": run_config,
            "export": run_export, "serve": run_serve}


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for --nproc, to start copies
    show_library_notes()
    try:
        return COMMANDS[args.command](args)
    except TrainingInterrupted as err:
        print(f"densekit: {err}", file=sys.stderr)
        if err.hint or err.saved:
            print(f"Continue with: {err.hint or f'densekit resume {err.run_dir}'}", file=sys.stderr)
        return interrupted_exit_code(err)
    except DensekitError as err:
        print(f"densekit: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `densekit predict … | head`: the reader has all it wanted
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141
    except OSError as err:  # the machine, not the input: a full disk, a permission, a vanished file
        where = f" ({err.filename})" if err.filename else ""
        print(f"densekit: error: {err.strerror or err}{where}. Check free disk space and "
              "permissions; files written before this point are intact.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("densekit: interrupted; nothing more was saved.", file=sys.stderr)
        return 130



if __name__ == "__main__":
    sys.exit(main())
