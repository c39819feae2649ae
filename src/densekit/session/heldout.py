"""The rows a run held out for testing, rebuilt from its config.yaml, so `evaluate RUN digits`
scores a named set without a test part on the rows that run never trained on."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from densekit.config import Config, DataConfig, load_config
from densekit.data import Part, load_source
from densekit.errors import DensekitError
from densekit.session.pipeline import split_holdouts


def named_test_part(run_dir: Path, name: str, stratify: bool) -> Part:
    """The test part of the named set `name`: its own when it has one, else the seeded test
    split the run drew from it (same seed, fraction, hold-out rule and stratification)."""
    run = run_config(run_dir)
    trained_on_it = run is not None and run.data.source == name
    # The run's own data settings (options such as moons' noise change the rows), but not its
    # separate test or validation files: the rows asked for are those of `name`.
    data = (run.data.model_copy(update={"test": None, "validation": None}) if trained_on_it
            else DataConfig(source=name))
    dataset = load_source(data)
    if dataset.test is not None:
        return dataset.test
    problem = no_test_split(run, name)
    if problem:
        raise DensekitError(f"The {name} dataset has no separate test part, and {problem}, so "
                            f"every row of {name} may have been seen in training. Evaluate on a "
                            "labelled file instead.")
    return split_holdouts(dataset, run, stratify).test


def no_test_split(run: Optional[Config], name: str) -> Optional[str]:
    """Why the run held no test rows out of `name` (None when it did)."""
    if run is None:
        return "the run has no config.yaml to say which rows it held out"
    if run.data.source != name:
        return f"this run was trained on {run.data.source}, not on {name}"
    if run.data.test:
        return f"this run was tested on its separate file {run.data.test}"
    if run.data.test_split <= 0:
        return "this run held no test rows out of it (data.test_split: 0)"
    return None


def run_config(run_dir: Path) -> Optional[Config]:
    path = run_dir / "config.yaml"
    return load_config(path) if path.exists() else None
