"""Named sets that need no files: scikit-learn's bundled tables and the moons generator."""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np

from densekit.data.dataset import Dataset, Part
from densekit.data.namedset import NamedSet, no_options
from densekit.errors import DensekitError

MOONS_OPTIONS = {"n_samples": 2000, "noise": 0.1, "random_state": 42}  # the tutorial's values


def load_sklearn(entry: NamedSet, options: dict[str, Any]) -> Dataset:
    import sklearn.datasets as skd  # slow to import; only these loaders need it

    name = entry.name
    no_options(name, options)
    loader = {"digits": skd.load_digits, "iris": skd.load_iris, "wine": skd.load_wine,
              "breast-cancer": skd.load_breast_cancer}[name]
    bunch = loader()
    names = [str(n) for n in bunch.target_names]
    if name == "digits":
        # Pixels are 0..16: keep them as bytes, scaled to [0, 1] like any image.
        return Dataset(name, Part(bunch.data.astype(np.uint8), bunch.target), kind="image",
                       feature_names=[f"pixel_{i}" for i in range(64)], image_shape=(8, 8),
                       pixel_max=16.0, class_names=dict(enumerate(names)))
    return Dataset(name, Part(bunch.data.astype(np.float32), bunch.target),
                   feature_names=list(bunch.feature_names), class_names=dict(enumerate(names)))


def load_moons(entry: NamedSet, options: dict[str, Any]) -> Dataset:
    from sklearn.datasets import make_moons

    unknown = set(options) - set(MOONS_OPTIONS)
    if unknown:
        raise DensekitError(f"Unknown option(s) for moons: {', '.join(sorted(unknown))}. "
                            f"Allowed: {', '.join(MOONS_OPTIONS)}.")
    settings = {**MOONS_OPTIONS, **options}
    check_moons_settings(settings)
    x, y = make_moons(**settings)
    return Dataset(entry.name, Part(x.astype(np.float32), y), feature_names=["x1", "x2"],
                   class_names={0: "moon 0", 1: "moon 1"})


def check_moons_settings(settings: dict[str, Any]) -> None:
    """Refused here, in the option's words, rather than by scikit-learn's parameter check."""
    n, noise, seed = settings["n_samples"], settings["noise"], settings["random_state"]
    if not is_integer(n) or n < 2:
        raise DensekitError(f"data.options.n_samples for moons is the number of points to draw: a "
                            f"whole number of at least 2 (the tutorial uses 2000); received {n!r}. "
                            "Example: --set data.options.n_samples=2000.")
    if isinstance(noise, bool) or not isinstance(noise, Real) or not noise >= 0:
        raise DensekitError(f"data.options.noise for moons is the standard deviation of the noise "
                            f"added to the points: a number of 0 or more (the tutorial uses 0.1); "
                            f"received {noise!r}. Example: --set data.options.noise=0.1.")
    if not is_integer(seed) or seed < 0:
        raise DensekitError(f"data.options.random_state for moons seeds the points: a whole number "
                            f"of 0 or more; received {seed!r}.")


def is_integer(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
