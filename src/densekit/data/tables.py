"""Mixed tables: categorical columns one-hot encoded, missing values imputed or refused.

Fitted on the training split only and saved with the model, so prediction encodes new rows
exactly as training did. A category never seen in training encodes as all zeros (the row is
still predicted), and is counted so the caller can say so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from densekit.errors import DensekitError


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def looks_numeric(series: pd.Series) -> bool:
    """Text columns whose values are mostly numbers hold a typo, not categories."""
    present = series.dropna()
    return len(present) > 0 and pd.to_numeric(present, errors="coerce").notna().mean() >= 0.5


@dataclass
class TableEncoder:
    columns: list[str]                                      # input columns, in order
    categories: dict[str, list[str]] = field(default_factory=dict)  # categorical -> known values
    fill: dict[str, Any] = field(default_factory=dict)      # column -> imputed value
    missing: str = "error"

    @classmethod
    def fit(cls, frame: pd.DataFrame, missing: str) -> "TableEncoder":
        refuse_missing(frame, missing, "training")
        categories = {c: sorted(frame[c].dropna().astype(str).unique().tolist())
                      for c in frame.columns if not is_numeric(frame[c])}
        # Every column gets a fill value, so rows to predict may have gaps where training had none.
        fill = {} if missing == "error" else {c: imputed_value(frame[c], missing) for c in frame.columns}
        return cls(list(frame.columns), categories, fill, missing)

    def output_names(self) -> list[str]:
        names = []
        for c in self.columns:
            names += [f"{c}={v}" for v in self.categories[c]] if c in self.categories else [c]
        return names

    def transform(self, frame: pd.DataFrame, where: str) -> tuple[np.ndarray, int]:
        """(rows, encoded columns) float32, and the number of unseen categories met."""
        absent = [c for c in self.columns if c not in frame.columns]
        if absent:
            raise DensekitError(f"The {where} data lacks column(s) {', '.join(absent)} that the "
                                f"model was trained with. Its columns: {', '.join(map(str, frame.columns))}.")
        refuse_missing(frame[self.columns], self.missing, where)
        blocks, unseen = [], 0
        for c in self.columns:
            values = frame[c].fillna(self.fill[c]) if c in self.fill else frame[c]
            if c in self.categories:
                block, misses = one_hot(values.astype(str), self.categories[c])
                unseen += misses
            else:
                block = pd.to_numeric(values, errors="raise").to_numpy(dtype=np.float32)[:, None]
            blocks.append(block)
        return np.hstack(blocks).astype(np.float32), unseen

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> "TableEncoder":
        return cls(**values)


def one_hot(values: pd.Series, known: list[str]) -> tuple[np.ndarray, int]:
    codes = pd.Index(known).get_indexer(values)                # -1 for an unseen value
    block = np.zeros((len(values), len(known)), dtype=np.float32)
    seen = codes >= 0
    block[np.flatnonzero(seen), codes[seen]] = 1.0
    return block, int((~seen).sum())


def imputed_value(series: pd.Series, missing: str) -> Any:
    if not is_numeric(series):
        mode = series.mode()
        return mode.iloc[0] if len(mode) else ""
    if missing == "zero":
        return 0.0
    if missing == "median":
        return float(series.median())
    if missing == "most_frequent":
        return float(series.mode().iloc[0])
    return float(series.mean())


def refuse_missing(frame: pd.DataFrame, missing: str, where: str) -> None:
    if missing != "error":
        return
    counts = frame.isna().sum()
    counts = counts[counts > 0]
    if len(counts):
        listed = ", ".join(f"{c} ({n} rows)" for c, n in counts.items())
        raise DensekitError(
            f"The {where} data has missing values in: {listed}. Choose how to fill them with "
            "--set data.missing=mean (or median, most_frequent, zero; text columns take their "
            "most frequent value), or remove those rows.")
