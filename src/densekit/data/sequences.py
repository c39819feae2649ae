"""Word-index sequences (Keras's IMDB and Reuters files) read safely and made multi-hot.

Keras stores each review as a Python list of word indices inside an object array, which NumPy
can only save as a pickle. np.load(allow_pickle=True) would let a tampered file run code, so
the pickles are read by an unpickler that can rebuild NumPy arrays and nothing else.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np

from densekit.errors import DensekitError

# The only globals an object array of lists needs; lists and ints are pickle primitives.
SAFE_GLOBALS = {("numpy", "ndarray"), ("numpy", "dtype"),
                ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}

# Keras's conventions: 0 padding, 1 start of sequence, 2 out of vocabulary, words from 3.
START, OOV, INDEX_FROM = 1, 2, 3


class ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


def read_object_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an NPZ file, object arrays included, without running foreign code."""
    try:
        with zipfile.ZipFile(path) as archive:
            return {Path(member).stem: read_member(archive, member)
                    for member in archive.namelist() if member.endswith(".npy")}
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, pickle.UnpicklingError) as err:
        raise DensekitError(
            f"{path} is not a readable word-sequence NPZ file ({err}). It may be truncated, or "
            "hold objects other than arrays, which densekit refuses to load. Download it again.") from None


def read_member(archive: zipfile.ZipFile, member: str) -> np.ndarray:
    with archive.open(member) as handle:
        version = np.lib.format.read_magic(handle)
        # Format 3.0 differs from 2.0 only in the header's text encoding (UTF-8 for latin-1).
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(handle)
        if dtype.hasobject:
            array = ArrayOnlyUnpickler(handle).load()
            if not isinstance(array, np.ndarray):
                raise ValueError(f"{member} holds a {type(array).__name__}, not an array")
            return array
        data = np.frombuffer(handle.read(), dtype=dtype)
    expected = int(np.prod(shape))
    if data.size != expected:
        raise ValueError(f"{member} holds {data.size} values, its header announces {expected}")
    return data.reshape(shape, order="F" if fortran else "C")


def flat(sequences: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(all word indices in one array, the row each belongs to)."""
    if not len(sequences):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    try:
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        words = np.concatenate([np.asarray(s, dtype=np.int64).ravel() for s in sequences])
    except (TypeError, ValueError):
        words = np.array([-1])  # reported below, with the other impossible index
    if words.size and words.min() < 0:
        raise DensekitError("The word sequences hold something other than lists of word indices "
                            "(non-negative integers). The file is damaged; download it again.")
    return words, np.repeat(np.arange(len(sequences)), lengths)


def multi_hot(sequences: np.ndarray, num_words: int) -> np.ndarray:
    """Rows of 0/1 bytes: 1 where the word occurs, as the chapter's vectorize_sequences does.

    The file's indices are shifted by INDEX_FROM, a START marker is added and words beyond the
    top `num_words` become OOV, exactly as keras.datasets.*.load_data(num_words=...) returns
    them. Bytes, not floats: 25,000 × 10,000 is 250 MB instead of 1 GB.
    """
    words, rows = flat(sequences)
    words = words + INDEX_FROM
    words[words >= num_words] = OOV
    out = np.zeros((len(sequences), num_words), dtype=np.uint8)
    out[rows, words] = 1
    if num_words > START:
        out[:, START] = 1
    return out


def keras_shuffle(seed: int, *arrays: np.ndarray) -> list[np.ndarray]:
    """One RandomState shuffle applied to every array, as the Keras loaders do (seed 113)."""
    order = np.arange(len(arrays[0]))
    np.random.RandomState(seed).shuffle(order)
    return [a[order] for a in arrays]
