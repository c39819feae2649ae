"""The in-memory form of a dataset, before preprocessing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np

from densekit.errors import DensekitError


@dataclass
class Part:
    """One split: features (n, d) and labels (n,) or (n, k); labels may be absent."""

    x: np.ndarray  # uint8 for images (scaled per batch), numeric otherwise
    y: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class Dataset:
    name: str
    train: Part
    validation: Optional[Part] = None
    test: Optional[Part] = None
    kind: str = "table"                                    # "image" or "table"
    feature_names: list[str] = field(default_factory=list)
    image_shape: Optional[tuple[int, ...]] = None          # e.g. (28, 28) for images
    pixel_max: float = 255.0                               # images are scaled by 1/pixel_max
    class_names: Optional[dict] = None                     # label value -> display name
    label_names: Optional[list[str]] = None                # multilabel: one name per column
    label_column: Optional[Union[str, list]] = None        # tables: the column(s) read as labels

    def is_mixed_table(self) -> bool:
        """Features still a pandas frame: text columns or gaps, encoded after the split."""
        return hasattr(self.train.x, "iloc")

    def parts(self) -> dict[str, Part]:
        named = {"train": self.train, "validation": self.validation, "test": self.test}
        return {k: v for k, v in named.items() if v is not None}


def check_finite(x: np.ndarray, feature_names: list[str], where: str) -> None:
    """Refuse NaN or infinite feature values, naming the columns and counting the rows."""
    if x.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(x)
    if not bad.any():
        return
    columns = [feature_names[i] if i < len(feature_names) else str(i)
               for i in np.flatnonzero(bad.any(axis=0))]
    rows = int(bad.any(axis=1).sum())
    shown = ", ".join(columns[:10]) + (f" and {len(columns) - 10} more" if len(columns) > 10 else "")
    raise DensekitError(
        f"The {where} features contain NaN or infinite values in {rows} row(s), in column(s): "
        f"{shown}. Remove or fill those rows before training (for example with pandas "
        "dropna() or fillna()).")


def flatten_images(x: np.ndarray) -> tuple[np.ndarray, Optional[tuple[int, ...]]]:
    """(n, h, w[, c]) -> (n, h*w*c), keeping the image shape for reports and weight images."""
    if x.ndim <= 2:
        return x, None
    return x.reshape(len(x), -1), tuple(x.shape[1:])
