"""Loading data: named sets and the user's files, split into train/validation/test."""

from __future__ import annotations

from pathlib import Path

from densekit.config import DataConfig
from densekit.data.arrays import is_array_folder, load_array_folder
from densekit.data.dataset import Dataset, Part, check_finite, is_raw_frame
from densekit.data.files import SUFFIXES, is_supported_file, load_file
from densekit.data.images import load_image_folder
from densekit.data.memory import dataset_from_memory
from densekit.data.named import RUN_MARKER, is_named, load_named
from densekit.data.parts import read_part
from densekit.data.split import split_dataset
from densekit.errors import DensekitError

__all__ = ["Dataset", "Part", "load_source", "read_part", "check_finite", "is_raw_frame",
           "dataset_from_memory", "split_dataset"]


def load_source(cfg: DataConfig) -> Dataset:
    """The dataset named by data.source, with data.test / data.validation files attached."""
    dataset = load_any(cfg.source, cfg)
    for role in ("test", "validation"):
        path = getattr(cfg, role)
        if path:
            extra = read_part(existing_file(path), dataset.label_column or cfg.label,
                              dataset.feature_names, require_label=True,
                              as_frame=dataset.is_mixed_table())
            setattr(dataset, role, extra)
    return dataset


def load_any(source: str, cfg: DataConfig) -> Dataset:
    path = Path(source).expanduser()
    if (path / RUN_MARKER).exists() and is_named(source):
        return load_named(source, cfg.options)  # `--out digits --data digits`: the name is meant
    if path.is_dir():
        if is_array_folder(path):
            no_file_options(cfg, path)
            return load_array_folder(path)
        return load_image_folder(path, cfg.options)
    if path.exists() or looks_like_path(source):
        path = existing_file(source)
        if not is_supported_file(path):
            raise DensekitError(f"{path} has an unsupported extension '{path.suffix}'. densekit "
                                f"reads {', '.join(sorted(SUFFIXES))} files, folders of images, "
                                "NPY or IDX files, and named datasets.")
        no_file_options(cfg, path)
        return load_file(path, cfg)
    return load_named(source, cfg.options)


def no_file_options(cfg: DataConfig, path: Path) -> None:
    if cfg.options:
        raise DensekitError("data.options apply to named datasets and image folders only; remove "
                            f"them for {path}.")


def looks_like_path(source: str) -> bool:
    return "/" in source or "\\" in source or Path(source).suffix.lower() in SUFFIXES


def existing_file(source: str) -> Path:
    path = Path(source).expanduser()
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise DensekitError(f"The data file {path} {what}. Check the path (relative paths are "
                            f"taken from {Path.cwd()}).")
    return path
