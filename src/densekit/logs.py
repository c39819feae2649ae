"""One path for messages. The command line prints them; a program using densekit as a
library gets them through Python's logging (logger "densekit"), or passes its own callback."""

from __future__ import annotations

import logging
import sys
from typing import Callable

Log = Callable[[str], None]
logger = logging.getLogger("densekit")


def library_log(message: str) -> None:
    logger.info(message)


def console_log(message: str) -> None:
    """The command line's log: each line at once, also when stdout is a pipe or a CI log."""
    print(message, flush=True)


class Stderr(logging.Handler):
    """Writes to whatever sys.stderr is at the time of the message (tests replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), file=sys.stderr)


def show_library_notes() -> None:
    """The command line shows the notes a library user gets through logging, on stderr."""
    if not any(isinstance(handler, Stderr) for handler in logger.handlers):
        logger.addHandler(Stderr())
    logger.setLevel(logging.INFO)
