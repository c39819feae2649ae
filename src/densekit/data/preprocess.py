"""Feature scaling fitted on training data only, and applied identically at prediction time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import torch

from densekit.errors import DensekitError


@dataclass
class Preprocessor:
    """Images: bytes kept as uint8 in memory, scaled to [0, 1] when a batch is formed (or, with
    data.pixels: standardize, to zero mean and unit variance over the training pixels).
    Bags of words: multi-hot bytes (or counts, TF-IDF) used as they are, floats per batch.
    Tables: each numeric column standardised with the training mean and standard deviation,
    then smoothly clipped (bounded by ±10, as RealMLP clips at ±3: a heavy tail or an outlier
    cannot dominate); 0/1 columns (one-hot categories) are kept as they are."""

    kind: str                          # "image", "bag" or "table"
    pixel_scale: float = 1 / 255
    pixel_shift: float = 0.0           # subtracted after scaling: standardised images only
    mean: Optional[np.ndarray] = None  # (features,) tables only: the centre…
    std: Optional[np.ndarray] = None   # …the divisor…
    clip: Optional[np.ndarray] = None  # …and which columns are smoothly clipped (bool)

    @classmethod
    def fit(cls, x: np.ndarray, kind: str, pixel_max: float = 255.0, pixels: str = "scale") -> "Preprocessor":
        if kind == "image" and pixels == "standardize":
            mean, std = pixel_moments(x)
            std = std if std > 0 else 1.0
            # (x / max - mean / max) / (std / max) = x · scale - shift, two scalars per batch.
            return cls(kind, pixel_scale=1.0 / std, pixel_shift=mean / std)
        if kind == "bag":
            return cls("bag")  # multi-hot bytes, counts or TF-IDF: used as they are
        if kind == "image":
            return cls(kind, pixel_scale=1.0 / pixel_max)
        center, divisor, clip = clipped_scaling(x.astype(np.float64))
        return cls("table", mean=center, std=divisor, clip=clip)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """The in-memory form: uint8 for images, standardised float32 for tables."""
        if self.kind == "bag":
            return np.ascontiguousarray(x, dtype=np.uint8 if x.dtype == np.uint8 else np.float32)
        if self.kind == "image":
            if x.dtype != np.uint8 and x.size and (x.min() < 0 or x.max() > 255):
                raise DensekitError(
                    f"This model reads images as bytes 0..255, but the input ranges from "
                    f"{x.min()} to {x.max()}. Give raw pixel values, not rescaled ones.")
            return np.ascontiguousarray(x, dtype=np.uint8)
        scaled = ((x.astype(np.float32) - self.mean) / self.std).astype(np.float32)
        if self.clip is not None and self.clip.any():
            scaled[:, self.clip] = smooth_clip(scaled[:, self.clip])
        return scaled

    def batch(self, x: torch.Tensor) -> torch.Tensor:
        """The float batch the network sees. Called in the training hot path."""
        if self.kind == "image":
            scaled = torch.mul(x, self.pixel_scale)  # (batch, features) float32, one kernel
            return scaled.sub_(self.pixel_shift) if self.pixel_shift else scaled
        return x.float() if self.kind == "bag" else x

    def to_json(self) -> dict[str, Any]:
        if self.kind == "bag":
            return {"kind": "bag"}
        if self.kind == "image":
            return {"kind": "image", "pixel_scale": self.pixel_scale, "pixel_shift": self.pixel_shift}
        clip = {} if self.clip is None else {"clip": self.clip.tolist()}
        return {"kind": "table", "mean": self.mean.tolist(), "std": self.std.tolist(), **clip}

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> "Preprocessor":
        if values["kind"] == "bag":
            return cls("bag")
        if values["kind"] == "image":
            return cls("image", pixel_scale=values["pixel_scale"],
                       pixel_shift=values.get("pixel_shift", 0.0))
        clip = values.get("clip")  # models saved before clipping have none
        return cls("table", mean=np.asarray(values["mean"], dtype=np.float32),
                   std=np.asarray(values["std"], dtype=np.float32),
                   clip=None if clip is None else np.asarray(clip, dtype=bool))


def pixel_moments(x: np.ndarray, rows: int = 65_536) -> tuple[float, float]:
    """Mean and standard deviation of every pixel value, in chunks: a float copy of a large
    image set would cost eight times its size."""
    total = squares = 0.0
    for start in range(0, len(x), rows):
        chunk = x[start:start + rows].astype(np.float64)
        total += chunk.sum()
        squares += np.square(chunk).sum()
    count = x.size
    mean = total / count
    return mean, float(np.sqrt(max(squares / count - mean * mean, 0.0)))


# smooth_clip is near the identity within ±3 (3 → 2.87) and bounded by ±CLIP_AT (50 → 9.8).
# At 3, as RealMLP clips, a regression whose target follows a long-tailed input linearly
# (flights' delays) lost 2 points of R²; at 10 it keeps them, and engel's outliers still
# cannot dominate (R² 0.69 unclipped, 0.78 at 10; benchmarks/defaults.py).
CLIP_AT = 10.0


def clipped_scaling(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column: centre (mean), divisor (standard deviation; 1 for a constant column) and
    whether to clip smoothly beyond ±CLIP_AT deviations, so that a heavy tail or an outlier
    cannot dominate. 0/1 columns are left as they are: centre 0, divisor 1, no clipping.
    (The median and interquartile range, RealMLP's choice, did worse here: breast-cancer's
    long-tailed columns lost 3 points of accuracy; benchmarks/defaults.py.)"""
    width = x.shape[1]
    if not len(x):
        return np.zeros(width, np.float32), np.ones(width, np.float32), np.zeros(width, bool)
    std = x.std(axis=0)
    binary = ((x == 0) | (x == 1)).all(axis=0)
    center = np.where(binary, 0.0, x.mean(axis=0))
    divisor = np.where(binary | (std == 0), 1.0, std)
    return center.astype(np.float32), divisor.astype(np.float32), ~binary


def smooth_clip(z: np.ndarray) -> np.ndarray:
    return z / np.sqrt(1.0 + np.square(z / CLIP_AT))
