"""The network densekit chooses from the data when model.hidden or model.embedding is auto.

Measured on the defaults benchmark (benchmarks/RESULTS.md, "Ingredients tried"):

- Width: one layer of 512 for a table beat the Keras tutorial's 128 on the large tables
  (flights R² 0.852 → 0.857, diamonds, cps1988, movie-genres) and tied on the small ones, at
  1.1 times the training time there; deeper (256 × 2, RealMLP's 256 × 3) did worse. Images and
  bags of words keep 128: their first layer reads hundreds or thousands of inputs, so 512 costs
  three to four times the time per epoch (Fashion-MNIST +0.007 accuracy) and lost on the text set.
- Periodic embeddings of the numeric columns (nn/embeddings.py) for tables of at least
  EMBEDDING_ROWS training rows: better on 4 of the 6 large sets and worse on none (flights R²
  0.852 → 0.869, above scikit-learn's MLP), at 1.5 times the training time; on the 13 small
  sets they moved the mean score by −0.002 at 3 times the time (no fast path), so small
  tables go without.
"""

from __future__ import annotations

TABLE_WIDTH, WIDE_INPUT_WIDTH = 512, 128
EMBEDDING_ROWS = 10_000
AUTO_KEYS = ("hidden", "embedding")   # the model keys decided here when left at "auto"


def widths_for(kind: str) -> list[int]:
    """kind: the preprocessing's ("table", "image", "bag")."""
    return [TABLE_WIDTH] if kind == "table" else [WIDE_INPUT_WIDTH]


def embedding_for(kind: str, rows: int) -> str:
    return "periodic" if kind == "table" and rows >= EMBEDDING_ROWS else "none"


def with_network(model_cfg, kind: str, rows: int):
    """model_cfg with hidden and embedding decided (each unchanged when the user chose it)."""
    update = {}
    if model_cfg.hidden == "auto":
        update["hidden"] = widths_for(kind)
    if model_cfg.embedding == "auto":
        update["embedding"] = embedding_for(kind, rows)
    return model_cfg.model_copy(update=update) if update else model_cfg


def describe(given, decided, kind: str) -> str | None:
    """One line saying what was chosen, or None when the user chose both."""
    parts = []
    what = "a table" if kind == "table" else "this input"
    if given.hidden == "auto":
        parts.append(f"one hidden layer of {decided.hidden[0]} units for {what}")
    if given.embedding == "auto" and decided.embedding == "periodic":
        parts.append("periodic embeddings of the numeric columns")
    if not parts:
        return None
    return "network: " + ", ".join(parts) + " (--hidden, --set model.embedding=none override)"
