"""Tables read into pandas: CSV/TSV (with or without a header line) and Parquet."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from densekit.errors import DensekitError
from densekit.extras import require

TEXT_TABLES = {".csv", ".tsv", ".txt"}
DELIMITERS = ",;\t|"   # the separators spreadsheets and databases write
DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+")
DECIMAL_POINT = re.compile(r"[-+]?\d*\.\d+")


def read_frame(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".parquet":
        return read_parquet(path)
    try:
        sep, decimal = delimiter(path)
        header = 0 if first_line_has_names(path, sep) else None
        frame = pd.read_csv(path, sep=sep, decimal=decimal, header=header)
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


def id_column(path: Path, column: str, features: list[str]) -> pd.Series:
    """The identifier column of a table to predict from (`predict --id`), to carry into the
    output. The features are read by name, so the column is never among them, unless the
    model was trained on it."""
    if path.suffix.lower() not in TEXT_TABLES | {".parquet"}:
        raise DensekitError(f"--id names a column of a table; {path} is not a CSV, TSV or "
                            "Parquet file.")
    frame = read_frame(path)
    if not frame_has_header(frame) or column not in frame.columns:
        listed = ", ".join(map(str, frame.columns[:20])) if frame_has_header(frame) else "none (no header line)"
        raise DensekitError(f"{path} has no column '{column}' for --id. Its named columns: {listed}.")
    if column in features:
        raise DensekitError(f"The model was trained with '{column}' as an input, so it cannot "
                            "be set apart as an identifier. Retrain without that column (drop it "
                            "from the training table), or leave out --id.")
    return frame[column]


def read_parquet(path: Path) -> pd.DataFrame:
    require("pyarrow", "parquet", f"Reading {path}")  # pandas's Parquet engine
    from pyarrow import ArrowException
    try:
        frame = pd.read_parquet(path)
    except OSError as err:
        raise DensekitError(f"Cannot read {path}: {err.strerror or err}.") from None
    except (ArrowException, ValueError) as err:  # not a Parquet file, truncated, or damaged
        raise DensekitError(f"{path} is not a readable Parquet file ({err}). It may be truncated "
                            "or of another format.") from None
    if frame.empty:
        raise DensekitError(f"{path} has no data rows.")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def delimiter(path: Path) -> tuple[str, str]:
    """(field separator, decimal mark) of a text table, from its first lines: spreadsheets
    write semicolons (with decimal commas) or tabs whatever the suffix. csv.Sniffer on whole
    lines, limited to these separators, tells them apart, where pandas's sep=None misreads
    a pipe-separated file and a one-column one; the suffix's separator when it cannot tell."""
    default = "\t" if path.suffix.lower() == ".tsv" else ","
    sample = first_lines(path)
    try:
        sep = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sep = default
    return sep, decimal_mark(sample, sep)


def first_lines(path: Path, lines: int = 20, chars: int = 1 << 18) -> str:
    """Up to `lines` whole lines (at least two, however long): a cut line would look ragged."""
    kept: list[str] = []
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        for line in handle:
            if len(kept) >= lines or (len(kept) >= 2 and sum(map(len, kept)) + len(line) > chars):
                break
            kept.append(line)
    return "".join(kept)


def decimal_mark(sample: str, sep: str) -> str:
    """',' when the fields of a file not separated by commas write numbers as 3,5."""
    if sep == ",":
        return "."
    fields = [f.strip().strip('"') for f in sample.replace("\n", sep).split(sep)]
    commas = sum(bool(DECIMAL_COMMA.fullmatch(f)) for f in fields)
    points = sum(bool(DECIMAL_POINT.fullmatch(f)) for f in fields)
    return "," if commas > points else "."


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
