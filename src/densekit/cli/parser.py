"""The argument parser: every command and its flags."""

from __future__ import annotations

import argparse

from densekit import __version__
from densekit.cli.flags import FLAG_ALIASES, SWITCHES, TRAIN_FLAGS


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
