"""IDX files (the MNIST family's format), raw or gzip-compressed."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from densekit.errors import DensekitError

# The third magic byte names the element type; only unsigned bytes are used by the datasets.
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    path = Path(path)
    raw = read_maybe_gzip(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise DensekitError(
            f"{path} is not an IDX file: its magic number is {raw[:4].hex() or 'missing'}, "
            "expected 0000 followed by a type byte and a dimension count (e.g. 00000803). "
            "The file may be corrupt or of another format; download it again.")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    dtype = np.dtype(IDX_TYPES[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DensekitError(
            f"{path} is truncated or padded: its header announces shape {shape} "
            f"({expected:,} bytes) but the file holds {len(raw):,} bytes. Download it again.")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def read_maybe_gzip(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DensekitError(f"Cannot read {path}: {err.strerror}. Check the path.") from None
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        # A decompressor object (not gzip.decompress) tells whether the stream really ended.
        stream = zlib.decompressobj(wbits=31)
        raw = stream.decompress(data)
        if not stream.eof:
            raise EOFError("the compressed stream ends early")
        return raw
    except (EOFError, zlib.error) as err:
        raise DensekitError(
            f"{path} is a corrupt or truncated gzip file ({err}). Download it again.") from None
