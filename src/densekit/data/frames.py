"""Tables read into pandas: CSV/TSV (with or without a header line) and Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from densekit.errors import DensekitError


def read_frame(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".parquet":
        return read_parquet(path)
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        header = 0 if first_line_has_names(path, sep) else None
        frame = pd.read_csv(path, sep=sep, header=header)
    except OSError as err:
        raise DensekitError(f"Cannot read {path}: {err.strerror or err}. Check the path.") from None
    except pd.errors.EmptyDataError:
        raise DensekitError(f"{path} is empty: it has no header and no rows.") from None
    except pd.errors.ParserError as err:
        raise DensekitError(f"{path} is not a regular table: {str(err).strip()}. Every row must "
                            "have the same number of fields as the header.") from None
    except UnicodeDecodeError:
        raise DensekitError(f"{path} is not a text table (it is not valid UTF-8).") from None
    if frame.empty:
        raise DensekitError(f"{path} has a header but no data rows.")
    frame.columns = [str(c) for c in frame.columns]
    frame.attrs["has_header"] = header == 0
    return frame


def read_parquet(path: Path) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401  (pandas's Parquet engine; an optional dependency)
    except ImportError:
        raise DensekitError(f"Reading {path} needs the pyarrow package: pip install "
                            "'densekit[parquet]' (or pip install pyarrow).") from None
    try:
        frame = pd.read_parquet(path)
    except OSError as err:
        raise DensekitError(f"Cannot read {path}: {err.strerror or err}.") from None
    except Exception as err:  # pyarrow.ArrowInvalid and kin: not a Parquet file, or truncated
        raise DensekitError(f"{path} is not a readable Parquet file ({err}). It may be truncated "
                            "or of another format.") from None
    if frame.empty:
        raise DensekitError(f"{path} has no data rows.")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def first_line_has_names(path: Path, sep: str) -> bool:
    with open(path, encoding="utf-8", errors="replace") as handle:
        fields = handle.readline().strip().split(sep)
    return not all(is_number(f) for f in fields if f.strip())


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def frame_has_header(frame: pd.DataFrame) -> bool:
    """Whether the file named its columns (a Parquet file always does)."""
    return bool(frame.attrs.get("has_header", True))
