"""Ctrl-C and SIGTERM during training: the first asks the loop to save and stop at the next
step; a second Ctrl-C stops at once."""

from __future__ import annotations

import signal
import threading
import time
from typing import Optional

from densekit.errors import DensekitError


class TrainingInterrupted(DensekitError):
    exit_code = 130  # the shell's convention for a run ended by SIGINT

    def __init__(self, signal_name: str, step: int, saved: bool):
        self.step = step
        self.saved = saved
        self.run_dir = None  # set by the session, for the resume hint
        self.hint: Optional[str] = None  # a command to continue with, when not `densekit resume RUN`
        saved_text = " A checkpoint was saved." if saved else ""
        super().__init__(f"Training was interrupted by {signal_name} after step {step}.{saved_text}")


class InterruptFlag:
    """While active, SIGINT/SIGTERM set `signal_name` instead of killing the process.
    Re-entrant: the session holds it from the run directory's creation on, the loop again.
    install=False (a program using densekit as a library) leaves the handlers alone."""

    def __init__(self, install: bool = True, echo_seconds: float = 0.0):
        self.install = install
        # Under torchrun one Ctrl-C arrives twice (from the terminal and from torchrun, which
        # passes it on): a second signal this soon after the first is the same request.
        self.echo_seconds = echo_seconds
        self.signal_name: Optional[str] = None
        self.first_at = 0.0
        self.previous: dict = {}
        self.depth = 0

    def __enter__(self) -> "InterruptFlag":
        self.depth += 1
        if self.depth == 1 and self.install and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self.handle)
        return self

    def handle(self, signum, frame) -> None:
        if self.signal_name is not None:
            if time.monotonic() - self.first_at < self.echo_seconds:
                return
            raise KeyboardInterrupt  # asked twice: stop now, without saving
        self.signal_name = signal.Signals(signum).name
        self.first_at = time.monotonic()

    def __exit__(self, *exc) -> None:
        self.depth -= 1
        if self.depth:
            return
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous = {}
