"""Checkpoints: everything the loop needs to continue bit for bit, in safetensors files.

A checkpoint is one safetensors file: tensors (model, optimizer state, random-number states,
the epoch's sample order) plus a JSON document in the file's metadata (loop state, history,
scheduler, configuration, data hash). Nothing is ever unpickled. A SHA-256 of the payload sits
in the metadata, so a truncated or corrupted file is detected and the previous copy used.

RUN/checkpoints/
  last.safetensors        newest
  last.prev.safetensors   the one before (kept while `last` is replaced)
  best.safetensors        at the best monitored value
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from densekit.errors import DensekitError
from densekit.rundir.files import atomic_write, read_safetensors

FORMAT = "densekit-checkpoint/1"


@dataclass
class Checkpoint:
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]
    path: Optional[Path] = None


# ------------------------------------------------------------------ (de)serialising nested state


def to_json_tree(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace tensors inside nested dicts/lists by references, collecting them in `tensors`."""
    if torch.is_tensor(obj):
        tensors[prefix] = obj.detach().cpu().contiguous()
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: to_json_tree(v, f"{prefix}.{k}", tensors) for k, v in obj.items()}
        # Optimizer state is keyed by integers, which JSON would turn into strings.
        return {"__items__": [[k, to_json_tree(v, f"{prefix}.{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [to_json_tree(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return obj.tolist()
    return obj


def from_json_tree(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__items__" in obj:
            return {k: from_json_tree(v, tensors) for k, v in obj["__items__"]}
        if "__tuple__" in obj:
            return tuple(from_json_tree(v, tensors) for v in obj["__tuple__"])
        return {k: from_json_tree(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_json_tree(v, tensors) for v in obj]
    return obj


def payload_digest(tensors: dict[str, torch.Tensor], document: str) -> str:
    digest = hashlib.sha256(document.encode())
    for key in sorted(tensors):
        digest.update(key.encode())
        if tensors[key].numel():
            digest.update(tensor_bytes(tensors[key]))
    return digest.hexdigest()


def tensor_bytes(t: torch.Tensor):
    """A tensor's raw bytes as a buffer (no copy for contiguous CPU tensors)."""
    return t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy()


def encode(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> bytes:
    document = json.dumps(meta)
    return save_safetensors(tensors, metadata={"format": FORMAT, "state": document,
                                               "sha256": payload_digest(tensors, document)})


def decode(blob: bytes, path: Path) -> Checkpoint:
    """Parse and verify one checkpoint file; raises ValueError when it is damaged."""
    try:
        tensors = load_safetensors(blob)
        header_len = int.from_bytes(blob[:8], "little")
        metadata = json.loads(blob[8:8 + header_len])["__metadata__"]
    except (SafetensorError, ValueError, KeyError, json.JSONDecodeError) as err:
        raise ValueError(f"unreadable ({err})") from None
    if metadata.get("format") != FORMAT:
        raise ValueError(f"not a densekit checkpoint (format {metadata.get('format')!r})")
    if payload_digest(tensors, metadata["state"]) != metadata.get("sha256"):
        raise ValueError("checksum mismatch: the file was truncated or modified")
    return Checkpoint(tensors, json.loads(metadata["state"]), path)


# ------------------------------------------------------------------ the folder


class CheckpointFolder:
    def __init__(self, run_path: Path):
        self.folder = Path(run_path) / "checkpoints"
        self.last = self.folder / "last.safetensors"
        self.prev = self.folder / "last.prev.safetensors"
        self.staged = self.folder / "last.next.safetensors"  # complete, about to become `last`
        self.best = self.folder / "best.safetensors"

    def exists(self) -> bool:
        return self.last.exists() or self.prev.exists()

    def save_last(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        blob = encode(tensors, meta)      # serialise before touching any file
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self.staged, blob)  # a full disk fails here; `last` is untouched
        if self.last.exists():
            os.replace(self.last, self.prev)
        os.replace(self.staged, self.last)

    def save_best(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self.best, encode(tensors, meta))

    def load_newest(self, warn) -> Checkpoint:
        """The newest checkpoint that verifies; damaged ones are reported and skipped."""
        problems = []
        # `last.next` exists only between the two renames of save_last, and is then the newest.
        for path in (self.staged, self.last, self.prev):
            if not path.exists():
                continue
            try:
                checkpoint = decode(read_safetensors(path), path)
            except (ValueError, DensekitError) as err:
                problems.append(f"{path.name}: {err}")
                warn(f"checkpoint {path} is damaged ({err}); trying the previous copy")
                continue
            return checkpoint
        detail = "; ".join(problems) or "none was written"
        raise DensekitError(f"No usable checkpoint in {self.folder} ({detail}). The run cannot be "
                            "resumed; train it again.")
