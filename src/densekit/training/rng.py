"""Capture and restore every random-number stream the training loop touches."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def capture_rng(shuffle: torch.Generator, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Torch states go into `tensors`; NumPy's and Python's are returned as JSON-able values."""
    tensors["rng.torch"] = torch.get_rng_state()            # dropout on CPU
    tensors["rng.shuffle"] = shuffle.get_state()            # the epochs' sample orders
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()    # dropout on the GPU
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    version, state, gauss = random.getstate()
    return {"numpy": [kind, keys.tolist(), pos, has_gauss, cached],
            "python": [version, list(state), gauss]}


def restore_rng(saved: dict[str, Any], shuffle: torch.Generator, tensors: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    shuffle.set_state(tensors["rng.shuffle"])  # a CPU byte tensor, whatever the device
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    kind, keys, pos, has_gauss, cached = saved["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, state, gauss = saved["python"]
    random.setstate((version, tuple(state), gauss))
