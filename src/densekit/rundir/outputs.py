"""Where a command may write a file the user named (--output): never over an existing file
unless asked (--overwrite), never over a run directory's own files, and, when the folder is not
there, a message that says so rather than the temporary file's name."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from densekit.errors import DensekitError

# A folder holding one of these is a run directory (or a cross-validation folder).
RUN_MARKERS = ("model.json", "config.yaml", "history.jsonl", "cv.json")
# Files and sub-folders densekit writes into a run directory: reading any of them back later
# (resume, report, predict) must find what training wrote.
RUN_FILES = frozenset({
    "config.yaml", "history.jsonl", "metrics.json", "run.json", "model.json", "model.safetensors",
    "predictions.npz", "report.html", "cv.json", "cv.html", "checkpoints", "tensorboard", "snapshots",
})


def check_output(path: str | Path, overwrite: bool = False, own: Optional[Path] = None) -> Path:
    """Refuse an output path that would lose data; return it. `own` is the file this command
    writes by default (a run's report.html), which it may always rewrite."""
    path = Path(path)
    if own is not None and same_file(path, own):
        return path
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise DensekitError(f"Cannot write {path}: the folder {folder} {what}. Create it first "
                            f"(mkdir -p {folder}) or choose another --output.")
    if path.is_dir():
        raise DensekitError(f"Cannot write {path}: it is a folder. Give a file name, "
                            f"e.g. --output {path / 'NAME'}.")
    run = run_directory_holding(path)
    if run is not None:
        raise DensekitError(f"Cannot write {path}: it is one of the files of the run directory {run}, "
                            "which densekit never writes over (--overwrite does not apply). Choose a "
                            "file name outside the run's own files, e.g. in the current folder.")
    if path.exists() and not overwrite:
        raise DensekitError(f"Cannot write {path}: the file already exists. Add --overwrite to "
                            "replace it, or choose another --output.")
    return path


def run_directory_holding(path: Path) -> Optional[Path]:
    """The run directory whose own file (or own sub-folder's file) `path` is, if any."""
    resolved = path.resolve()
    parent = resolved.parent
    if is_run_directory(parent) and (resolved.name in RUN_FILES or resolved.name.startswith(".")):
        return path.parent  # dot-files are its temporary and lock files
    if parent.name in RUN_FILES and is_run_directory(parent.parent):
        return path.parent.parent  # checkpoints/, tensorboard/, snapshots/
    return None


def is_run_directory(folder: Path) -> bool:
    return any((folder / marker).exists() for marker in RUN_MARKERS)


def same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()
