"""Validation of financial statements, shared by the API, the bulk pipeline and the CSV commands.

Two doors, one rule set (``API.md``, section *Predictions / Input*):

- :func:`validate_financials` checks one mapping (a JSON object) and returns the cleaned statement or raises
  :class:`FinancialsValidationError` whose ``details`` map each field to human-readable messages.
- :func:`validate_financials_frame` checks a DataFrame (bulk upload, CSV) column by column with numpy, so a
  100k-row file costs a few vectorised passes; only rows with errors are visited one by one.

JSON is typed: booleans and strings (even ``"12.5"``) are wrong types there. A CSV has no types, so in a frame a
cell of numeric text is a number and an empty cell is missing; other text is an error.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .fields import (
    FINANCIAL_FIELDS,
    MAX_ABS_VALUE,
    NON_NEGATIVE_FIELDS,
    OPTIONAL_FIELDS,
    POSITIVE_FIELDS,
    REQUIRED_FIELDS,
)

MSG_REQUIRED = "This field is required."
MSG_NULL = "This field is required and may not be null."
MSG_BOOLEAN = "Must be a number, not a boolean."
MSG_STRING = "Must be a number, not a string."
MSG_NUMBER = "Must be a number."
MSG_FINITE = "Must be a finite number."
MSG_TOO_LARGE = f"Must be between -{MAX_ABS_VALUE:.0e} and {MAX_ABS_VALUE:.0e} (amounts are in millions of USD)."
MSG_NEGATIVE = "Must be greater than or equal to 0."
MSG_NOT_POSITIVE = "Must be greater than 0."
MSG_UNKNOWN = "Unknown field."
MSG_NOT_OBJECT = "Expected an object mapping financial field names to numbers."

NON_FIELD_ERRORS = "non_field_errors"

RowError = tuple[Any, str, str]
"""``(row label, field, message)`` as returned by :func:`validate_financials_frame`."""


class FinancialsValidationError(ValueError):
    """Invalid financials; ``details`` maps a field name to its messages (``non_field_errors`` for the whole)."""

    def __init__(self, details: dict[str, list[str]]) -> None:
        self.details = details
        summary = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in details.items())
        super().__init__(f"Invalid financials: {summary}")


def _check_value(field: str, value: Any) -> tuple[float | None, str | None]:
    """Return ``(clean value, None)`` or ``(None, message)`` for one field."""
    if type(value) is float:  # the common case (JSON numbers): skip the type dispatch below, same outcome
        number = value
    else:
        if value is None:
            return (None, MSG_NULL) if field in REQUIRED_FIELDS else (None, None)
        if isinstance(value, bool | np.bool_):
            return None, MSG_BOOLEAN
        if isinstance(value, str | bytes):
            return None, MSG_STRING
        if not isinstance(value, int | float | decimal.Decimal | np.integer | np.floating):
            return None, MSG_NUMBER
        try:
            number = float(value)
        except (OverflowError, ValueError, decimal.InvalidOperation):
            return None, MSG_TOO_LARGE if isinstance(value, int) else MSG_FINITE
    if not math.isfinite(number):
        return None, MSG_FINITE
    if abs(number) >= MAX_ABS_VALUE:
        return None, MSG_TOO_LARGE
    if field in POSITIVE_FIELDS and number <= 0:
        return None, MSG_NOT_POSITIVE
    if field in NON_NEGATIVE_FIELDS and number < 0:
        return None, MSG_NEGATIVE
    return number, None


def validate_financials(data: Mapping[str, Any]) -> dict[str, float | None]:
    """Validate one statement and return all 17 fields as floats (optional ones ``None`` when not given).

    Raises :class:`FinancialsValidationError` listing every problem at once.
    """
    if not isinstance(data, Mapping):
        raise FinancialsValidationError({NON_FIELD_ERRORS: [MSG_NOT_OBJECT]})
    details: dict[str, list[str]] = {}
    clean: dict[str, float | None] = {}
    for field in FINANCIAL_FIELDS:
        if field not in data:
            if field in REQUIRED_FIELDS:
                details[field] = [MSG_REQUIRED]
            clean[field] = None
            continue
        number, message = _check_value(field, data[field])
        if message:
            details[field] = [message]
        clean[field] = number
    for key in data:
        if key not in clean:
            details[str(key)] = [MSG_UNKNOWN]
    if details:
        raise FinancialsValidationError(details)
    return clean


def check_frame_columns(columns: Any) -> dict[str, list[str]]:
    """Header problems of a bulk frame: missing required columns (extra columns are allowed there)."""
    present = {str(c) for c in columns}
    return {f: ["Required column is missing."] for f in REQUIRED_FIELDS if f not in present}


def _numeric_column(series: pd.Series) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """``(values, not-a-number mask, boolean mask)`` of one frame column; missing cells are NaN and not errors."""
    n = len(series)
    no = np.zeros(n, dtype=bool)
    if pd.api.types.is_bool_dtype(series.dtype):
        return np.full(n, np.nan), no, series.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan), no, no
    # text (CSV) or object column: numeric text is a number, empty/"nan"/"null" is missing, other text an error
    is_bool = no
    if series.dtype == object:
        is_bool = series.map(lambda v: isinstance(v, bool | np.bool_), na_action="ignore")
        is_bool = is_bool.fillna(False).to_numpy(dtype=bool)
    text = series.astype("string").str.strip()
    blank = text.isna() | text.str.lower().isin(["", "nan", "null", "none"])
    blank = blank.fillna(True).to_numpy(dtype=bool) | is_bool
    values = pd.to_numeric(text.where(~blank), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    values[is_bool] = np.nan
    bad_number = ~blank & np.isnan(values)
    return values, bad_number, is_bool


def numeric_financials(frame: pd.DataFrame) -> pd.DataFrame:
    """The 17 fields of ``frame`` as float columns (NaN where missing or not a number), same index."""
    data = {}
    for field in FINANCIAL_FIELDS:
        if field in frame.columns:
            data[field] = _numeric_column(frame[field])[0]
        else:
            data[field] = np.full(len(frame), np.nan)
    return pd.DataFrame(data, index=frame.index)


def validate_financials_frame(frame: pd.DataFrame) -> tuple[npt.NDArray[np.bool_], list[RowError]]:
    """Validate every row of a bulk frame with vectorised checks.

    Returns ``(valid_mask, errors)``: a boolean array (True = row is valid) and ``(row label, field, message)``
    tuples, one per invalid cell (the first broken rule of that cell), ordered by row then field. Columns other
    than the 17 fields are ignored; a missing required column raises :class:`FinancialsValidationError`.
    """
    header = check_frame_columns(frame.columns)
    if header:
        raise FinancialsValidationError(header)
    n = len(frame)
    valid = np.ones(n, dtype=bool)
    positions: list[npt.NDArray[np.intp]] = []
    field_order: list[npt.NDArray[np.intp]] = []
    messages: list[npt.NDArray[np.object_]] = []
    for order, field in enumerate(FINANCIAL_FIELDS):
        if field not in frame.columns:
            continue  # optional column absent: every row has it missing
        values, bad_number, is_bool = _numeric_column(frame[field])
        with np.errstate(invalid="ignore"):
            missing = np.isnan(values) & ~bad_number & ~is_bool
            rules: list[tuple[npt.NDArray[np.bool_], str]] = [
                (is_bool, MSG_BOOLEAN),
                (bad_number, MSG_NUMBER),
                (missing if field in REQUIRED_FIELDS else np.zeros(n, dtype=bool), MSG_REQUIRED),
                (np.isinf(values), MSG_FINITE),
                (np.abs(values) >= MAX_ABS_VALUE, MSG_TOO_LARGE),
                (values <= 0 if field in POSITIVE_FIELDS else np.zeros(n, dtype=bool), MSG_NOT_POSITIVE),
                (values < 0 if field in NON_NEGATIVE_FIELDS else np.zeros(n, dtype=bool), MSG_NEGATIVE),
            ]
        taken = np.zeros(n, dtype=bool)
        for mask, message in rules:
            hit = mask & ~taken
            if hit.any():
                idx = np.flatnonzero(hit)
                positions.append(idx)
                field_order.append(np.full(idx.size, order))
                messages.append(np.full(idx.size, message, dtype=object))
                taken |= hit
        valid &= ~taken
    errors: list[RowError] = []
    if positions:
        pos = np.concatenate(positions)
        fld = np.concatenate(field_order)
        msg = np.concatenate(messages)
        order_idx = np.lexsort((fld, pos))
        labels = frame.index.to_numpy()[pos[order_idx]]
        errors = [
            (label.item() if hasattr(label, "item") else label, FINANCIAL_FIELDS[f], m)
            for label, f, m in zip(labels, fld[order_idx], msg[order_idx], strict=True)
        ]
    return valid, errors


__all__ = [
    "OPTIONAL_FIELDS",
    "REQUIRED_FIELDS",
    "FinancialsValidationError",
    "check_frame_columns",
    "numeric_financials",
    "validate_financials",
    "validate_financials_frame",
]
