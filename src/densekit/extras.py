"""Optional dependencies (pyproject's extras): one way to import them, and one message when
one is missing, naming what needs it and the pip command that installs it. Every optional
import in densekit goes through `require`, so a missing package never ends in a traceback."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Sequence, Union

from densekit.errors import DensekitError


class MissingExtra(DensekitError):
    """An optional package is not installed (or cannot be imported). `modules` and `extra`
    let a caller with a fallback (serve's PyTorch backend) say what it fell back from."""

    def __init__(self, message: str, modules: Sequence[str], extra: str):
        super().__init__(message)
        self.modules, self.extra = tuple(modules), extra


def require(modules: Union[str, Sequence[str]], extra: str, purpose: str) -> ModuleType:
    """Import `modules` (one name or several) and return the first; raise MissingExtra naming
    every one that fails, `purpose` (what needs them) and `pip install 'densekit[extra]'`."""
    names = [modules] if isinstance(modules, str) else list(modules)
    imported, failed = [], {}
    for name in names:
        try:
            imported.append(importlib.import_module(name))
        except ImportError as err:
            failed[name] = err
    if failed:
        raise not_importable(failed, extra, purpose)
    return imported[0]


def not_importable(failed: dict[str, ImportError], extra: str, purpose: str) -> MissingExtra:
    """The error for imports that failed, by module name; also for an ImportError met deeper
    down (PyTorch's exporter importing onnxscript's own dependencies)."""
    absent, broken = absent_and_broken(failed)
    why = [f"{and_list(absent)}, which {'is' if len(absent) == 1 else 'are'} not installed"] if absent else []
    why += [f"{and_list(list(broken.values()))}, which cannot be imported"] if broken else []
    message = (f"{purpose} needs {'; and '.join(why)}. Install densekit's optional '{extra}' "
               f"dependencies: pip install 'densekit[{extra}]'.")
    return MissingExtra(message, absent + list(broken), extra)


def absent_and_broken(failed: dict[str, ImportError]) -> tuple[list[str], dict[str, str]]:
    """The packages not found, named by what was missing (onnxscript fails on a missing onnx:
    the message names onnx, once), and the modules found but failing (a version mismatch)."""
    absent, broken = [], {}
    for name, err in failed.items():
        if isinstance(err, ModuleNotFoundError) and err.name:
            if top(err.name) not in absent:
                absent.append(top(err.name))
        else:
            broken[name] = f"{name} ({err})"
    return absent, broken


def top(module: str) -> str:
    return module.split(".")[0]


def and_list(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
