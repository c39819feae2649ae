"""The in-memory form of a dataset, before preprocessing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np
import pandas as pd

from densekit.errors import DensekitError


@dataclass
class Part:
    """One split: features (n, d) and labels (n,) or (n, k); labels may be absent."""

    # uint8 for images (scaled per batch), numeric otherwise; or a pandas DataFrame of raw
    # columns (text, categories, gaps) that an encoder fitted after the split turns numeric.
    x: Union[np.ndarray, pd.DataFrame]
    y: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class Dataset:
    name: str
    train: Part
    validation: Optional[Part] = None
    test: Optional[Part] = None
    kind: str = "table"                                    # "image", "table" or "bag" (of words)
    feature_names: list[str] = field(default_factory=list)
    image_shape: Optional[tuple[int, ...]] = None          # e.g. (28, 28) for images
    pixel_max: float = 255.0                               # images are scaled by 1/pixel_max
    class_names: Optional[dict] = None                     # label value -> display name
    label_names: Optional[list[str]] = None                # multilabel: one name per column
    label_column: Optional[Union[str, list]] = None        # tables: the column(s) read as labels

    def is_mixed_table(self) -> bool:
        """Features still a pandas frame: text columns or gaps, encoded after the split."""
        return is_raw_frame(self.train.x)

    def parts(self) -> dict[str, Part]:
        named = {"train": self.train, "validation": self.validation, "test": self.test}
        return {k: v for k, v in named.items() if v is not None}


def is_raw_frame(x) -> bool:
    """Features kept as the file's columns, to be encoded after the split (tables.py, text.py)."""
    return isinstance(x, pd.DataFrame)


def check_rows(part: Part, where: str) -> None:
    """Refuse arrays that no later step could use, naming where they came from."""
    x, y = part.x, part.y
    if np.ndim(x) == 0:  # a single number saved as the features
        raise DensekitError(f"{where} has a single value as its features (shape ()), not rows "
                            "of features. Save an array of shape (rows, features).")
    if len(x) == 0:
        raise DensekitError(f"{where} has no rows: its features have shape {tuple(x.shape)}. Give "
                            "data with at least one row per class to learn from.")
    if y is None:
        return
    if y.ndim not in (1, 2):
        n = len(x)
        raise DensekitError(
            f"The labels of {where} have shape {tuple(y.shape)}. densekit needs one label per row, "
            f"shape ({n},), or one row of 0/1 labels or targets per row, shape ({n}, k), for "
            f"multilabel data or several regression targets. Reshape them, e.g. y.reshape({n}, -1).")
    if len(y) != len(x):
        raise DensekitError(f"{where} has {len(x)} feature rows but {len(y)} labels; they must "
                            "match one to one.")


def check_finite(x: np.ndarray, feature_names: list[str], where: str) -> None:
    """Refuse NaN or infinite feature values, naming the columns and counting the rows."""
    if x.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(x)
    if not bad.any():
        return
    names = [feature_names[i] if i < len(feature_names) else str(i) for i in range(x.shape[-1])]
    empty = [names[i] for i in np.flatnonzero(np.isnan(x).all(axis=0))] if len(x) else []
    if empty:  # an empty text column reads as a column of NaN: "NaN or infinite" would mislead
        raise DensekitError(
            f"The {where} data has empty column(s), with no value in any row: "
            f"{', '.join(map(str, empty[:10]))}. Remove the column, or fill it in (a text column "
            "needs some text in at least one row).")
    columns = [names[i] for i in np.flatnonzero(bad.any(axis=0))]
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
