"""Early stopping: track the monitored value, keep the best weights, say when to stop."""

from __future__ import annotations

from typing import Any, Optional

import torch

from densekit.config import EarlyStopping as Settings
from densekit.tasks.metrics import lower_is_better


class EarlyStopping:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.monitor = settings.monitor
        self.best: Optional[float] = None        # best monitored value so far
        self.best_step = 0
        self.evals_since_best = 0
        self.best_weights: Optional[dict[str, torch.Tensor]] = None  # kept when restore_best

    @property
    def keeps_weights(self) -> bool:
        return bool(self.settings.patience and self.settings.restore_best)

    def update(self, record: dict, model: torch.nn.Module) -> bool:
        """Take one evaluation; True when it is the best so far."""
        value = record.get(self.monitor)
        if value is None:
            return False
        if self.improved(value):
            self.best, self.best_step, self.evals_since_best = value, record["step"], 0
            if self.keeps_weights:
                self.best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return True
        self.evals_since_best += 1
        return False

    def stop_reason(self) -> str:
        patience = self.settings.patience
        if patience and self.evals_since_best >= patience:
            return f"early stopping: {self.monitor} did not improve for {patience} evaluations"
        return ""

    def improved(self, value: float) -> bool:
        if self.best is None:
            return True
        delta = self.settings.min_delta
        return value < self.best - delta if lower_is_better(self.monitor) else value > self.best + delta

    def restore_best(self, model: torch.nn.Module, step: int) -> str:
        """Put the best weights back at the end of training; what was done, for the log."""
        if self.best_weights is None or self.best_step == step:
            return ""
        model.load_state_dict(self.best_weights)
        return f"restored the weights of step {self.best_step}"

    # The checkpoint keeps these under the loop's own keys (the format predates this class).
    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_step": self.best_step,
                "evals_since_best": self.evals_since_best}

    def load_state_dict(self, values: dict[str, Any], best_weights: Optional[dict]) -> None:
        self.best, self.best_step = values["best"], values["best_step"]
        self.evals_since_best = values["evals_since_best"]
        self.best_weights = best_weights
