"""Mixed tables: each column read as its values say (or as data.columns says): numbers,
categories (one-hot), text (a bag of its most frequent words), or dropped (an identifier).
Missing values are filled (data.missing) or refused.

Fitted on the training split only and saved with the model, so prediction encodes new rows
exactly as training did. A category never seen in training encodes as all zeros (the row is
still predicted), and is counted so the caller can say so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd

from densekit.errors import DensekitError

MAX_ONE_HOT = 64         # the most frequent categories kept; rarer ones encode as zeros
TEXT_WORDS = 1_000       # words kept per text column beside other columns
MIN_WORDS_PER_TEXT = 3   # values averaging this many words may be text…
TEXT_DISTINCT_SHARE = 0.2  # …when more than this share of them differ (else: categories)
MIN_ID_ROWS = 50         # fewer rows than this: all-distinct values prove nothing


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def looks_numeric(series: pd.Series) -> bool:
    """Text columns whose values are mostly numbers hold a typo, not categories."""
    present = series.dropna()
    return len(present) > 0 and pd.to_numeric(present, errors="coerce").notna().mean() >= 0.5


def column_kinds(frame: pd.DataFrame, chosen: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """How to read each column (numeric, categorical, text, drop), and notes on the columns
    dropped by densekit's own choice. `chosen` (data.columns) wins over the values."""
    unknown = [c for c in chosen if c not in frame.columns]
    if unknown:
        raise DensekitError(
            f"data.columns names {', '.join(repr(c) for c in unknown)}, not among the feature "
            f"columns: {', '.join(map(str, frame.columns[:20]))}. Check the spelling (the label "
            "column cannot be given a kind).")
    kinds, notes = {}, []
    for column in frame.columns:
        kinds[column] = chosen.get(column) or kind_from_values(frame[column])
        if kinds[column] == "drop" and column not in chosen:
            notes.append(f"column '{column}' dropped: {why_dropped(frame[column])} "
                         f"(--set data.columns.{column}=categorical keeps it)")
    if kinds and all(kind == "drop" for kind in kinds.values()):
        raise DensekitError(
            "No feature column is left to learn from: " + "; ".join(notes or ["all dropped"])
            + ". Give the table columns that describe the rows, or keep one with data.columns.")
    return kinds, notes


def why_dropped(series: pd.Series) -> str:
    if series.isna().all():
        return "it is empty (no value in the training rows)"
    return "each of its values differs, as in an identifier"


def kind_from_values(series: pd.Series) -> str:
    present = series.dropna()
    if not len(present):
        return "drop"  # an empty column says nothing
    distinct = present.nunique()
    all_distinct = len(present) >= MIN_ID_ROWS and distinct == len(present)
    if is_numeric(series):
        return "drop" if is_row_number(present) else "numeric"
    words = present.astype(str).str.split().str.len().mean()
    if words >= MIN_WORDS_PER_TEXT and distinct > TEXT_DISTINCT_SHARE * len(present):
        return "text"
    return "drop" if all_distinct else "categorical"


ROW_NUMBER_SPAN = 3  # a split keeps a share of the rows: their numbers span more than its length


def is_row_number(present: pd.Series) -> bool:
    """Distinct integers from a dense range (1, 2, 3 … n, or the training split's share of
    them): a row number, from which the network would learn the file's order. The cheap test
    first: tables may have hundreds of integer columns."""
    rows = len(present)
    if rows < MIN_ID_ROWS or present.dtype.kind not in "iu":
        return False
    span = int(present.max()) - int(present.min()) + 1
    return span <= ROW_NUMBER_SPAN * rows and present.nunique() == rows


