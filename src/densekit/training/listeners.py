"""Listeners: what happens beside training, given to the loop when it is built. Each keeps its
own state; the loop calls a fixed set of hooks and never depends on what a listener does."""

from __future__ import annotations

from typing import Callable, Optional

import torch

from densekit.training.progress import Progress
from densekit.training.tblog import TensorBoardLog


class Listener:
    """Every hook is optional."""

    def on_start(self, step: int, total_steps: int) -> None:
        """Training begins (or resumes) at `step` of `total_steps`."""

    def on_step(self, step: int) -> None:
        """An optimizer step has just completed."""

    def on_evaluation(self, record: dict) -> None:
        """One evaluation record, as history.jsonl holds it."""

    def on_end(self, step: int) -> None:
        """Training ended normally at `step`."""

    def close(self) -> None:
        """Always called, also when training stops by an error or an interrupt."""


class HistoryFile(Listener):
    """history.jsonl, one line per evaluation, written as training goes."""

    def __init__(self, append: Callable[[dict], None]):
        self.append = append

    def on_evaluation(self, record: dict) -> None:
        self.append(record)


class WeightSnapshots(Listener):
    """The first layer at the steps of train.weight_snapshots, for the report."""

    def __init__(self, steps: list[int], save: Callable[[int, torch.nn.Module], None],
                 model: torch.nn.Module):
        self.steps, self.save, self.model = set(steps), save, model

    def on_step(self, step: int) -> None:
        if step in self.steps:
            self.save(step, self.model)


class TensorBoard(Listener):
    """Event files in RUN/tensorboard, opened when training starts; after a resume, events
    logged past the checkpoint are dropped rather than doubled."""

    def __init__(self, open_log: Callable[[Optional[int]], TensorBoardLog]):
        self.open_log = open_log   # purge step -> the log
        self.board: Optional[TensorBoardLog] = None

    def on_start(self, step: int, total_steps: int) -> None:
        self.board = self.open_log(step + 1 if step else None)

    def on_evaluation(self, record: dict) -> None:
        self.board.log(record)

    def on_end(self, step: int) -> None:
        self.board.final_snapshot(step)

    def close(self) -> None:
        if self.board is not None:
            self.board.close()


class ProgressBar(Listener):
    """A bar in a terminal, one line per evaluation otherwise."""

    def __init__(self, quiet: bool, log: Callable[[str], None]):
        self.quiet, self.log = quiet, log
        self.progress: Optional[Progress] = None

    def on_start(self, step: int, total_steps: int) -> None:
        self.progress = Progress(total_steps, step, self.quiet, self.log).__enter__()

    def on_step(self, step: int) -> None:
        self.progress.advance()

    def on_evaluation(self, record: dict) -> None:
        self.progress.report(record)

    def on_end(self, step: int) -> None:
        self.progress.flush()

    def close(self) -> None:
        if self.progress is not None:
            self.progress.__exit__(None, None, None)
