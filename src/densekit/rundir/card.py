"""The typed files of a run directory: the model card (model.json: everything prediction
needs) and the run information (run.json). Both carry a format version; a file written by a
newer densekit is refused with a message rather than misread."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Optional

from densekit.errors import DensekitError

MODEL_FORMAT = "densekit-model"
MODEL_FORMAT_VERSION = 2  # 2: class weights and a checksum of the card itself
RUN_INFO_VERSION = 1


@dataclass
class ModelCard:
    n_inputs: int
    n_outputs: int
    model: dict                      # the model section of the configuration
    targets: dict                    # the task (tasks.Task.to_json)
    preprocessing: dict              # preprocess.Preprocessor.to_json
    feature_names: list
    label_column: Any = None
    label_delimiter: Optional[str] = None
    data_kind: str = "table"
    image_shape: Optional[list] = None
    label_smoothing: float = 0.0
    table_encoder: Optional[dict] = None
    class_weight: Optional[list] = None   # per-class loss weights, so evaluate scores as training did
    weights_sha256: str = ""
    format_version: int = MODEL_FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        values = {"format": MODEL_FORMAT, **asdict(self)}
        values["card_sha256"] = card_digest(values)
        return values

    @classmethod
    def from_json(cls, values: Any, path: Path) -> "ModelCard":
        if not isinstance(values, dict) or values.get("format") != MODEL_FORMAT:
            raise DensekitError(f"{path} is not a densekit model description.")
        version = values.get("format_version")
        if not isinstance(version, int) or version > MODEL_FORMAT_VERSION:
            raise DensekitError(
                f"{path} has model format version {version!r}, newer than this densekit reads "
                f"(up to {MODEL_FORMAT_VERSION}). Upgrade densekit (pip install -U densekit) to "
                "use this model.")
        if "card_sha256" in values and values["card_sha256"] != card_digest(values):
            raise DensekitError(
                f"{path} was modified after training: its contents no longer match the checksum "
                "written with it, so predictions could silently change. Restore the file from a "
                "backup or train again.")
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in values.items() if k in known})
        except TypeError as err:
            raise DensekitError(f"{path} lacks part of a model description ({err}). Was it "
                                "edited by hand? Restore it or train again.") from None


def card_digest(values: dict[str, Any]) -> str:
    """SHA-256 of the card's contents (without the checksum itself), in a canonical form."""
    content = {k: v for k, v in values.items() if k != "card_sha256"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


@dataclass
class RunInfo:
    """run.json: what the run was (data sizes, task, time, where it ran)."""

    densekit_version: str
    data: str
    sizes: dict
    task: str
    task_reason: str
    steps: int
    epochs: int
    stop_reason: str
    train_seconds: float
    class_counts: Optional[dict]
    device: str
    step: str                    # how steps ran: "cuda graph", "fast path" or "autograd"
    torch: str
    threads: int
    machine: str
    processes: int = 1
    exchange_seconds: float = 0.0   # of train_seconds, passing gradients between processes
    format_version: int = RUN_INFO_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
