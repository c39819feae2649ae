"""The training budget densekit chooses when the user leaves it open.

A fixed 20 epochs of batch 32 (the Keras tutorial's) is right for Fashion-MNIST and wrong for
most tables: 150 rows get 60 optimizer steps, far from converged. Left open (`train.epochs`,
`train.batch_size`, `train.early_stopping.patience`, `train.schedule` unset), the budget
follows the number of training rows: a batch that suits them, enough epochs for about
TARGET_STEPS optimizer steps (within MIN_EPOCHS..MAX_EPOCHS), early stopping on the validation
split with the best weights kept, and the learning rate cut when the validation loss stalls.
The chosen values are written into the run's config.yaml, so a resume continues the same run.
"""

from __future__ import annotations

import math
from typing import Optional

from densekit.config import TrainConfig

# (fewest rows, batch size): small sets take small batches for more steps per epoch; large
# ones take larger batches, as fast per row and with fewer Python round trips.
BATCH_BY_ROWS = ((100_000, 256), (20_000, 128), (5_000, 64), (1_000, 32), (0, 16))
TARGET_STEPS = 10_000
MIN_EPOCHS, MAX_EPOCHS = 20, 200
PLATEAU_DECAY = 0.2


def choose_budget(cfg: TrainConfig, rows: int, has_validation: bool) -> tuple[TrainConfig, Optional[str]]:
    """`cfg` with every open budget key decided for `rows` training rows, and one line that
    says what was chosen and why (None when the user chose everything)."""
    batch = cfg.batch_size or batch_for(rows)
    open_length = cfg.epochs is None and cfg.steps is None
    epochs = cfg.epochs or (epochs_for(rows, batch) if open_length else MIN_EPOCHS)
    patience = cfg.early_stopping.patience
    if patience == "auto":
        patience = patience_for(epochs) if open_length and has_validation else None
    schedule, plateau_patience, gamma = cfg.schedule, cfg.plateau_patience, cfg.gamma
    if schedule == "auto":
        schedule = "plateau" if patience and open_length else "constant"
        if schedule == "plateau" and not cfg.chosen("plateau_patience"):
            plateau_patience = max(2, patience // 2)
        if schedule == "plateau" and not cfg.chosen("gamma"):
            gamma = PLATEAU_DECAY
    decided = cfg.model_copy(update={
        "batch_size": batch, "epochs": epochs, "schedule": schedule,
        "plateau_patience": plateau_patience, "gamma": gamma,
        "early_stopping": cfg.early_stopping.model_copy(update={"patience": patience})})
    return decided, describe(cfg, decided, rows, open_length)


def batch_for(rows: int) -> int:
    batch = next(batch for fewest, batch in BATCH_BY_ROWS if rows >= fewest)
    return max(1, min(batch, rows))


def epochs_for(rows: int, batch: int) -> int:
    steps_per_epoch = math.ceil(rows / batch)
    return min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / steps_per_epoch)))


def patience_for(epochs: int) -> int:
    """Noisy small validation splits need more patience; long budgets can afford it."""
    return min(20, max(5, epochs // 10))


def describe(given: TrainConfig, decided: TrainConfig, rows: int, open_length: bool) -> Optional[str]:
    chose_batch = given.batch_size is None
    if not (chose_batch or open_length):
        return None
    parts = []
    if chose_batch:
        parts.append(f"batch {decided.batch_size} for {rows:,} training rows")
    if open_length:
        steps = decided.epochs * math.ceil(rows / decided.batch_size)
        parts.append(f"up to {decided.epochs} epochs ({steps:,} steps)")
    patience = decided.early_stopping.patience
    if patience and given.early_stopping.patience == "auto":
        parts.append(f"stopping after {patience} evaluations without a better "
                     f"{decided.early_stopping.monitor} (best weights kept)")
    if decided.schedule == "plateau" and given.schedule == "auto":
        parts.append(f"learning rate ×{decided.gamma:g} after {decided.plateau_patience}")
    overrides = "--batch-size, --epochs, --patience" if open_length else "--batch-size"
    return "budget: " + ", ".join(parts) + f" ({overrides} override)"
