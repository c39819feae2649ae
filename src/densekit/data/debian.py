"""Data that Debian packages install (dict-gcide, wordnet-base): found where the package puts
it, or in $DENSEKIT_DATA/<name>; when absent, the message says which package to install."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from densekit.errors import DensekitError

WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def package_file(dataset: str, filename: str, folder: str, package: str) -> Path:
    """/usr/share/<folder>/<filename>, or $DENSEKIT_DATA/<dataset>/<filename>."""
    places = [Path(folder) / filename]
    if os.environ.get("DENSEKIT_DATA"):
        places.insert(0, Path(os.environ["DENSEKIT_DATA"]) / dataset / filename)
    for place in places:
        if place.is_file():
            return place
    raise DensekitError(
        f"The {dataset} dataset is read from the Debian package {package}, which is not "
        f"installed here: no {' or '.join(map(str, places))}. Install it with `sudo apt-get "
        f"install {package}` (Debian, Ubuntu), or copy {filename} from that package into "
        f"$DENSEKIT_DATA/{dataset}/, then run the command again.")


def words_of(text: str) -> list[str]:
    return WORD.findall(text.lower())


def ranked_vocabulary(tokens: list[str], size: int) -> dict[str, int]:
    """The `size` most frequent words, numbered from 0 by falling frequency (ties: first seen),
    the order a log-uniform sampler expects of class ids."""
    return {word: i for i, (word, _) in enumerate(Counter(tokens).most_common(size))}


def int_option(name: str, options: dict[str, Any], key: str, default: int, low: int,
               meaning: str) -> int:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise DensekitError(f"data.options.{key} for {name} is {meaning}: a whole number of at "
                            f"least {low} (default {default}); received {value!r}. Example: "
                            f"--set data.options.{key}={default}.")
    return value


def check_options(name: str, options: dict[str, Any], allowed: dict[str, int]) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise DensekitError(f"Unknown option(s) for {name}: {', '.join(unknown)}. Allowed: "
                            + ", ".join(f"{k} (default {v})" for k, v in allowed.items()) + ".")


def multi_hot_rows(rows: list[list[int]], width: int) -> np.ndarray:
    """(len(rows), width) bytes, 1 where a row holds the word id (ids ≥ width are dropped)."""
    out = np.zeros((len(rows), width), dtype=np.uint8)
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    flat = np.fromiter((i for r in rows for i in r), dtype=np.int64, count=int(lengths.sum()))
    where = np.repeat(np.arange(len(rows)), lengths)
    keep = flat < width
    out[where[keep], flat[keep]] = 1
    return out
