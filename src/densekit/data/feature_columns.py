"""Checks on a table's feature columns: numbers where numbers belong, at most one text column."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from densekit.data.columns import preview
from densekit.data.frames import frame_has_header
from densekit.data.tables import is_numeric, looks_numeric
from densekit.data.text import looks_like_text
from densekit.errors import DensekitError


def find_text_column(features: pd.DataFrame, named: Optional[str], path: Path) -> Optional[str]:
    """The column of free text, when data.text.column names it or it is the only feature."""
    if named is None:
        wordy = [c for c in features.columns if not is_numeric(features[c]) and looks_like_text(features[c])]
        if wordy and features.shape[1] > 1:
            # One-hot encoding free text would make one column per distinct sentence.
            raise DensekitError(
                f"Column '{wordy[0]}' of {path} holds free text, and the file has other feature "
                f"columns ({preview([c for c in features.columns if c != wordy[0]])}). densekit "
                "learns from one text column at a time: remove the other columns (or make them "
                f"label columns with --label), and optionally name it with --set data.text.column={wordy[0]}.")
        return wordy[0] if wordy else None
    if named not in features.columns:
        raise DensekitError(f"data.text.column names '{named}', which is not a feature column of "
                            f"{path}. Its columns are: {preview(list(features.columns))}.")
    if features.shape[1] > 1:
        others = [c for c in features.columns if c != named]
        raise DensekitError(
            f"{path} has other feature columns besides the text column '{named}': "
            f"{preview(others)}. A text table has one text column and the label column(s); "
            "remove the others.")
    return named


def refuse_typos(features: pd.DataFrame, path: Path) -> None:
    """A text column whose values are mostly numbers holds a typo, not categories."""
    for column in features.columns:
        if not is_numeric(features[column]) and looks_numeric(features[column]):
            report_non_numeric(features, column, path, frame_has_header(features))


def numeric_matrix(features: pd.DataFrame, path: Path, has_header: bool) -> np.ndarray:
    for column in features.columns:
        if not pd.api.types.is_numeric_dtype(features[column]):
            report_non_numeric(features, column, path, has_header)
    return features.to_numpy()


def report_non_numeric(features: pd.DataFrame, column: str, path: Path, has_header: bool):
    values = features[column]
    parsed = pd.to_numeric(values, errors="coerce")
    bad = values[parsed.isna() & values.notna()]
    if not len(bad):  # each value parses, yet pandas kept the column as text
        widest = values.astype(str).str.len().idxmax()
        raise DensekitError(
            f"Column '{column}' of {path} holds numbers that cannot be read as such, for example "
            f"{values[widest]!r} (an integer too large for 64 bits?). Write them as decimals "
            "(1e40) or remove the column.")
    row = int(bad.index[0]) if len(bad) else 0
    line = row + (2 if has_header else 1)
    raise DensekitError(
        f"Column '{column}' of {path} should hold numbers but line {line} has "
        f"{bad.iloc[0]!r}. Fix or remove that value; densekit reads numeric feature columns only "
        "(encode categories as numbers first).")
