"""Writing files so that a crash or a full disk never leaves half of one."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Optional

from densekit.errors import DensekitError


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target, so a
    crash or a full disk leaves either the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp's 0600 would hide runs from other users
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise DensekitError(f"Could not write {path}: {err.strerror or err}. Free some disk space "
                            "or choose another --out folder; earlier files are intact.") from None


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: Path, values: Any) -> None:
    atomic_write(path, (json.dumps(values, indent=2) + "\n").encode())


JSON_LIMIT = 256 << 20      # model.json, run.json…: far larger means it is not ours
SAFETENSORS_HEADER_LIMIT = 100_000_000  # the safetensors library's own limit


def read_json(path: Path) -> Any:
    try:
        return json.loads(read_regular(path, JSON_LIMIT))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DensekitError(f"{path} is not valid JSON ({err}); the file is damaged.") from None


def read_regular(path: Path, limit: Optional[int] = None) -> bytes:
    """A regular file's bytes, at most its size when opened. A FIFO would make the read wait
    forever and a device (a link to /dev/zero) never end, so only regular files are read
    (links to them are fine). limit: refuse a larger file."""
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if limit is not None and size > limit:
            raise DensekitError(f"{path} is {size:,} bytes, more than such a file can be "
                                f"({limit:,}); it is not one densekit wrote.")
        return handle.read(size)


def open_regular(path: Path):
    """An open binary handle on a regular file, or a DensekitError saying why not."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        raise DensekitError(f"Cannot read {path}: {err.strerror or err}.") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise DensekitError(f"{path} is not a regular file (it is {file_kind(mode)}); densekit "
                            "reads run files only from regular files. Replace it with the file "
                            "that was written there.")
    return os.fdopen(fd, "rb")


def file_kind(mode: int) -> str:
    kinds = [(stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")]
    return next((name for test, name in kinds if test(mode)), "not a plain file")


def read_safetensors(path: Path) -> bytes:
    """A safetensors file's bytes, read only as far as its header says the file goes: the
    8-byte header length is bounded, and a file of another length than the header describes
    is refused before its payload is read."""
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        head = handle.read(8)
        length = int.from_bytes(head, "little") if len(head) == 8 else -1
        if not 0 < length <= min(SAFETENSORS_HEADER_LIMIT, size - 8):
            raise DensekitError(f"{path} has no valid safetensors header (length {length:,} for a "
                                f"file of {size:,} bytes): the file was truncated or modified.")
        header = handle.read(length)
        end = 8 + length + payload_length(header, path)
        if end != size:
            raise DensekitError(f"{path} is {size:,} bytes but its safetensors header describes "
                                f"{end:,}: the file was truncated or modified.")
        return head + header + handle.read(size - 8 - length)


def payload_length(header: bytes, path: Path) -> int:
    """Where the last tensor ends, from a safetensors header."""
    try:
        entries = json.loads(header)
        ends = [int(v["data_offsets"][1]) for k, v in entries.items() if k != "__metadata__"]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        raise DensekitError(f"{path} has an unreadable safetensors header; the file is damaged.") from None
    return max(ends, default=0)