@dataclass
class TableEncoder:
    columns: list[str]                                      # input columns used, in order
    categories: dict[str, list[str]] = field(default_factory=dict)  # categorical -> known values
    fill: dict[str, Any] = field(default_factory=dict)      # column -> imputed value
    missing: str = "error"
    texts: dict[str, list[str]] = field(default_factory=dict)  # text column -> its words
    dropped: list[str] = field(default_factory=list)        # columns read and ignored
    notes: list[str] = field(default_factory=list)          # what was decided, for the log

    @classmethod
    def fit(cls, frame: pd.DataFrame, missing: str,
            chosen: Optional[dict[str, str]] = None) -> "TableEncoder":
        kinds, notes = column_kinds(frame, chosen or {})
        used = [c for c in frame.columns if kinds[c] != "drop"]
        refuse_missing(frame[[c for c in used if kinds[c] != "text"]], missing, "training")
        categories = {c: frequent_values(frame[c]) for c in used if kinds[c] == "categorical"}
        texts = {c: vocabulary(frame[c], c) for c in used if kinds[c] == "text"}
        # Every column gets a fill value, so rows to predict may have gaps where training had none.
        fill = {} if missing == "error" else {
            c: imputed_value(frame[c], missing, kinds[c]) for c in used}
        dropped = [c for c in frame.columns if kinds[c] == "drop"]
        return cls(used, categories, fill, missing, texts, dropped, notes)

    def output_names(self) -> list[str]:
        names = []
        for c in self.columns:
            if c in self.categories:
                names += [f"{c}={v}" for v in self.categories[c]]
            elif c in self.texts:
                names += [f"{c}:{w}" for w in self.texts[c]]
            else:
                names.append(c)
        return names

    def transform(self, frame: pd.DataFrame, where: str) -> tuple[np.ndarray, int]:
        """(rows, encoded columns) float32, and the number of unseen categories met."""
        absent = [c for c in self.columns if c not in frame.columns]
        if absent:
            raise DensekitError(f"The {where} data lacks column(s) {', '.join(absent)} that the "
                                f"model was trained with. Its columns: {', '.join(map(str, frame.columns))}.")
        refuse_missing(frame[[c for c in self.columns if c not in self.texts]], self.missing, where)
        blocks, unseen = [], 0
        for c in self.columns:
            fill = self.fill.get(c, "" if c in self.texts else None)  # a missing text is empty
            values = frame[c] if fill is None else frame[c].fillna(fill)
            if c in self.categories:
                block, misses = one_hot(values.astype(str), self.categories[c])
                unseen += misses
            elif c in self.texts:
                block = word_presence(values, self.texts[c])
            else:
                block = numbers(values, c, where)[:, None]
            blocks.append(block)
        if not blocks:
            return np.zeros((len(frame), 0), dtype=np.float32), unseen
        return np.hstack(blocks).astype(np.float32), unseen

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> "TableEncoder":
        return cls(**values)


def frequent_values(series: pd.Series) -> list[str]:
    """The categories, sorted; past MAX_ONE_HOT, the most frequent only (ties by name)."""
    counts = series.dropna().astype(str).value_counts()
    if len(counts) > MAX_ONE_HOT:
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return sorted(value for value, _ in ranked[:MAX_ONE_HOT])
    return sorted(counts.index.tolist())


def vocabulary(series: pd.Series, column: str) -> list[str]:
    from sklearn.feature_extraction.text import CountVectorizer  # imported when used: 1 s
    counter = CountVectorizer(max_features=TEXT_WORDS, binary=True)
    try:
        counter.fit(series.fillna("").astype(str))
    except ValueError:  # scikit-learn: "empty vocabulary"
        raise DensekitError(f"The text column '{column}' holds no words of two letters or more. "
                            f"Read it as categories with --set data.columns.{column}=categorical, "
                            f"or drop it with --set data.columns.{column}=drop.") from None
    return counter.get_feature_names_out().tolist()


def word_presence(values: pd.Series, words: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import CountVectorizer
    counter = CountVectorizer(vocabulary=words, binary=True)
    return counter.transform(values.astype(str)).toarray().astype(np.float32)


def numbers(values: pd.Series, column: str, where: str) -> np.ndarray:
    parsed = pd.to_numeric(values, errors="coerce")
    bad = values[parsed.isna() & values.notna()]
    if len(bad):
        raise DensekitError(
            f"Column '{column}' of the {where} data should hold numbers, as in training, but "
            f"holds {bad.iloc[0]!r}. Fix that value, or train with --set "
            f"data.columns.{column}=categorical to read the column as categories.")
    return parsed.to_numpy(dtype=np.float32)


def one_hot(values: pd.Series, known: list[str]) -> tuple[np.ndarray, int]:
    codes = pd.Index(known).get_indexer(values)                # -1 for an unseen value
    block = np.zeros((len(values), len(known)), dtype=np.float32)
    seen = codes >= 0
    block[np.flatnonzero(seen), codes[seen]] = 1.0
    return block, int((~seen).sum())


def imputed_value(series: pd.Series, missing: str, kind: str = "numeric") -> Any:
    if kind == "text":
        return ""  # a missing text is an empty one
    if kind != "numeric" or not is_numeric(series):
        mode = series.dropna().astype(str).mode() if kind == "categorical" else series.mode()
        return mode.iloc[0] if len(mode) else ""
    if missing == "zero" or series.isna().all():  # no value to take a median of
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
