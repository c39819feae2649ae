"""The run directory: the contract between training and everything after it.

runs/<name>/
  config.yaml        the resolved configuration
  history.jsonl      one JSON line per evaluation, appended as training goes
  metrics.json       {"validation": {...}, "test": {...}}
  run.json           data sizes, task, device, time taken (card.RunInfo)
  model.safetensors  weights (never pickle: a model file must not be able to run code)
  model.json         everything prediction needs (card.ModelCard)
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Callable, Optional

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from densekit.errors import DensekitError
from densekit.rundir.card import ModelCard
from densekit.rundir.claim import holder, holds_nothing, in_use
from densekit.rundir.files import atomic_write, read_json, read_regular, read_safetensors


def plan_run_dir(out: Optional[str], hint: str) -> Path:
    """Choose the run folder before any work starts; an existing one is never reused."""
    if out:
        path = Path(out)
        if path.is_dir() and holder(path):
            raise in_use(path)
        check_new_folder(path)
        return path
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in hint) or "run"
    base = Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def check_new_folder(path: Path) -> None:
    """A new run goes into a folder that does not exist or holds nothing."""
    if path.exists() and (not path.is_dir() or not holds_nothing(path)):
        raise DensekitError(
            f"The run directory {path} already exists and densekit never writes over a run. "
            "Choose another --out, or delete that folder if you no longer need it.")


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

    # ------------------------------------------------------------ history

    def append_history(self, record: dict) -> None:
        """One whole line per write, synced: a crash leaves at most the line being written."""
        try:
            with open(self.file("history.jsonl"), "a") as handle:
                handle.write(json.dumps(record) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as err:
            raise DensekitError(f"Could not append to {self.file('history.jsonl')}: "
                                f"{err.strerror or err}. Free some disk space; the checkpoints "
                                "saved so far are intact.") from None

    def write_history(self, records: list[dict]) -> None:
        atomic_write(self.file("history.jsonl"), "".join(json.dumps(r) + "\n" for r in records).encode())

    def read_history(self, warn: Optional[Callable[[str], None]] = None) -> list[dict]:
        """The evaluation records. A line that does not parse (the last one, torn by a crash
        while it was written) is skipped and reported to `warn`."""
        path = self.file("history.jsonl")
        if not path.exists():
            return []
        records, torn = parse_history(read_regular(path).decode("utf-8", errors="replace"))
        if torn and warn is not None:
            warn(f"{path}: {describe_torn(torn)} skipped (a crash while it was written)")
        return records

    # ------------------------------------------------------------ the model

    def save_model(self, model: torch.nn.Module, card: ModelCard) -> None:
        tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        blob = save_safetensors(tensors)
        atomic_write(self.file("model.safetensors"), blob)
        card.weights_sha256 = hashlib.sha256(blob).hexdigest()
        atomic_write(self.file("model.json"), (json.dumps(card.to_json(), indent=2) + "\n").encode())

    def load_model(self) -> tuple[ModelCard, dict[str, torch.Tensor]]:
        card = ModelCard.from_json(read_json(self.file("model.json")), self.file("model.json"))
        path = self.file("model.safetensors")
        blob = read_safetensors(path)
        if hashlib.sha256(blob).hexdigest() != card.weights_sha256:
            raise DensekitError(
                f"{path} does not match the checksum recorded in model.json: the file was "
                "truncated or modified after training. Restore it from a backup or train again.")
        try:
            return card, load_safetensors(blob)
        except SafetensorError as err:
            raise DensekitError(f"{path} is not a valid safetensors file ({err}).") from None

    # ------------------------------------------------------------ first-layer snapshots

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
                found.append((int(path.stem.rsplit("-", 1)[1]), load_safetensors(read_safetensors(path))["weight"]))
            except (ValueError, KeyError, OSError, SafetensorError, DensekitError):
                continue
        return sorted(found, key=lambda item: item[0])


def parse_history(text: str) -> tuple[list[dict], list[int]]:
    """(records, numbers of the lines that are not whole JSON records)."""
    records, torn = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict):
            records.append(record)
        else:
            torn.append(number)
    return records, torn


def describe_torn(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"line {numbers[0]} is incomplete and was"
    return f"{len(numbers)} incomplete lines (lines {', '.join(map(str, numbers[:5]))}…) were"
