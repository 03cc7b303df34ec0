"""Annualization of quarterly statements (``API.md``: trailing twelve months or x4).

Flows (income-statement items, ``fields.FLOW_FIELDS``) are summed over the trailing four quarters when the
three previous quarters are given (``"ttm"``), else the quarter's own flows are multiplied by 4 (``"x4"``).
Balances (assets, liabilities, retained earnings, market value, inventory, receivables) are point-in-time and
come from the current quarter. An optional flow missing from any of the four quarters stays missing under TTM
(``features.py`` re-derives it from accounting identities where it can) rather than mixing x4 and TTM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from .fields import FINANCIAL_FIELDS, FLOW_FIELDS

Annualization = Literal["ttm", "x4"]


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if np.isnan(number) else number


def annualize_quarter(
    current: Mapping[str, Any], previous_three: Sequence[Mapping[str, Any]] | None = None
) -> tuple[dict[str, float | None], Annualization]:
    """Annual-equivalent statement of one quarter and the basis used (``"ttm"`` or ``"x4"``).

    ``previous_three`` are the three quarters immediately before ``current`` (any order); ``None`` or empty
    means they are not on file.
    """
    previous = list(previous_three or [])
    if previous and len(previous) != 3:
        raise ValueError(f"previous_three must hold exactly 3 quarters, got {len(previous)}")
    basis: Annualization = "ttm" if previous else "x4"
    out: dict[str, float | None] = {}
    for field in FINANCIAL_FIELDS:
        value = _number(current.get(field))
        if field in FLOW_FIELDS and value is not None:
            if basis == "x4":
                value *= 4.0
            else:
                others = [_number(q.get(field)) for q in previous]
                value = None if any(v is None for v in others) else value + sum(others)  # type: ignore[arg-type]
        out[field] = value
    return out, basis


def quarter_number(values: pd.Series) -> npt.NDArray[np.float64]:
    """Quarter 1..4 from ``"Q1"``..``"Q4"`` or 1..4 (NaN when unreadable)."""
    text = values.astype("string").str.strip().str.upper().str.removeprefix("Q")
    number = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isin(number, [1.0, 2.0, 3.0, 4.0]), number, np.nan)


def annualize_frame(
    frame: pd.DataFrame,
    *,
    key: str = "symbol",
    year: str = "reporting_year",
    quarter: str = "reporting_quarter",
) -> tuple[pd.DataFrame, npt.NDArray[np.object_]]:
    """Vectorised :func:`annualize_quarter` over a frame of quarters (numeric financial columns).

    A row is annualized TTM when the frame also holds the three consecutive earlier quarters of the same
    ``key`` (each exactly once); otherwise x4. Returns the annualized 17 fields (same index) and the basis per
    row. Without ``key``/``year``/``quarter`` columns every row is x4.
    """
    n = len(frame)
    data = {
        f: (frame[f].to_numpy(dtype=float, na_value=np.nan) if f in frame.columns else np.full(n, np.nan))
        for f in FINANCIAL_FIELDS
    }
    ttm = np.zeros(n, dtype=bool)
    sums: dict[str, npt.NDArray[np.float64]] = {}
    if n and {key, year, quarter} <= set(frame.columns):
        period = pd.to_numeric(frame[year], errors="coerce").to_numpy(dtype=float) * 4 + quarter_number(frame[quarter])
        keys = frame[key].astype("string").str.strip().str.upper()
        order = pd.DataFrame({"k": keys.to_numpy(), "t": period, "pos": np.arange(n)})
        order = order[order["k"].notna() & ~np.isnan(order["t"])].sort_values(["k", "t"], kind="stable")
        pos = order["pos"].to_numpy()
        grouped = order.groupby("k", sort=False)
        consecutive = np.ones(len(order), dtype=bool)
        # a duplicate period breaks the chain on both sides (difference 0), so duplicates fall back to x4
        duplicated = order.duplicated(["k", "t"], keep=False).to_numpy()
        for lag in (1, 2, 3):
            lag_t = grouped["t"].shift(lag).to_numpy(dtype=float)
            lag_dup = pd.Series(duplicated, index=order.index).groupby(order["k"], sort=False).shift(lag)
            consecutive &= (order["t"].to_numpy() - lag_t == lag) & ~lag_dup.fillna(True).to_numpy(dtype=bool)
        consecutive &= ~duplicated
        ttm[pos[consecutive]] = True
        for field in FLOW_FIELDS:
            values = pd.Series(data[field][pos], index=order.index)
            total = values.to_numpy().copy()
            for lag in (1, 2, 3):
                total = total + values.groupby(order["k"], sort=False).shift(lag).to_numpy(dtype=float)
            summed = np.full(n, np.nan)
            summed[pos] = total
            sums[field] = summed
    out = {}
    for field in FINANCIAL_FIELDS:
        values = data[field]
        if field in FLOW_FIELDS:
            values = np.where(ttm, sums.get(field, values), values * 4.0)
        out[field] = values
    basis = np.where(ttm, "ttm", "x4").astype(object)
    return pd.DataFrame(out, index=frame.index), basis
