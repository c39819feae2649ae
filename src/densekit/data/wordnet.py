"""wordnet-hypernyms: WordNet's noun glosses (Debian's wordnet-base, ~82,000 synsets), each
labelled with its direct hypernym (the first `@` or `@i` pointer: "dog" → "canine"), some
16,700 classes — or, with `hypernyms: all`, with every ancestor ("dog" → canine, carnivore,
…, entity), several labels per row for a sampled softmax. The features are a bag of the
gloss's words over the `inputs` most frequent gloss words; the classes are numbered by
falling frequency."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from densekit.data.dataset import Dataset, Part
from densekit.data.debian import (check_options, int_option, multi_hot_rows, package_file,
                                  ranked_vocabulary, words_of)
from densekit.data.namedset import NamedSet
from densekit.errors import DensekitError

OPTIONS = {"inputs": 5_000, "hypernyms": "direct"}


def read_synsets(name: str) -> list[tuple[str, str, list[str], str]]:
    """(offset, first lemma, hypernyms' offsets, gloss) of each noun synset ("entity" has
    no hypernym: it names a class but is no row)."""
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
        synsets.append((fields[0], lemma, found, gloss))
    return synsets


def ancestors(parents: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    """Every synset's hypernyms, theirs, and so on up to "entity" (WordNet's noun graph has no
    cycles), each once."""
    found: dict[str, tuple[str, ...]] = {}

    def up(offset: str) -> tuple[str, ...]:
        if offset not in found:
            seen = dict.fromkeys(parents.get(offset, []))
            for parent in list(seen):
                seen.update(dict.fromkeys(up(parent)))
            found[offset] = tuple(seen)
        return found[offset]

    for offset in parents:
        up(offset)
    return found


def hypernyms_option(name: str, options: dict[str, Any]) -> str:
    value = options.get("hypernyms", OPTIONS["hypernyms"])
    if value not in ("direct", "all"):
        raise DensekitError(f"data.options.hypernyms for {name} is 'direct' (the first hypernym, "
                            "one class per row) or 'all' (every ancestor, several labels per row, "
                            f"for model.output: sampled_softmax); received {value!r}.")
    return value


def load_wordnet(entry: NamedSet, options: dict[str, Any]) -> Dataset:
    check_options(entry.name, options, OPTIONS)
    inputs = int_option(entry.name, options, "inputs", OPTIONS["inputs"], 1, "the input vocabulary (one 0/1 column per gloss word)")
    every = hypernyms_option(entry.name, options) == "all"
    every_synset = read_synsets(entry.name)
    lemmas = {offset: lemma for offset, lemma, _, _ in every_synset}
    synsets = [synset for synset in every_synset if synset[2]]
    if every:
        above = ancestors({offset: found for offset, _, found, _ in synsets})
        labels = [above[offset] for offset, _, _, _ in synsets]
    else:
        labels = [(found[0],) for _, _, found, _ in synsets]
    ranked = [h for h, _ in Counter(h for row in labels for h in row).most_common()]
    label_of = {h: i for i, h in enumerate(ranked)}
    glosses = [words_of(gloss) for _, _, _, gloss in synsets]
    vocabulary = ranked_vocabulary([w for g in glosses for w in g], inputs)
    x = multi_hot_rows([[vocabulary[w] for w in g if w in vocabulary] for g in glosses], inputs)
    if every:  # label lists (data/labels.py): one tuple of class ids per row
        y = np.empty(len(labels), dtype=object)
        y[:] = [tuple(label_of[h] for h in row) for row in labels]
    else:
        y = np.array([label_of[row[0]] for row in labels], dtype=np.int64)
    names = {i: f"{lemmas.get(h, 'synset')}.n.{h}" for h, i in label_of.items()}
    return Dataset(entry.name, Part(x, y), kind="bag",
                   feature_names=sorted(vocabulary, key=vocabulary.get), class_names=names)
