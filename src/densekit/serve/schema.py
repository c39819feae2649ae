"""What a request's rows must hold: the model's input columns, their kinds, and the checks that
turn a bad row into a message naming the row, the column and the value (never a 500)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from densekit.data.tables import TableEncoder
from densekit.data.text import TextEncoder
from densekit.errors import did_you_mean
from densekit.errors import preview as errors_preview
from densekit.session.predict import Predictor

NUMBER_TYPES = frozenset({int, float})  # JSON numbers; bool is refused (True is no pixel value)


class RequestError(Exception):
    """A client's mistake: answered with `status` and {"error": message}."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Column:
    name: str
    kind: str                        # "number", "category" or "text"
    nullable: bool = False           # a gap is filled as training chose (data.missing), not refused
    categories: Optional[list] = None

    def to_json(self) -> dict[str, Any]:
        values = {"name": self.name, "type": self.kind, "nullable": self.nullable}
        if self.categories is not None:
            values["categories"] = self.categories
        return values


@dataclass
class Schema:
    """The columns a row gives, in order. `encoded`: rows go through the saved table or text
    encoder as a DataFrame (as `densekit predict` reads a mixed CSV); otherwise they are the
    network's numeric inputs."""

    columns: list[Column]
    encoded: bool
    ignored: frozenset = frozenset()          # label columns: present in a test file, not used
    bounds: Optional[tuple[float, float]] = None   # images: raw pixel values
    index: dict = field(init=False)

    def __post_init__(self):
        self.index = {c.name: i for i, c in enumerate(self.columns)}

    @classmethod
    def of(cls, predictor: Predictor) -> "Schema":
        card, encoder = predictor.card, predictor.encoder
        label = card.label_column
        ignored = frozenset(map(str, label if isinstance(label, list) else [label] if label else []))
        if isinstance(encoder, TextEncoder):
            return cls([Column(encoder.column, "text", nullable=True)], True, ignored)
        if isinstance(encoder, TableEncoder):  # columns it dropped (identifiers) may come along
            return cls([table_column(encoder, c) for c in encoder.columns], True,
                       ignored | frozenset(map(str, encoder.dropped)))
        bounds = (0.0, 255.0) if predictor.prep.kind == "image" else None
        return cls([Column(str(n), "number") for n in card.feature_names], False, ignored, bounds)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    # ------------------------------------------------------------ rows in

    def by_name(self, rows: list[dict]) -> list[list]:
        """Object rows -> value lists in column order; a missing or unknown key is refused."""
        names, wanted = self.names, set(self.index)
        out = []
        for i, row in enumerate(rows):
            keys = row.keys()
            if keys != wanted:
                self.check_keys(i, keys)
            out.append([row[n] for n in names])
        return out

    def check_keys(self, i: int, keys) -> None:
        missing = [n for n in self.names if n not in keys]
        unknown = [str(k) for k in keys if k not in self.index and k not in self.ignored]
        if missing:
            raise RequestError(422, f"row {i} lacks column(s) {preview(missing)}; the model's "
                                    f"columns are {preview(self.names)}.")
        if unknown:
            hint = did_you_mean(unknown[0], self.names)
            raise RequestError(422, f"row {i} has unknown column(s) {preview(unknown)}.{hint} "
                                    f"The model's columns are {preview(self.names)}.")

    def by_position(self, rows: list[list]) -> list[list]:
        width = len(self.columns)
        for i, row in enumerate(rows):
            if len(row) != width:
                raise RequestError(422, f"row {i} has {len(row)} value(s) but the model takes "
                                        f"{width} ({preview(self.names)}), in that order.")
        return rows

    def numbers(self, rows: list[list]) -> np.ndarray:
        """Value lists -> (rows, columns) float32, refusing text, booleans, null and NaN."""
        for i, row in enumerate(rows):
            if not set(map(type, row)) <= NUMBER_TYPES:
                j = next(j for j, v in enumerate(row) if type(v) not in NUMBER_TYPES)
                raise RequestError(422, self.wrong_type(i, j, row[j]))
        x = np.array(rows, dtype=np.float64).reshape(len(rows), len(self.columns))
        self.check_finite(x)
        return x.astype(np.float32)

    def wrong_type(self, i: int, j: int, value: Any) -> str:
        what = "a missing value (null)" if value is None else f"{type_name(value)} {short(value)}"
        return (f"row {i}, column '{self.columns[j].name}': expected a number, received {what}.")

    def check_finite(self, x: np.ndarray) -> None:
        bad = ~np.isfinite(x)
        if bad.any():
            i, j = map(int, np.argwhere(bad)[0])
            raise RequestError(422, f"row {i}, column '{self.columns[j].name}': {x[i, j]} is not "
                                    "a finite number; the model cannot predict from NaN or infinity.")
        if self.bounds is not None and x.size and (x.min() < self.bounds[0] or x.max() > self.bounds[1]):
            i, j = map(int, np.argwhere((x < self.bounds[0]) | (x > self.bounds[1]))[0])
            raise RequestError(422, f"row {i}, column '{self.columns[j].name}': {x[i, j]} is "
                                    "outside 0..255; this model reads raw pixel values, not "
                                    "rescaled ones.")

    def table(self, rows: list[list]) -> dict[str, list]:
        """Value lists -> checked columns for the encoder: numbers where it reads numbers, text
        (or a number, read as its text) where it reads categories."""
        columns = {}
        for j, column in enumerate(self.columns):
            values = [row[j] for row in rows]
            columns[column.name] = [checked(column, i, v) for i, v in enumerate(values)]
        return columns


def table_column(encoder: TableEncoder, name: str) -> Column:
    nullable = name in encoder.fill
    if name in encoder.texts:
        return Column(str(name), "text", nullable=True)  # a missing text is an empty one
    if name in encoder.categories:
        return Column(str(name), "category", nullable, list(encoder.categories[name]))
    return Column(str(name), "number", nullable)


def checked(column: Column, i: int, value: Any) -> Any:
    kind = type(value)
    if value is None:
        if column.nullable:
            return None
        raise RequestError(422, f"row {i}, column '{column.name}': a missing value (null), and "
                                "this model was trained to refuse gaps (data.missing: error).")
    if column.kind == "number":
        if kind not in NUMBER_TYPES:
            raise RequestError(422, f"row {i}, column '{column.name}': expected a number, received "
                                    f"{type_name(value)} {short(value)}.")
        if not math.isfinite(value):
            raise RequestError(422, f"row {i}, column '{column.name}': {value} is not a finite number.")
        return value
    if kind is str or kind in NUMBER_TYPES or kind is bool:
        if kind is float and not math.isfinite(value):
            raise RequestError(422, f"row {i}, column '{column.name}': {value} is not a value.")
        return value  # categories are matched as text, as the encoder reads a CSV's column
    raise RequestError(422, f"row {i}, column '{column.name}': expected {column.kind}, received "
                            f"{type_name(value)} {short(value)}.")


def type_name(value: Any) -> str:
    return {str: "text", bool: "a boolean", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__)


def short(value: Any, width: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def preview(names: list) -> str:
    return errors_preview(names, count=8)
