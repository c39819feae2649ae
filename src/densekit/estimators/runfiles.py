"""An estimator's fitted model written as an ordinary run directory (rundir/run.py)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

from densekit.config import Config
from densekit.rundir.card import ModelCard
from densekit.rundir.files import write_json
from densekit.rundir.run import RunDir, plan_run_dir


def save_run(path: str | Path, model: torch.nn.Module, card: ModelCard, config: dict[str, Any],
             history: list[dict], metrics: dict[str, Any], info: dict[str, Any]) -> Path:
    """config.yaml, history.jsonl, metrics.json, run.json, model.safetensors and model.json;
    an existing folder with files in it is refused (a run is never written over)."""
    run = RunDir.create(plan_run_dir(str(path), "estimator"))
    cfg = Config.from_dict({**config, "out": str(run.path)})
    run.write_text("config.yaml", cfg.to_yaml())
    run.write_history(history)
    write_json(run.file("metrics.json"), metrics)
    write_json(run.file("run.json"), info)
    run.save_model(model, copy.deepcopy(card))  # save_model records the weights' checksum in it
    return run.path
