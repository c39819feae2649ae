"""A run that ends while its loss is still falling fast: say so, as scikit-learn's
ConvergenceWarning does, with the setting to change.

The measure is the share of the run's whole fall in loss (from its highest evaluation to its
last) that the last tenth of the evaluations brought. A curve that has levelled off brings
almost none (digits, wine, breast cancer and moons with their usual settings: 0.2–1.8 %); a
loss falling at a steady pace brings about a tenth (iris at the default 20 epochs: 3.8 %, the
diabetes regression at 20 epochs: 21 %). The validation loss is used when there is one, since
a training loss keeps falling long after the model has stopped getting better."""

from __future__ import annotations

import math
from typing import Optional

from densekit.config import TrainConfig

SHARE = 0.03  # of the whole fall, in the last tenth of the run


def still_improving(history: list[dict], settings: TrainConfig) -> Optional[str]:
    """A warning when the loss was still falling fast at the end of the run; None otherwise."""
    key = "val_loss" if history and "val_loss" in history[-1] else "train_loss"
    losses = [r[key] for r in history if key in r]
    if len(losses) < 2:
        return None  # one evaluation says nothing about a trend
    last = max(1, math.ceil(len(losses) / 10))
    fall = max(losses) - losses[-1]
    recent = losses[-1 - last] - losses[-1]
    # Runs of fewer than ten evaluations compare their last one with the one before; scale
    # that part of the run to a tenth so every run is held to the same pace.
    share = recent / fall * (len(losses) / 10) / last if fall > 0 else 0.0
    if share <= SHARE:
        return None
    what = "validation loss" if key == "val_loss" else "training loss"
    longer = f"--steps {settings.steps * 2}" if settings.steps else f"--epochs {settings.epochs * 2}"
    return (f"warning: the {what} was still falling fast when training ended ({share:.0%} of "
            f"its fall came in the last tenth of the run, to {losses[-1]:.4g}): the model has "
            f"not converged. Train longer, e.g. {longer}.")
