"""One process at a time in a run directory.

The "does it exist" check happens before the data is loaded, seconds before the folder is
written; two commands started together would both pass it and mix their files. So a training
process claims its run directory: an exclusive flock on RUN/.lock, held for the run's life
and released by the kernel when the process dies (kill -9 included), so it never goes stale.
A new run directory also gets a marker, RUN/.densekit-run, with a run id: only a folder that
densekit created may later be restarted or resumed.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
import uuid
from pathlib import Path
from typing import Optional

from densekit.data.named import RUN_MARKER
from densekit.errors import DensekitError
from densekit.rundir.card import MODEL_FORMAT
from densekit.rundir.checkpoint import CheckpointFolder
from densekit.rundir.files import atomic_write, read_json, read_regular

LOCK = ".lock"
MARKER = RUN_MARKER
CLAIM_FILES = {LOCK, MARKER}  # a folder holding only these is as good as empty
MARKER_FORMAT = "densekit-run"


class RunClaim:
    """with RunClaim(path, new=True): the folder is ours until the block ends.
    new: create the folder (and its marker); if the block fails before anything else was
    written, the folder is left as it was found."""

    def __init__(self, path: Path, new: bool):
        self.path, self.new = Path(path), new
        self.created = False
        self.fd: Optional[int] = None

    def __enter__(self) -> "RunClaim":
        if self.new:
            self.created = make_folder(self.path)
        elif not self.path.is_dir():
            raise DensekitError(f"{self.path} does not exist: there is no run to continue. Give "
                                "the folder that `densekit train` printed, e.g. runs/digits-….")
        self.fd = lock(self.path)
        if self.new and not marker(self.path):
            write_marker(self.path)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                self.undo()
        finally:
            os.close(self.fd)  # releases the lock

    def undo(self) -> None:
        """A run that failed while starting (bad data, say) leaves no trace."""
        if not holds_nothing(self.path):
            return
        if self.new:
            (self.path / MARKER).unlink(missing_ok=True)
        (self.path / LOCK).unlink(missing_ok=True)  # lock() checks the inode: no one is fooled
        if self.created:
            self.path.rmdir()


def make_folder(path: Path) -> bool:
    """Create the run directory; True when it did not exist before."""
    existed = path.is_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DensekitError(f"Cannot create the run directory {path}: {err.strerror or err}.") from None
    return not existed


def lock(path: Path, tries: int = 10) -> int:
    """An exclusive lock on path/.lock, as an open descriptor; refused naming the holder."""
    for _ in range(tries):
        try:
            fd = os.open(path / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as err:
            raise DensekitError(f"Cannot use {path} as a run directory: {err.strerror or err} "
                                f"({path / LOCK}).") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            time.sleep(0.02)  # someone holds it (or only looked, see holder()): ask again
            continue
        if same_file(fd, path / LOCK):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)  # the file was removed by a run that failed while starting: retry
    raise in_use(path)


def same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def holder(path: Path) -> Optional[int]:
    """The pid of the process that holds path/.lock, or None when no one does."""
    try:
        fd = os.open(path / LOCK, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return None
    except BlockingIOError:
        text = os.read(fd, 32).decode(errors="replace").strip()
        return int(text) if text.isdigit() else -1
    finally:
        os.close(fd)  # a shared lock taken to look is released at once


def in_use(path: Path) -> DensekitError:
    pid = holder(path)
    who = f"pid {pid}" if pid and pid > 0 else "a process that has not written its pid yet"
    return DensekitError(
        f"The run directory {path} is in use by another densekit process ({who}). Two runs in "
        "one folder would mix their files: wait for that one to finish, or choose another --out.")


def write_marker(path: Path) -> None:
    values = {"format": MARKER_FORMAT, "run_id": uuid.uuid4().hex,
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    atomic_write(path / MARKER, (json.dumps(values) + "\n").encode())


def marker(path: Path) -> Optional[dict]:
    """The run's marker, or None when it has none (a folder densekit did not create, or a run
    written before markers existed)."""
    try:
        values = json.loads(read_regular(path / MARKER, limit=4096))
    except (DensekitError, ValueError):
        return None
    return values if isinstance(values, dict) and values.get("format") == MARKER_FORMAT else None


def holds_nothing(path: Path) -> bool:
    """Empty, or only the claim of a run that never got further (killed while starting)."""
    return not set(os.listdir(path)) - CLAIM_FILES


def check_owned(path: Path) -> None:
    """Refuse to restart or resume into a folder densekit did not create: it would replace the
    config.yaml and history.jsonl found there."""
    if not path.is_dir() or holds_nothing(path) or marker(path) is not None or older_run(path):
        return
    raise DensekitError(
        f"{path} is not a densekit run: it has no {MARKER} marker, no checkpoint and no model "
        "description, and resuming would replace the config.yaml and history.jsonl in it. "
        "Give --out a new folder. (A run written by an older densekit and killed before its "
        "first checkpoint cannot be told apart from such a folder: delete it and train again.)")


def older_run(path: Path) -> bool:
    """A run written before markers existed: its checkpoints verify, or it has a model card."""
    try:
        CheckpointFolder(path).load_newest(warn=lambda _: None)
        return True
    except DensekitError:
        pass
    try:
        card = read_json(path / "model.json")
    except DensekitError:
        return False
    return isinstance(card, dict) and card.get("format") == MODEL_FORMAT
