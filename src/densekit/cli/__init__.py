"""The command line: parses, calls the library, prints. User errors never show a traceback.

flags.py (the training flags), parser.py (every command), training.py and runs.py (the
commands' handlers); main() here runs one."""

from __future__ import annotations

import sys
from typing import Optional, Sequence

from densekit.cli.parser import build_parser
from densekit.cli.runs import (run_compare, run_datasets, run_evaluate, run_export, run_predict,
                               run_report, run_serve)
from densekit.cli.training import (interrupted_exit_code, run_config, run_cv, run_resume, run_summary,
                                   run_train)
from densekit.errors import DensekitError
from densekit.logs import show_library_notes
from densekit.training.interrupt import TrainingInterrupted


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
