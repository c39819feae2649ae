"""The run directory: the contract between training and everything after it.

runs/<name>/
  config.yaml        the resolved configuration
  history.jsonl      one JSON line per evaluation, appended as training goes
  metrics.json       {"validation": {...}, "test": {...}}
  run.json           data sizes, task, device, time taken
  model.safetensors  weights (never pickle: a model file must not be able to run code)
  model.json         everything prediction needs: architecture, classes, preprocessing
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from densekit.errors import DensekitError

MODEL_FORMAT = "densekit-model"
MODEL_FORMAT_VERSION = 1


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


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as err:
        raise DensekitError(f"Cannot read {path}: {err.strerror or err}.") from None
    except json.JSONDecodeError as err:
        raise DensekitError(f"{path} is not valid JSON ({err}); the file is damaged.") from None


def plan_run_dir(out: Optional[str], hint: str) -> Path:
    """Choose the run folder before any work starts; an existing one is never reused."""
    if out:
        path = Path(out)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise DensekitError(
                f"The run directory {path} already exists and densekit never writes over a run. "
                "Choose another --out, or delete that folder if you no longer need it.")
        return path
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in hint) or "run"
    base = Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


class RunDir:
    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def create(cls, path: Path) -> "RunDir":
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DensekitError(f"Cannot create the run directory {path}: "
                                f"{err.strerror or err}.") from None
        return cls(path)

    @classmethod
    def open(cls, path: str | Path) -> "RunDir":
        path = Path(path)
        if not path.is_dir():
            raise DensekitError(f"{path} is not a run directory (it does not exist). Give the "
                                "folder that `densekit train` printed, e.g. runs/digits-….")
        if not (path / "model.json").exists():
            raise DensekitError(f"{path} is not a finished run: it has no model.json. Train into it "
                                "first, or check that training ended without an error.")
        return cls(path)

    def file(self, name: str) -> Path:
        return self.path / name

    def write_text(self, name: str, text: str) -> None:
        atomic_write(self.file(name), text.encode())

    def append_history(self, record: dict) -> None:
        try:
            with open(self.file("history.jsonl"), "a") as handle:
                handle.write(json.dumps(record) + "\n")
        except OSError as err:
            raise DensekitError(f"Could not append to {self.file('history.jsonl')}: "
                                f"{err.strerror or err}. Free some disk space; the checkpoints "
                                "saved so far are intact.") from None

    def write_history(self, records: list[dict]) -> None:
        atomic_write(self.file("history.jsonl"), "".join(json.dumps(r) + "\n" for r in records).encode())

    def read_history(self) -> list[dict]:
        path = self.file("history.jsonl")
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def save_model(self, model: torch.nn.Module, meta: dict[str, Any]) -> None:
        tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        blob = save_safetensors(tensors)
        atomic_write(self.file("model.safetensors"), blob)
        meta = {"format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION,
                "weights_sha256": hashlib.sha256(blob).hexdigest(), **meta}
        write_json(self.file("model.json"), meta)

    def save_snapshot(self, step: int, model: torch.nn.Module) -> None:
        """The first layer's weights at `step` (train.weight_snapshots), for the report."""
        first = next(p for name, p in model.named_parameters() if name.endswith("weight"))
        folder = self.file("snapshots")
        folder.mkdir(exist_ok=True)
        atomic_write(folder / f"first-layer-step-{step}.safetensors",
                     save_safetensors({"weight": first.detach().cpu().contiguous()}))

    def read_snapshots(self) -> list[tuple[int, torch.Tensor]]:
        """(step, first-layer weights) in step order; unreadable files are skipped."""
        found = []
        for path in self.file("snapshots").glob("first-layer-step-*.safetensors"):
            try:
                found.append((int(path.stem.rsplit("-", 1)[1]), load_safetensors(path.read_bytes())["weight"]))
            except (ValueError, KeyError, OSError, SafetensorError):
                continue
        return sorted(found, key=lambda item: item[0])

    def load_model_files(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        meta = read_json(self.file("model.json"))
        if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
            raise DensekitError(f"{self.file('model.json')} is not a densekit model description.")
        path = self.file("model.safetensors")
        try:
            blob = path.read_bytes()
        except OSError as err:
            raise DensekitError(f"Cannot read {path}: {err.strerror or err}.") from None
        if hashlib.sha256(blob).hexdigest() != meta.get("weights_sha256"):
            raise DensekitError(
                f"{path} does not match the checksum recorded in model.json: the file was "
                "truncated or modified after training. Restore it from a backup or train again.")
        try:
            return meta, load_safetensors(blob)
        except SafetensorError as err:
            raise DensekitError(f"{path} is not a valid safetensors file ({err}).") from None
