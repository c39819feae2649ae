"""Low-level array readers shared by the file, folder and named-set loaders: NPY and NPZ.

Neither reads pickles: an array file from a stranger must not be able to run code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from densekit.errors import DensekitError


def read_npy(path: Path) -> np.ndarray:
    try:
        # Memory-mapped copy-on-write: pages are read when used, and the array is writable
        # (torch wants that) without ever writing to the file. No pickles in this mode.
        return np.load(path, mmap_mode="c")
    except OSError as err:
        raise DensekitError(f"Cannot read {path}: {err.strerror or err}.") from None
    except ValueError as err:
        raise DensekitError(f"{path} is not a readable NPY array ({err}). It may be truncated, or "
                            "hold Python objects, which densekit refuses to load.") from None


def read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        # allow_pickle=False: an NPZ from a stranger must not be able to run code.
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except OSError as err:
        raise DensekitError(f"Cannot read {path}: {err.strerror or err}. Check the path.") from None
    except (zipfile.BadZipFile, ValueError, EOFError) as err:
        raise DensekitError(f"{path} is not a readable NPZ file ({err}). It may be truncated or "
                            "hold pickled objects, which densekit refuses to load.") from None
