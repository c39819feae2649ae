"""Datasets by name: looked up in the registry (registry.py) and loaded."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from densekit.data.dataset import Dataset
from densekit.data.folders import SYSTEM_FOLDERS, data_folders  # noqa: F401  (their old home)
from densekit.data.namedset import NamedSet
from densekit.data.registry import REGISTRY
from densekit.data.remote import ensure_local
from densekit.errors import DensekitError, did_you_mean

# Read-only: every known name (`name in LOADERS`), each with its registry entry.
LOADERS: Mapping[str, NamedSet] = MappingProxyType(REGISTRY)
# The file every densekit run directory holds (rundir/claim.py writes it). A folder holding
# it is a run, never data: after `--out digits`, `--data digits` still means the named set.
RUN_MARKER = ".densekit-run"


def is_named(source: str) -> bool:
    return source in REGISTRY


def named_set(name: str) -> NamedSet:
    if name not in REGISTRY:
        raise DensekitError(
            f"'{name}' is neither a file nor a known dataset name. Known names: "
            f"{', '.join(REGISTRY)}.{did_you_mean(name, REGISTRY)} For your own data, give the "
            "path of a CSV, TSV or NPZ file.")
    return REGISTRY[name]


def load_named(name: str, options: dict[str, Any]) -> Dataset:
    return named_set(name).load(options)


def ensure_files(name: str) -> Path:
    """The folder holding a named set's files, downloading them if they are nowhere yet."""
    return ensure_local(named_set(name))
