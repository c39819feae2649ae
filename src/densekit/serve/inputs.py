"""A request body (JSON or CSV) -> checked rows the batcher can merge with other requests'.

JSON: a list of rows, or {"rows": [...]}; a row is an object keyed by column name or an array
in column order. CSV: a header row naming the columns, then one line per row. A label column
(as in a test file) is ignored, as `densekit predict` ignores it."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np
import pandas as pd

from densekit.serve.schema import RequestError, Schema, preview

Rows = Union[np.ndarray, dict]  # (n, features) float32, or checked columns for the encoder


# curl -d sends form-urlencoded unless told otherwise; its body is still the JSON typed.
JSON_TYPES = frozenset({"application/json", "", "text/plain", "application/x-www-form-urlencoded"})


@dataclass
class Payload:
    rows: Rows
    count: int
    top_k: Optional[int] = None   # probabilities per row in the answer (None: the default)


def parse(body: bytes, content_type: str, schema: Schema, max_rows: int) -> Payload:
    kind = content_type.split(";")[0].strip().lower()
    if kind in ("text/csv", "application/csv"):
        values = csv_rows(body, schema)
    elif kind in JSON_TYPES or kind.endswith("+json"):
        values = json_rows(body, schema, max_rows)
    else:
        raise RequestError(415, f"Content-Type {kind!r} is not read here; send application/json "
                                "(rows as objects or arrays) or text/csv (a header row, then rows).")
    if not values:
        raise RequestError(422, "the request holds no rows; send at least one.")
    if len(values) > max_rows:
        raise RequestError(413, f"the request holds {len(values):,} rows; this server takes at most "
                                f"{max_rows:,} per request (--max-rows). Split it.")
    rows = schema.table(values) if schema.encoded else schema.numbers(values)
    return Payload(rows, len(values))


def json_rows(body: bytes, schema: Schema, max_rows: int) -> list[list]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError too
        raise RequestError(400, f"the body is not valid JSON: {err}.") from None
    rows = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise RequestError(400, 'expected a JSON list of rows, or {"rows": [...]}; a row is an '
                                "object keyed by column name or an array in column order.")
    if len(rows) > max_rows:  # before any per-row work
        raise RequestError(413, f"the request holds {len(rows):,} rows; this server takes at most "
                                f"{max_rows:,} per request (--max-rows). Split it.")
    if rows and all(type(r) is dict for r in rows):
        return schema.by_name(rows)
    if all(type(r) is list for r in rows):
        return schema.by_position(rows)
    if schema.encoded and len(schema.columns) == 1 and all(type(r) is str for r in rows):
        return [[r] for r in rows]  # a text model: a list of texts
    i, row = next((i, r) for i, r in enumerate(rows) if type(r) not in (dict, list))
    raise RequestError(400, f"row {i} is {type(row).__name__} {str(row)[:40]!r}; every row must be "
                            "an object keyed by column name or an array in column order (not mixed).")


def csv_rows(body: bytes, schema: Schema) -> list[list]:
    try:
        frame = pd.read_csv(io.BytesIO(body), keep_default_na=True)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise RequestError(400, f"the body is not a readable CSV table: {str(err).strip()}.") from None
    frame.columns = [str(c) for c in frame.columns]
    names = set(frame.columns)
    missing = [n for n in schema.names if n not in names]
    unknown = [c for c in frame.columns if c not in schema.index and c not in schema.ignored]
    if missing or unknown:
        problem = (f"lacks column(s) {preview(missing)}" if missing
                   else f"has unknown column(s) {preview(unknown)}")
        raise RequestError(422, f"the CSV header {problem}; the model's columns are "
                                f"{preview(schema.names)}.")
    return [[python_value(v) for v in row] for row in frame[schema.names].itertuples(index=False)]


def python_value(value: Any) -> Any:
    """pandas' cells as JSON would give them: NaN as null, NumPy scalars as Python's."""
    if isinstance(value, float) and value != value:
        return None
    return value.item() if isinstance(value, np.generic) else value
