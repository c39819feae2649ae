"""The user's own files: CSV/TSV tables and NPZ arrays."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Optional, Union

import numpy as np
import pandas as pd

from densekit.config import DataConfig
from densekit.data.arrays import read_npy
from densekit.data.dataset import Dataset, Part, flatten_images
from densekit.data.labels import split_label_lists
from densekit.data.tables import is_numeric, looks_numeric
from densekit.data.text import looks_like_text
from densekit.errors import DensekitError

Label = Optional[Union[str, int, list]]  # one column (name or index), or several (multilabel)
TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".parquet"}
SUFFIXES = TABLE_SUFFIXES | {".npz", ".npy"}
LABEL_GUESSES = ("label", "target", "class", "y")


def is_supported_file(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def load_file(path: Path, cfg: DataConfig) -> Dataset:
    """A whole dataset from one file (the training source)."""
    if path.suffix.lower() == ".npz":
        return load_npz(path)
    if path.suffix.lower() == ".npy":
        raise DensekitError(f"{path} is a single NPY array: it has features but no labels. Give "
                            "an NPZ file holding x and y, or x_train and y_train.")
    frame = read_frame(path)
    label_cols = find_labels(frame, cfg.label, path)
    features, y = frame.drop(columns=label_cols), labels_of(frame, label_cols)
    label_names = label_cols if len(label_cols) > 1 else None
    if cfg.label_delimiter:
        y, label_names = split_label_lists(y, cfg.label_delimiter, label_cols, path)
    text_column = find_text_column(features, cfg.text.column, path)
    if text_column:
        # A bag of words over the training split's vocabulary, built after the split (text.py).
        dataset = Dataset(path.stem, Part(features, y), kind="bag", feature_names=[text_column])
    elif all(is_numeric(features[c]) for c in features.columns) and cfg.missing == "error":
        refuse_typos(features, path)
        dataset = table_dataset(path.stem, features.to_numpy(), y, list(features.columns))
    else:
        # Text (categorical) columns or gaps to fill: encoded after the split (tables.py).
        refuse_typos(features, path)
        dataset = Dataset(path.stem, Part(features, y), feature_names=list(features.columns))
    dataset.label_column = label_cols[0] if len(label_cols) == 1 else label_cols
    dataset.label_names = label_names
    return dataset


def find_text_column(features: pd.DataFrame, named: Optional[str], path: Path) -> Optional[str]:
    """The column of free text, when data.text.column names it or it is the only feature."""
    if named is None:
        wordy = [c for c in features.columns if not is_numeric(features[c]) and looks_like_text(features[c])]
        if wordy and features.shape[1] > 1:
            # One-hot encoding free text would make one column per distinct sentence.
            raise DensekitError(
                f"Column '{wordy[0]}' of {path} holds free text, and the file has other feature "
                f"columns ({preview([c for c in features.columns if c != wordy[0]])}). densekit "
                "learns from one text column at a time: remove the other columns (or make them "
                f"label columns with --label), and optionally name it with --set data.text.column={wordy[0]}.")
        return wordy[0] if wordy else None
    if named not in features.columns:
        raise DensekitError(f"data.text.column names '{named}', which is not a feature column of "
                            f"{path}. Its columns are: {preview(list(features.columns))}.")
    if features.shape[1] > 1:
        others = [c for c in features.columns if c != named]
        raise DensekitError(
            f"{path} has other feature columns besides the text column '{named}': "
            f"{preview(others)}. A text table has one text column and the label column(s); "
            "remove the others.")
    return named


def labels_of(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """(rows,) for one label column, (rows, labels) for several (multilabel)."""
    return frame[columns[0]].to_numpy() if len(columns) == 1 else frame[columns].to_numpy()


def present_labels(frame: pd.DataFrame, label: Label) -> list[str]:
    """The label columns found in a file to predict from or evaluate on (maybe none)."""
    if label is None:
        return []
    found = [resolve_label(list(frame.columns), one) for one in as_list(label)]
    return [c for c in found if c is not None] if all(found) else []


def as_list(label: Label) -> list:
    return list(label) if isinstance(label, (list, tuple)) else [label]


def refuse_typos(features: pd.DataFrame, path: Path) -> None:
    for column in features.columns:
        if not is_numeric(features[column]) and looks_numeric(features[column]):
            report_non_numeric(features, column, path, frame_has_header(features))


def table_dataset(name: str, x: np.ndarray, y: np.ndarray, names: list[str]) -> Dataset:
    side = math.isqrt(x.shape[1])
    looks_like_pixels = (x.dtype.kind in "iu" and side * side == x.shape[1] and side >= 8
                         and x.min() >= 0 and x.max() <= 255)
    if looks_like_pixels:
        # e.g. the crash-course MNIST CSV: 784 integer columns 0..255 are 28x28 images.
        return Dataset(name, Part(x.astype(np.uint8), y), kind="image", feature_names=names,
                       image_shape=(side, side))
    return Dataset(name, Part(x.astype(np.float32), y), feature_names=names)


def read_part(path: Path, label: Label, feature_names: list[str], require_label: bool,
              as_frame: bool = False) -> Part:
    """Features (and labels when present) of a file, in the column order of training.
    as_frame: the raw columns of a mixed table, for its TableEncoder."""
    if as_frame:
        frame = read_frame(path)
        label_cols = present_labels(frame, label)
        y = labels_of(frame, label_cols) if label_cols else None
        x = frame.drop(columns=label_cols)
    elif path.suffix.lower() == ".npz":
        x, y = npz_features(path)
    elif path.suffix.lower() == ".npy":
        x, y = flatten_images(read_npy(path))[0], None  # features only, memory-mapped
    else:
        x, y = table_features(read_frame(path), label, feature_names, path)
    if require_label and y is None:
        raise DensekitError(f"{path} has no labels; evaluation needs them. Give a file with the "
                            f"label column ({label}) or an NPZ with a y array.")
    return Part(x, y)


def npz_features(path: Path):
    arrays = read_npz(path)
    x = next((arrays[k] for k in ("x", "x_test", "x_train") if k in arrays), None)
    y = next((arrays[k] for k in ("y", "y_test", "y_train") if k in arrays), None)
    if x is None:
        raise DensekitError(f"{path} holds no array named x, x_test or x_train; it holds "
                            f"{', '.join(arrays) or 'nothing'}.")
    return flatten_images(x)[0], y


def table_features(frame: pd.DataFrame, label: Label, feature_names: list[str], path: Path):
    """Select the training columns by name when the file has them, else by position."""
    has_header = frame_has_header(frame)
    label_cols = present_labels(frame, label)
    y = labels_of(frame, label_cols) if label_cols else None
    if has_header and set(feature_names) <= set(frame.columns):
        return numeric_matrix(frame[feature_names], path, has_header), y
    if label_cols and frame.shape[1] == len(feature_names) + len(label_cols):
        frame = frame.drop(columns=label_cols)
    else:
        y = None
    if frame.shape[1] != len(feature_names):
        missing = [n for n in feature_names if n not in frame.columns] if has_header else []
        hint = f" Missing columns: {preview(missing)}." if missing else ""
        raise DensekitError(
            f"{path} has {frame.shape[1]} feature column(s) but the model was trained on "
            f"{len(feature_names)}.{hint} Give the same columns as the training data (the label "
            "column may be present or not).")
    return numeric_matrix(frame, path, has_header), y


# ---------------------------------------------------------------- CSV / TSV


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
    return bool(frame.attrs.get("has_header", True))


def find_labels(frame: pd.DataFrame, label: Label, path: Path) -> list[str]:
    columns = list(frame.columns)
    if label is not None:
        names = [resolve_label(columns, one) for one in as_list(label)]
        missing = [str(one) for one, name in zip(as_list(label), names) if name is None]
        if missing:
            what = (f"label column '{missing[0]}' is" if len(missing) == 1
                    else f"label columns {', '.join(repr(m) for m in missing)} are")
            raise DensekitError(
                f"The {what} not in {path}. Its "
                f"columns are: {preview(columns)}. Name the label column with --label (a name, "
                "or an index counted from 0; several, comma-separated, for multilabel data).")
        return names
    guess = next((c for c in columns if c.lower() in LABEL_GUESSES), None)
    if guess is None:
        raise DensekitError(
            f"Which column of {path} holds the labels? None is called "
            f"{', '.join(LABEL_GUESSES)}. Its columns are: {preview(columns)}. Name it with "
            "--label (a name, or an index counted from 0).")
    return [guess]


def resolve_label(columns: list[str], label: Union[str, int]) -> Optional[str]:
    if str(label) in columns:
        return str(label)
    index = int(label) if str(label).lstrip("-").isdigit() else None
    if index is not None and -len(columns) <= index < len(columns):
        return columns[index]
    return None


def numeric_matrix(features: pd.DataFrame, path: Path, has_header: bool) -> np.ndarray:
    for column in features.columns:
        if not pd.api.types.is_numeric_dtype(features[column]):
            report_non_numeric(features, column, path, has_header)
    return features.to_numpy()


def report_non_numeric(features: pd.DataFrame, column: str, path: Path, has_header: bool):
    values = features[column]
    parsed = pd.to_numeric(values, errors="coerce")
    bad = values[parsed.isna() & values.notna()]
    row = int(bad.index[0]) if len(bad) else 0
    line = row + (2 if has_header else 1)
    raise DensekitError(
        f"Column '{column}' of {path} should hold numbers but line {line} has "
        f"{bad.iloc[0]!r}. Fix or remove that value; densekit reads numeric feature columns only "
        "(encode categories as numbers first).")


def preview(columns: list[str]) -> str:
    shown = ", ".join(columns[:20])
    return shown + (f" … ({len(columns)} in all)" if len(columns) > 20 else "")


# ---------------------------------------------------------------- NPZ


def read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        # allow_pickle=False: an NPZ from a stranger must not be able to run code.
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except OSError as err:
        raise DensekitError(f"Cannot read {path}: {err.strerror or err}. Check the path.") from None
    except (zipfile.BadZipFile, ValueError, EOFError) as err:
        raise DensekitError(f"{path} is not a readable NPZ file ({err}). It may be truncated or "
                            "hold pickled objects, which densekit refuses to load.") from None


def load_npz(path: Path) -> Dataset:
    arrays = read_npz(path)
    if "x_train" in arrays:
        keys = {"train": ("x_train", "y_train"), "validation": ("x_val", "y_val"),
                "test": ("x_test", "y_test")}
    elif "x" in arrays:
        keys = {"train": ("x", "y")}
    else:
        raise DensekitError(f"{path} must hold arrays x and y, or x_train and y_train (optionally "
                            f"x_val/y_val, x_test/y_test); it holds {', '.join(arrays)}.")
    parts, image_shape = {}, None
    for role, (xk, yk) in keys.items():
        if xk not in arrays:
            continue
        if yk not in arrays:
            raise DensekitError(f"{path} has {xk} but no {yk}: every feature array needs labels.")
        x, image_shape = flatten_images(arrays[xk])
        parts[role] = Part(x, arrays[yk])
    # Only bytes are kept as images; float arrays of any shape are plain features.
    is_image = parts["train"].x.dtype == np.uint8
    width = parts["train"].x.shape[1]
    return Dataset(path.stem, parts["train"], parts.get("validation"), parts.get("test"),
                   kind="image" if is_image else "table",
                   feature_names=[f"x{i}" for i in range(width)], image_shape=image_shape)
