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


def find_text_column(features: pd.DataFrame, named: Optional[str], path: Path,
                     chosen: Optional[dict[str, str]] = None) -> Optional[str]:
    """The column of free text when it is the table's only feature (or data.text.column
    names it): the whole table is then a bag of words. Text beside other columns is one
    more column of a mixed table (tables.py)."""
    if named is None:
        if features.shape[1] != 1:
            return None
        column = features.columns[0]
        kind = (chosen or {}).get(column)
        if kind == "text" or (kind is None and not is_numeric(features[column])
                              and looks_like_text(features[column])):
            return column
        return None
    if named not in features.columns:
        raise DensekitError(f"data.text.column names '{named}', which is not a feature column of "
                            f"{path}. Its columns are: {preview(list(features.columns))}.")
    if features.shape[1] > 1:
        others = [c for c in features.columns if c != named]
        raise DensekitError(
            f"{path} has other feature columns besides the text column '{named}': "
            f"{preview(others)}. data.text.column makes the whole table one bag of words: "
            f"leave it unset to read '{named}' as text beside the other columns.")
    return named


def refuse_typos(features: pd.DataFrame, path: Path, chosen: Optional[dict[str, str]] = None) -> None:
    """A text column whose values are mostly numbers holds a typo, not categories, unless
    data.columns says how to read it."""
    for column in features.columns:
        if column in (chosen or {}):
            continue
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
        f"Column '{column}' of {path} holds mostly numbers, but line {line} has "
        f"{bad.iloc[0]!r}, so densekit cannot tell how to read it. Fix that value, or say how: "
        f"--set data.columns.{column}=categorical (or numeric, text, drop).")
