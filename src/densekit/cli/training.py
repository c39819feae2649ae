"""The commands that train: train, resume (in one process or several), cv, summary, config."""

from __future__ import annotations

import argparse
from pathlib import Path

from densekit.cli.flags import overrides_from
from densekit.config import load_config
from densekit.errors import DensekitError
from densekit.training.interrupt import TrainingInterrupted


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
        from densekit.tasks import task_from_json
        print(headline(result.metrics, task_from_json(result.card.targets)))
        print(f"run directory: {result.run_dir}")


def run_summary(args: argparse.Namespace) -> int:
    from densekit.api import summary
    print(summary(args.config, **overrides_from(args)))
    return 0


# By the last word of the key: each output's NAME_accuracy and NAME_mae, top5_accuracy too.
CV_SHOWN = ("loss", "accuracy", "mae")


def run_cv(args: argparse.Namespace) -> int:
    from densekit.api import cross_validate
    result = cross_validate(args.config, folds=args.folds, retrain=args.retrain,
                            monitor=args.monitor, quiet=args.quiet, handle_signals=True,
                            **overrides_from(args))
    mean, std = result.summary["mean"], result.summary["std"]
    shown = [k for k in mean if k.rsplit("_", 1)[-1] in CV_SHOWN]
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
