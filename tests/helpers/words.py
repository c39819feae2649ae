"""Word-index sequences as Keras stores IMDB and Reuters."""

import numpy as np


def sequences(labels, rng, vocabulary=300):
    """Word-index lists as Keras stores them: an object array of Python lists.
    Label 1 draws from the low indices more often, so the words carry the label."""
    out = np.empty(len(labels), dtype=object)
    for i, label in enumerate(labels):
        low = rng.integers(1, vocabulary // 3, 25)
        out[i] = [int(w) for w in (low if label else rng.integers(vocabulary // 4, vocabulary, 25))]
    return out
