"""What fit and predict accept, checked the way scikit-learn's tools expect.

Arrays, lists and SciPy sparse matrices go through scikit-learn's validate_data (numbers
only; NaN refused unless `missing` fills gaps). A pandas DataFrame with text, categorical or
boolean columns is kept as a frame and encoded as the command line encodes a mixed table
(one-hot categories, filled gaps), with the encoder saved in the model.
"""

from __future__ import annotations

import math
import re
from contextlib import contextmanager
from typing import Any, Iterator, Optional

import numpy as np
import pandas as pd
import scipy.sparse
from sklearn.utils import check_array, check_consistent_length
from sklearn.utils.validation import validate_data

from densekit.data.tables import is_numeric
from densekit.errors import DensekitError

FLOATS = (np.float64, np.float32)  # float32 stays float32; anything else becomes float64


class InvalidInput(DensekitError, ValueError):
    """Bad data or settings given to an estimator. scikit-learn's tools (cross-validation,
    grid search, check_estimator) expect a ValueError; the message is densekit's."""


@contextmanager
def sklearn_errors(parameters: Optional[dict[str, str]] = None) -> Iterator[None]:
    """densekit's errors as ValueErrors, with their messages; where a message names a
    command-line setting that is an estimator parameter, it names the parameter instead."""
    try:
        yield
    except DensekitError as err:
        if isinstance(err, ValueError):
            raise
        raise InvalidInput(as_parameters(str(err), parameters or {})) from None


def as_parameters(message: str, parameters: dict[str, str]) -> str:
    """'--set data.missing=mean' becomes "missing='mean'" when data.missing is a parameter."""
    def parameter(match: re.Match) -> str:
        key, value = match.group(1), match.group(2)
        names = [p for p, k in parameters.items() if k == key]
        return f"{names[0]}={value!r}" if names else match.group(0)
    return re.sub(r"--set ([a-z_.]+)=([A-Za-z0-9_.-]+)", parameter, message)


def is_mixed_frame(x: Any) -> bool:
    return isinstance(x, pd.DataFrame) and not all(is_numeric(x[c]) for c in x.columns)


def training_data(estimator, x: Any, y: Any, *, reset: bool, y_numeric: bool):
    """(features, labels) for fit: a numeric array (dense or sparse) or a mixed frame."""
    if is_mixed_frame(x):
        # Feature names and count are recorded; the frame itself is encoded by densekit.
        x, y = validate_data(estimator, x, y, reset=reset, skip_check_array=True)
        check_consistent_length(x, y)
        return string_columns(x), checked_labels(y, y_numeric)
    x, y = validate_data(estimator, x, y, reset=reset, accept_sparse="csr", multi_output=True,
                         y_numeric=y_numeric, dtype=FLOATS, ensure_all_finite=False)
    return check_finite(x, estimator, "X"), y


def prediction_data(estimator, x: Any, frames: bool):
    """Features to predict from: a dense float array, or a frame for a model with an encoder."""
    if frames and is_mixed_frame(x):
        return string_columns(validate_data(estimator, x, reset=False, skip_check_array=True))
    x = validate_data(estimator, x, reset=False, accept_sparse="csr", dtype=FLOATS,
                      ensure_all_finite=False)
    x = check_finite(x, estimator, "X")
    return x.toarray() if scipy.sparse.issparse(x) else x


def validation_rows(estimator, validation_data: Any, y_numeric: bool):
    """fit's validation_data=(X_val, y_val), read like the training rows; (None, None) if absent."""
    if validation_data is None:
        return None, None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise InvalidInput("validation_data must be a pair (X_val, y_val).")
    x, y = validation_data
    frames = is_mixed_frame(x)
    x = prediction_data(estimator, x, frames)
    y = checked_labels(y, y_numeric)
    check_consistent_length(x, y)
    return x, y


def checked_labels(y: Any, numeric: bool) -> np.ndarray:
    y = check_array(y, ensure_2d=False, dtype="numeric" if numeric else None,
                    ensure_all_finite=True, input_name="y", accept_sparse="csr")
    return y.toarray() if scipy.sparse.issparse(y) else y


def string_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """densekit's encoder reads columns by name, as text."""
    return frame.set_axis([str(c) for c in frame.columns], axis=1)


def check_finite(x, estimator, what: str):
    """Infinite values are refused; NaN too, unless `missing` says how to fill gaps."""
    values = x.data if scipy.sparse.issparse(x) else x
    gaps_allowed = estimator.missing != "error"
    bad = np.isinf(values) if gaps_allowed else ~np.isfinite(values)
    if not bad.any():
        return x
    kind = "infinite values" if gaps_allowed else "NaN or infinite values"
    where = ""
    if not scipy.sparse.issparse(x):
        columns = np.flatnonzero(bad.any(axis=0)).tolist()
        where = f" in {int(bad.any(axis=1).sum())} row(s), column(s) {columns[:10]}"
    fill = ("" if gaps_allowed else "; or let the estimator fill gaps (NaN) with "
            "missing='mean' (or 'median', 'most_frequent', 'zero')")
    raise InvalidInput(f"{what} contains {kind}{where}. Fill or drop those rows{fill}.")


def check_rows_to_hold_out(estimator, rows: int) -> None:
    """validation_split of the rows must leave rows on both sides (split.py rounds the
    held-out part up): said in the estimator's own parameters, with n_samples."""
    split = estimator.validation_split
    if split and rows - math.ceil(split * rows) < 1:
        raise InvalidInput(
            f"X has n_samples={rows}: too few to hold out validation_split={split:g} of them "
            "and train on the rest. Give more rows, give validation_data=(X_val, y_val), or "
            "set validation_split=0 to train on every row.")


def feature_names(estimator) -> Optional[list[str]]:
    names = getattr(estimator, "feature_names_in_", None)
    return None if names is None else [str(n) for n in names]
