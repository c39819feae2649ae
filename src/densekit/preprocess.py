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
    Tables: each column standardised with the training mean and standard deviation."""

    kind: str                          # "image", "bag" or "table"
    pixel_scale: float = 1 / 255
    pixel_shift: float = 0.0           # subtracted after scaling: standardised images only
    mean: Optional[np.ndarray] = None  # (features,) tables only
    std: Optional[np.ndarray] = None

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
        x = x.astype(np.float64)
        std = x.std(axis=0)
        # A constant column would divide by zero; leave it centred instead.
        std = np.where(std > 0, std, 1.0)
        return cls("table", mean=x.mean(axis=0).astype(np.float32), std=std.astype(np.float32))

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
        return ((x.astype(np.float32) - self.mean) / self.std).astype(np.float32)

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
        return {"kind": "table", "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> "Preprocessor":
        if values["kind"] == "bag":
            return cls("bag")
        if values["kind"] == "image":
            return cls("image", pixel_scale=values["pixel_scale"],
                       pixel_shift=values.get("pixel_shift", 0.0))
        return cls("table", mean=np.asarray(values["mean"], dtype=np.float32),
                   std=np.asarray(values["std"], dtype=np.float32))


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
