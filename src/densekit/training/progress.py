"""Progress: a bar in a terminal, one line per evaluation otherwise (CI logs, pipes)."""

from __future__ import annotations

import sys
import time
from typing import Callable

from tqdm import tqdm


MIN_SECONDS_BETWEEN_LINES = 1.0


class Progress:
    def __init__(self, total_steps: int, done_steps: int = 0, quiet: bool = False,
                 log: Callable[[str], None] = print):
        self.quiet, self.log = quiet, log
        self.interactive = not quiet and sys.stderr.isatty()
        self.total, self.done = total_steps, done_steps
        self.bar = None
        self.last_line = float("-inf")  # when an evaluation was last written
        self.pending = None             # an evaluation held back, not yet written

    def __enter__(self) -> "Progress":
        if self.interactive:
            self.bar = tqdm(total=self.total, initial=self.done, unit="step", dynamic_ncols=True,
                            leave=False)
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def report(self, record: dict) -> None:
        # Hundreds of tiny epochs would scroll the terminal: at most a line a second (every
        # evaluation is in history.jsonl and TensorBoard all the same).
        now = time.perf_counter()
        if self.quiet:
            return
        if now - self.last_line < MIN_SECONDS_BETWEEN_LINES:
            self.pending = record  # written at the end if nothing comes after it
            return
        self.last_line, self.pending = now, None
        self.write(format_record(record))

    def flush(self) -> None:
        """The last evaluation, if it was held back: a run always shows where it ended."""
        if self.pending is not None:
            self.write(format_record(self.pending))
            self.pending = None

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line)
        else:
            self.log(line)


def format_record(record: dict) -> str:
    skip = {"step", "epoch", "seconds", "lr"}
    figures = "  ".join(f"{k} {v:.4f}" for k, v in record.items()
                        if k not in skip and isinstance(v, float))
    return (f"epoch {record['epoch']:g}  step {record['step']}  {figures}  "
            f"lr {record['lr']:.3g}  {record['seconds']:.1f}s")
