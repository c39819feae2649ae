"""wordnet-hypernyms: WordNet's noun glosses (Debian's wordnet-base, ~82,000 synsets), each
labelled with its direct hypernym (the first `@` or `@i` pointer: "dog" → "canine"), some
16,700 classes. The features are a bag of the gloss's words over the `inputs` most frequent
gloss words; the classes are numbered by falling frequency."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from densekit.data.dataset import Dataset, Part
from densekit.data.debian import (check_options, int_option, multi_hot_rows, package_file,
                                  ranked_vocabulary, words_of)
from densekit.data.namedset import NamedSet

OPTIONS = {"inputs": 5_000}


def read_synsets(name: str) -> list[tuple[str, str, str, str]]:
    """(offset, first lemma, first hypernym's offset, gloss) of each noun synset with one."""
    path = package_file(name, "data.noun", "/usr/share/wordnet", "wordnet-base")
    synsets = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("  "):
            continue  # the licence at the top of the file
        head, _, gloss = line.partition(" | ")
        fields = head.split()
        lemma = fields[4]
        words = int(fields[3], 16)
        pointers = 4 + 2 * words
        count = int(fields[pointers])
        found = [fields[pointers + 1 + 4 * i + 1] for i in range(count)
                 if fields[pointers + 1 + 4 * i] in ("@", "@i")]
        if found:
            synsets.append((fields[0], lemma, found[0], gloss))
    return synsets


def load_wordnet(entry: NamedSet, options: dict[str, Any]) -> Dataset:
    check_options(entry.name, options, OPTIONS)
    inputs = int_option(entry.name, options, "inputs", OPTIONS["inputs"], 1, "the input vocabulary (one 0/1 column per gloss word)")
    synsets = read_synsets(entry.name)
    lemmas = {offset: lemma for offset, lemma, _, _ in synsets}
    ranked = [h for h, _ in Counter(h for _, _, h, _ in synsets).most_common()]
    label_of = {h: i for i, h in enumerate(ranked)}
    glosses = [words_of(gloss) for _, _, _, gloss in synsets]
    vocabulary = ranked_vocabulary([w for g in glosses for w in g], inputs)
    x = multi_hot_rows([[vocabulary[w] for w in g if w in vocabulary] for g in glosses], inputs)
    y = np.array([label_of[h] for _, _, h, _ in synsets], dtype=np.int64)
    names = {i: f"{lemmas.get(h, 'synset')}.n.{h}" for h, i in label_of.items()}
    return Dataset(entry.name, Part(x, y), kind="bag",
                   feature_names=sorted(vocabulary, key=vocabulary.get), class_names=names)
