"""One path for messages. The command line prints them; a program using densekit as a
library gets them through Python's logging (logger "densekit"), or passes its own callback."""

from __future__ import annotations

import logging
from typing import Callable

Log = Callable[[str], None]
logger = logging.getLogger("densekit")


def library_log(message: str) -> None:
    logger.info(message)


def console_log(message: str) -> None:
    """The command line's log: each line at once, also when stdout is a pipe or a CI log."""
    print(message, flush=True)
