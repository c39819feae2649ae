"""Training: the loop and its parts (steps, early stopping, checkpoints, listeners, device)."""
