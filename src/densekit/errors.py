"""User-facing errors: one paragraph that names the problem and the fix."""

from __future__ import annotations

import difflib
from typing import Iterable


class DensekitError(Exception):
    """An error caused by the user's input. The CLI prints it without a traceback."""


def did_you_mean(value: str, allowed: Iterable[str]) -> str:
    """Return ' Did you mean 'x'?' for the closest allowed name, or ''."""
    close = difflib.get_close_matches(str(value), list(allowed), n=1, cutoff=0.5)
    return f" Did you mean '{close[0]}'?" if close else ""
