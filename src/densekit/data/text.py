"""Text tables: one column of text becomes a bag of words over the training text's top words.

Multi-hot (the IMDB/Reuters chapter's encoding, kept as bytes), word counts, or TF-IDF, built
with scikit-learn's vectorisers. The vocabulary (and IDF weights) are fitted on the training
split only and saved with the model, so prediction encodes new text exactly as training did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd

from densekit.errors import DensekitError

MIN_WORDS_PER_ROW = 3  # a text column, not a categorical one, when values average this many words


def looks_like_text(series: pd.Series) -> bool:
    present = series.dropna().astype(str)
    return len(present) > 0 and present.str.split().str.len().mean() >= MIN_WORDS_PER_ROW


@dataclass
class TextEncoder:
    column: str
    mode: str                                    # "multi-hot", "count" or "tfidf"
    vocabulary: list[str] = field(default_factory=list)
    idf: Optional[list[float]] = None            # tfidf only
    kind: str = "text"                           # tells the saved encoders apart

    @classmethod
    def fit(cls, frame: pd.DataFrame, column: str, words: int, mode: str) -> "TextEncoder":
        from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer  # 1 s: when used
        counter = CountVectorizer(max_features=words)
        try:
            counts = counter.fit_transform(texts(frame, column))
        except ValueError:  # scikit-learn: "empty vocabulary"
            raise DensekitError(f"The text column '{column}' of the training data holds no words "
                                "of two letters or more; there is nothing to learn from.") from None
        vocabulary = counter.get_feature_names_out().tolist()
        idf = TfidfTransformer().fit(counts).idf_.tolist() if mode == "tfidf" else None
        return cls(column, mode, vocabulary, idf)

    def transform(self, frame: pd.DataFrame, where: str) -> tuple[np.ndarray, int]:
        """(rows, vocabulary) bytes for multi-hot, float32 otherwise; and 0 unseen categories
        (words outside the vocabulary are simply not counted, as in the chapter)."""
        if self.column not in frame.columns:
            raise DensekitError(f"The {where} data has no text column '{self.column}'. Its "
                                f"columns: {', '.join(map(str, frame.columns))}.")
        from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
        counter = CountVectorizer(vocabulary=self.vocabulary, binary=self.mode == "multi-hot")
        counts = counter.transform(texts(frame, self.column))
        if self.mode == "tfidf":
            weigher = TfidfTransformer()
            weigher.idf_ = np.asarray(self.idf)
            counts = weigher.transform(counts)
        # Cast while sparse: a dense int64 copy of 25,000 reviews × 10,000 words would be 2 GB.
        dtype = np.uint8 if self.mode == "multi-hot" else np.float32
        return counts.astype(dtype).toarray(), 0

    def output_names(self) -> list[str]:
        return list(self.vocabulary)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> "TextEncoder":
        return cls(**values)


def texts(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].fillna("").astype(str)  # a missing review is an empty one
