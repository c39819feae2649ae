"""Typed configuration: data, model and training sections; YAML in, YAML out.

schema.py (the sections and their rules), files.py (reading YAML safely, dotted keys),
messages.py (what a user reads when a value is wrong)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from densekit.config.files import BoundedLoader, read_yaml, set_dotted
from densekit.config.messages import short
from densekit.config.schema import (MAX_SEED, Activation, Config, DataConfig, EarlyStopping,
                                    ModelConfig, TrainConfig)

__all__ = ["MAX_SEED", "Activation", "BoundedLoader", "Config", "DataConfig", "EarlyStopping",
           "ModelConfig", "TrainConfig", "as_written_then", "load_config", "read_yaml",
           "set_dotted", "short"]


# Keys added after runs were already being written, with the value that was in effect before
# they existed: a run written without them resumes as the network it was (their defaults are
# "auto", which could decide otherwise now).
ADDED_LATER = {"model": {"members": 1, "embedding": "none"}}


def as_written_then(values: dict[str, Any]) -> dict[str, Any]:
    """A saved configuration with the keys added since it was written set as they were then."""
    filled = {**values}
    for section, keys in ADDED_LATER.items():
        if isinstance(filled.get(section), dict):
            filled[section] = {**keys, **filled[section]}
    return filled


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> Config:
    """Read a YAML file (or start from defaults), apply dotted overrides, validate."""
    values = read_yaml(path) if path else {}
    for dotted, value in (overrides or {}).items():
        set_dotted(values, dotted, value)
    return Config.from_dict(values)
