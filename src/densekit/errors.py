"""User-facing errors: one paragraph that names the problem and the fix."""

from __future__ import annotations

import difflib
from typing import Callable, Iterable


class DensekitError(Exception):
    """An error caused by the user's input. The CLI prints it without a traceback."""


def did_you_mean(value: str, allowed: Iterable[str]) -> str:
    """Return ' Did you mean 'x'?' for the closest allowed name, or ''."""
    close = difflib.get_close_matches(str(value), list(allowed), n=1, cutoff=0.5)
    return f" Did you mean '{close[0]}'?" if close else ""


def preview(values: list, count: int = 10, show: Callable[[object], str] = str) -> str:
    """The first `count` values, comma-separated, and how many there are when more: a message
    names a long list of columns or labels without printing all of it."""
    shown = ", ".join(show(v) for v in values[:count])
    return shown + (f" … ({len(values)} in all)" if len(values) > count else "")
