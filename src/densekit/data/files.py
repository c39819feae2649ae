"""The user's own files: which suffixes are read, and the reader each goes to."""

from __future__ import annotations

from pathlib import Path

from densekit.config import DataConfig
from densekit.data.dataset import Dataset
from densekit.data.npz import load_npz
from densekit.data.tablefile import load_table
from densekit.errors import DensekitError

TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".parquet"}
SUFFIXES = TABLE_SUFFIXES | {".npz", ".npy"}


def is_supported_file(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def load_file(path: Path, cfg: DataConfig) -> Dataset:
    """A whole dataset from one file (the training source)."""
    if path.suffix.lower() == ".npz":
        return load_npz(path)
    if path.suffix.lower() == ".npy":
        raise DensekitError(f"{path} is a single NPY array: it has features but no labels. Give "
                            "an NPZ file holding x and y, or x_train and y_train.")
    return load_table(path, cfg)
