"""Figures for the report, drawn headless with matplotlib and returned as PNG data URIs."""

from __future__ import annotations

import base64
import io
import math
from typing import Optional, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: no display needed, and no window ever opens
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f"]


def to_data_uri(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def smooth(values: Sequence[float], factor: float) -> list[float]:
    """Exponential moving average, as the Boston-housing chapter smooths its MAE curve."""
    out: list[float] = []
    for v in values:
        out.append(v if not out else out[-1] * factor + v * (1 - factor))
    return out


def curves(series: dict[str, tuple[list[float], list[float]]], ylabel: str, title: str,
           smoothing: float = 0.0, styles: Optional[dict[str, str]] = None,
           xlabel: str = "epoch", colours: Optional[dict[str, str]] = None) -> str:
    """One line per named series of (x, y); optional smoothing. `colours` keeps a series' colour
    the same across figures where some series are absent."""
    return to_data_uri(curves_figure(series, ylabel, title, smoothing, styles, xlabel, colours))


def curves_figure(series: dict[str, tuple[list[float], list[float]]], ylabel: str, title: str,
                  smoothing: float = 0.0, styles: Optional[dict[str, str]] = None,
                  xlabel: str = "epoch", colours: Optional[dict[str, str]] = None):
    fig, ax = plt.subplots(figsize=(5.4, 3.4))
    for i, (name, (x, y)) in enumerate(series.items()):
        y = smooth(y, smoothing) if smoothing else y
        style = (styles or {}).get(name, "-")
        colour = (colours or {}).get(name, PALETTE[i % len(PALETTE)])
        ax.plot(x, y, style, label=name, color=colour, marker="o" if len(x) <= 30 else None,
                markersize=3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if xlabel in ("epoch", "step"):  # no "epoch 2.5" ticks on a 4-epoch run
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def confusion_heatmap(matrix: np.ndarray, names: list[str], normalise: bool) -> str:
    k = len(names)
    values = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1) if normalise else matrix
    side = min(max(5.0, 0.32 * k + 2.5), 20.0)  # grows with the classes so labels never overlap
    fig, ax = plt.subplots(figsize=(side, side * 0.9))
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalise else None)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    font = max(5, min(10, 220 // max(k, 1)))
    ax.set_xticks(range(k), labels=names, rotation=90 if k > 10 else 45, ha="center" if k > 10 else "right",
                  fontsize=font)
    ax.set_yticks(range(k), labels=names, fontsize=font)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix, row-normalised" if normalise else "confusion matrix, counts")
    if k <= 20:
        annotate(ax, values, normalise)
    return to_data_uri(fig)


def annotate(ax, values: np.ndarray, normalise: bool) -> None:
    top = values.max() or 1
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            if v == 0:
                continue
            text = f"{v:.2f}" if normalise else f"{int(v)}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if v > top * 0.6 else "black")


def top_confusions_chart(pairs: list[tuple[str, str, int]]) -> str:
    """For many classes: the most frequent confusions as horizontal bars."""
    fig, ax = plt.subplots(figsize=(6.4, 0.3 * len(pairs) + 1))
    labels = [f"{true} → {pred}" for true, pred, _ in pairs][::-1]
    ax.barh(labels, [n for _, _, n in pairs][::-1], color=PALETTE[0])
    ax.set_xlabel("test examples")
    ax.set_title("most frequent confusions (true → predicted)")
    return to_data_uri(fig)


def image_grid(images: np.ndarray, titles: Optional[list[str]] = None, columns: int = 8,
               cmap: str = "gray", symmetric: bool = False, cell: float = 1.2) -> str:
    """A grid of (n, h, w) images drawn as one mosaic (one axes, not one per image: a 64-unit
    grid takes a tenth of a second instead of seconds). symmetric=True scales each image to
    [-1, 1] around zero, as weights are shown."""
    n, h, w = images.shape
    tiles = images.astype(np.float32)
    if symmetric:
        tiles = tiles / np.maximum(np.abs(tiles).reshape(n, -1).max(axis=1), 1e-12)[:, None, None]
    lines = max(t.count("\n") + 1 for t in titles) if titles else 0
    pad = max(1, h // 10)
    pixels_per_cell = cell * 100 / (w + pad)             # screen pixels per image pixel at dpi 100
    band = math.ceil(lines * 11 / pixels_per_cell)       # room for the titles, ~11 px per line
    rows = math.ceil(n / columns)
    tile_h, tile_w = h + pad + band, w + pad
    canvas = np.full((rows * tile_h, columns * tile_w), np.nan, dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, columns)
        canvas[r * tile_h + band:r * tile_h + band + h, c * tile_w:c * tile_w + w] = tiles[i]
    fig, ax = plt.subplots(figsize=(columns * cell, rows * cell * tile_h / tile_w))
    colours = plt.get_cmap(cmap).with_extremes(bad="white")  # the gaps between images
    limits = {"vmin": -1.0, "vmax": 1.0} if symmetric else {"vmin": float(np.nanmin(tiles)), "vmax": float(np.nanmax(tiles))}
    ax.imshow(canvas, cmap=colours, interpolation="nearest", **limits)
    for i, title in enumerate(titles or []):
        r, c = divmod(i, columns)
        ax.text(c * tile_w + w / 2, r * tile_h + band - 0.5, title, ha="center", va="bottom", fontsize=7)
    ax.axis("off")
    return to_data_uri(fig)


def regression_plots(actual: np.ndarray, predicted: np.ndarray) -> tuple[str, str]:
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    ax.scatter(actual, predicted, s=8, alpha=0.6, color=PALETTE[0])
    low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
    ax.plot([low, high], [low, high], "--", color="gray", label="perfect prediction")
    ax.set_xlabel("actual")
    ax.set_ylabel("predicted")
    ax.set_title("predicted vs actual (test)")
    ax.legend(fontsize=8)
    scatter = to_data_uri(fig)
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    ax.hist(predicted - actual, bins=30, color=PALETTE[1], alpha=0.8)
    ax.set_xlabel("residual (predicted − actual)")
    ax.set_ylabel("test examples")
    ax.set_title("residuals")
    return scatter, to_data_uri(fig)


def roc_curves(lines: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
    """ROC: true-positive rate against false-positive rate, one line per positive class."""
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    for i, (name, (fpr, tpr)) in enumerate(lines.items()):
        ax.plot(fpr, tpr, color=PALETTE[i % len(PALETTE)], label=name)
    ax.plot([0, 1], [0, 1], "--", color="gray", label="chance (AUC 0.5)")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate (recall)")
    ax.set_title("ROC curve")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return to_data_uri(fig)


def precision_recall_curves(lines: dict[str, tuple[np.ndarray, np.ndarray, float]]) -> str:
    """Precision against recall, one line per positive class; dotted: its positive rate, the
    precision of guessing."""
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    for i, (name, (recall, precision, base_rate)) in enumerate(lines.items()):
        colour = PALETTE[i % len(PALETTE)]
        ax.plot(recall, precision, color=colour, label=name)
        ax.axhline(base_rate, linestyle=":", color=colour, linewidth=1)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_ylim(0, 1.02)
    ax.set_title("precision-recall curve (dotted: positive rate)")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    return to_data_uri(fig)
