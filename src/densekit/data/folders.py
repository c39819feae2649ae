"""Where the files of a named dataset are looked for, in order."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Optional

# Folders where operating-system packages install the set (Debian: dataset-fashion-mnist).
SYSTEM_FOLDERS = [Path("/usr/share/datasets")]


def data_folders(name: str) -> list[Path]:
    """$DENSEKIT_DATA/NAME, then the download cache, then the system folders."""
    folders = []
    if os.environ.get("DENSEKIT_DATA"):
        folders.append(Path(os.environ["DENSEKIT_DATA"]) / name)
    folders.append(cache_folder(name))
    folders.extend(folder / name for folder in SYSTEM_FOLDERS)
    return folders


def cache_folder(name: str) -> Path:
    """Where downloads of the set are placed."""
    return Path.home() / ".cache" / "densekit" / name


def folder_holding(name: str, filenames: Iterable[str]) -> Optional[Path]:
    """The first look-up folder that holds every one of the files, or None."""
    filenames = list(filenames)
    for folder in data_folders(name):
        if all((folder / f).exists() for f in filenames):
            return folder
    return None
