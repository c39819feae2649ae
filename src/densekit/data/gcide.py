"""gcide-next-word: the next word of the GNU Collaborative International Dictionary of English
(Debian's dict-gcide, ~5.4 million words of definitions and quotations) from a bag of the
words before it. The classes are the `words` most frequent words of the training text (10,000
by default; 50,000 and 200,000 for the larger problems), numbered by falling frequency, so
the class counts follow Zipf's law: what candidate sampling was made for.

The text is cut in two where it stands: the first 90% trains, the rest tests, so no test
context was seen in training. Rows are `rows` evenly spaced positions of each part (all of
them when 0); a row whose next word is outside the vocabulary is left out.
"""

from __future__ import annotations

import gzip
from typing import Any

import numpy as np

from densekit.data.dataset import Dataset, Part
from densekit.data.debian import (check_options, int_option, multi_hot_rows, package_file,
                                  ranked_vocabulary, words_of)
from densekit.data.namedset import NamedSet

OPTIONS = {"words": 10_000, "inputs": 2_048, "context": 4, "rows": 200_000}
TRAIN_SHARE = 0.9


def read_tokens(name: str) -> list[str]:
    path = package_file(name, "gcide.dict.dz", "/usr/share/dictd", "dict-gcide")
    with gzip.open(path) as file:  # dictzip is gzip with an index in a header field
        return words_of(file.read().decode("utf-8", errors="replace"))


def load_gcide(entry: NamedSet, options: dict[str, Any]) -> Dataset:
    check_options(entry.name, options, OPTIONS)
    words = int_option(entry.name, options, "words", OPTIONS["words"], 2, "the number of classes (the vocabulary of next words)")
    inputs = int_option(entry.name, options, "inputs", OPTIONS["inputs"], 1, "the input vocabulary (one 0/1 column per word)")
    context = int_option(entry.name, options, "context", OPTIONS["context"], 1, "how many previous words form the bag")
    rows = int_option(entry.name, options, "rows", OPTIONS["rows"], 0, "the number of training rows (0: all)")
    tokens = read_tokens(entry.name)
    cut = int(len(tokens) * TRAIN_SHARE)
    vocabulary = ranked_vocabulary(tokens[:cut], max(words, inputs))
    ids = np.fromiter((vocabulary.get(t, -1) for t in tokens), dtype=np.int64, count=len(tokens))
    train = next_word_part(ids[:cut], words, inputs, context, rows)
    test = next_word_part(ids[cut:], words, inputs, context, max(rows // 9, 1) if rows else 0)
    names = sorted(vocabulary, key=vocabulary.get)
    return Dataset(entry.name, train, test=test, kind="bag", feature_names=names[:inputs],
                   class_names=dict(enumerate(names[:words])))


def next_word_part(ids: np.ndarray, words: int, inputs: int, context: int, rows: int) -> Part:
    """Rows at evenly spaced positions whose next word is a class: (bag of the `context`
    previous words among the `inputs` first ids, the next word's id)."""
    positions = np.flatnonzero((ids >= 0) & (ids < words))
    positions = positions[positions >= context]
    if rows and rows < len(positions):
        positions = positions[np.linspace(0, len(positions) - 1, rows).astype(np.int64)]
    window = ids[positions[:, None] - np.arange(1, context + 1)]   # (rows, context)
    bags = [[i for i in row if 0 <= i < inputs] for row in window.tolist()]
    return Part(multi_hot_rows(bags, inputs), ids[positions])
