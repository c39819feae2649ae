"""IDX files (the MNIST family's format), raw or gzip-compressed."""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np

from densekit.errors import DensekitError

# The third magic byte names the element type; only unsigned bytes are used by the datasets.
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """The array of an IDX file; a raw (uncompressed) file is memory-mapped, not read."""
    path = Path(path)
    with open_or_explain(path) as handle:
        head = handle.read(4 + 4 * 255)
    if head[:2] == b"\x1f\x8b":
        raw = read_maybe_gzip(path)
        dtype, shape, header = parse_header(raw, path)
        check_length(path, shape, dtype, header, len(raw))
        return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    dtype, shape, header = parse_header(head, path)
    check_length(path, shape, dtype, header, path.stat().st_size)
    if not math.prod(shape):
        return np.zeros(shape, dtype=dtype)  # np.memmap refuses an empty mapping
    # Copy-on-write: writable for torch without a copy, and the file is never written.
    return np.memmap(path, dtype=dtype, mode="c", offset=header, shape=shape)


def parse_header(raw: bytes, path: Path) -> tuple[np.dtype, tuple[int, ...], int]:
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise DensekitError(
            f"{path} is not an IDX file: its magic number is {raw[:4].hex() or 'missing'}, "
            "expected 0000 followed by a type byte and a dimension count (e.g. 00000803). "
            "The file may be corrupt or of another format; download it again.")
    header = 4 + 4 * raw[3]
    if len(raw) < header:
        raise DensekitError(f"{path} is truncated: it ends inside its header. Download it again.")
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    return np.dtype(IDX_TYPES[raw[2]]), shape, header


def check_length(path: Path, shape: tuple[int, ...], dtype: np.dtype, header: int, length: int) -> None:
    # math.prod, not np.prod: four dimensions of 65,536 would wrap to 0 in int64 and pass.
    expected = header + math.prod(shape) * dtype.itemsize
    if length != expected:
        raise DensekitError(
            f"{path} is truncated or padded: its header announces shape {shape} "
            f"({expected:,} bytes) but the file holds {length:,} bytes. Download it again.")


def open_or_explain(path: Path):
    try:
        return open(path, "rb")
    except OSError as err:
        raise DensekitError(f"Cannot read {path}: {err.strerror}. Check the path.") from None


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
