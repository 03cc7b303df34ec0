"""Feature derivation: financial statement items -> named ratios, shared by training and serving.

Every formula is written once, in :func:`_formulas`, against a tiny set of elementwise operations; it runs on
numpy columns in :func:`derive_features` (training, batch: :func:`derive_ratios`) and on Python floats in
:func:`feature_values` (one company: :func:`ratios_for`, scoring), where numpy's overhead on length-1 arrays
would dominate. The float operations reproduce numpy's semantics (NaN, signed zero, clipping) exactly and a
test checks both paths bitwise on thousands of real and edge-case rows, so batch and single cannot drift.

Policy (identical in training and serving, tested in ``tests/test_features.py``):

1. **Accounting identities fill missing optional items** (they hold in 99.99 % of the training rows):
   ``gross_profit = revenue - cost_of_goods_sold`` (and back), ``ebitda = revenue - operating_expenses``
   (and back), ``ebitda = ebit + depreciation_amortization`` (and back).
2. **Still-missing optional items are imputed from the statement's own items with fixed typical proportions**
   (medians of the 1999-2011 training rows, constants below): inventory = 15 % and receivables = 30 % of current
   assets, market value = 2 x positive book equity (``MARKET_TO_BOOK``), gross profit = 35 % of revenue,
   depreciation = 4 % of total assets (then EBITDA = EBIT + depreciation). No NaN ever reaches a model, so a
   private firm is scored as a typical firm with its own balance sheet; ``market_value_missing`` records it.
3. **Zero denominators**: amounts that must be >= 0 are floored at 0, and every denominator (total assets,
   current/total liabilities, revenue) is floored at ``DENOMINATOR_FLOOR`` = 0.001 (USD 1,000), so no
   division ever yields inf/NaN: "no current liabilities" becomes a very large (then clipped) current ratio.
4. **Extreme values**: every feature is clipped to fixed, economically generous bounds (``FEATURES``), so
   absurd inputs saturate instead of extrapolating. The logistic member additionally winsorises at training
   percentiles.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .fields import FINANCIAL_FIELDS, NON_NEGATIVE_FIELDS

DENOMINATOR_FLOOR: float = 1e-3
"""Smallest denominator used in any ratio (USD millions, i.e. USD 1,000)."""

INVENTORY_SHARE_OF_CURRENT_ASSETS: float = 0.15
RECEIVABLES_SHARE_OF_CURRENT_ASSETS: float = 0.30
MARKET_TO_BOOK: float = 2.0
GROSS_MARGIN: float = 0.35
DEPRECIATION_TO_TOTAL_ASSETS: float = 0.04
"""Imputation proportions for optional items that are missing and not implied by an identity (training medians)."""


@dataclass(frozen=True)
class Feature:
    """One derived feature: its clip bounds and the direction economics expects (+1 raises risk)."""

    name: str
    lower: float
    upper: float
    monotone: int
    description: str


FEATURES: tuple[Feature, ...] = (
    # Altman (1968) ratios
    Feature("working_capital_to_total_assets", -10, 1, -1, "(current assets - current liabilities) / total assets"),
    Feature("retained_earnings_to_total_assets", -50, 1, -1, "retained earnings / total assets"),
    Feature("ebit_to_total_assets", -10, 10, -1, "EBIT / total assets"),
    Feature("market_value_equity_to_total_liabilities", 0, 1000, -1, "market value of equity / total liabilities"),
    Feature("revenue_to_total_assets", 0, 20, 0, "revenue / total assets (asset turnover)"),
    # leverage
    Feature("total_liabilities_to_total_assets", 0, 20, 1, "total liabilities / total assets"),
    Feature("long_term_debt_to_total_assets", 0, 20, 1, "long-term debt / total assets"),
    Feature("current_liabilities_to_total_assets", 0, 20, 1, "current liabilities / total assets"),
    # liquidity
    Feature("current_ratio", 0, 100, -1, "current assets / current liabilities"),
    Feature("quick_ratio", 0, 100, -1, "(current assets - inventory) / current liabilities"),
    Feature(
        "other_current_assets_to_total_assets",
        -1,
        1,
        -1,
        "(current assets - inventory - receivables) / total assets, a cash proxy",
    ),
    Feature("inventory_to_total_assets", 0, 1, 0, "inventory / total assets"),
    Feature("receivables_to_total_assets", 0, 1, 0, "receivables / total assets"),
    # profitability and margins
    Feature("return_on_assets", -10, 10, -1, "net income / total assets"),
    Feature("ebitda_to_total_assets", -10, 10, -1, "EBITDA / total assets"),
    Feature("net_margin", -100, 1, -1, "net income / revenue"),
    Feature("ebit_margin", -100, 1, -1, "EBIT / revenue"),
    Feature("gross_margin", -100, 1, 0, "gross profit / revenue"),
    Feature("depreciation_to_total_assets", 0, 1, 0, "depreciation and amortization / total assets"),
    # coverage: the inverse of debt/EBITDA, finite and monotone where debt/EBITDA is not
    Feature("ebitda_to_total_liabilities", -100, 100, -1, "EBITDA / total liabilities (inverse debt/EBITDA proxy)"),
    # market and size
    Feature("market_value_to_total_assets", 0, 100, -1, "market value of equity / total assets"),
    # Campbell, Hilscher and Szilagyi (2008): items scaled by market-valued assets (market value + liabilities)
    Feature("net_income_to_market_assets", -10, 10, -1, "net income / (market value + total liabilities)"),
    Feature("total_liabilities_to_market_assets", 0, 1, 1, "total liabilities / (market value + total liabilities)"),
    Feature(
        "other_current_assets_to_market_assets",
        -1,
        1,
        -1,
        "(current assets - inventory - receivables) / (market value + total liabilities)",
    ),
    Feature("log_market_value", 0, 15, 0, "ln(1 + market value in USD millions)"),
    Feature("log_total_assets", 0, 15, 0, "ln(1 + total assets in USD millions), firm size"),
    Feature("log_revenue", 0, 15, 0, "ln(1 + revenue in USD millions)"),
    # composite and indicators
    Feature("altman_z_score", -100, 100, -1, "Altman (1968) Z = 1.2 X1 + 1.4 X2 + 3.3 X3 + 0.6 X4 + 1.0 X5"),
    Feature("market_value_missing", 0, 1, 0, "1 when market value is not given (private firm)"),
)
"""Every derived feature, in model column order."""

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
ALTMAN_FEATURES: tuple[str, ...] = FEATURE_NAMES[:5]

_LOWER = np.array([f.lower for f in FEATURES], dtype=float)
_UPPER = np.array([f.upper for f in FEATURES], dtype=float)


class _ArrayOps:
    """The elementwise operations of the feature formulas on numpy arrays (the batch and training path)."""

    maximum = staticmethod(np.maximum)
    log1p = staticmethod(np.log1p)
    clip = staticmethod(np.clip)

    @staticmethod
    def fill(target: Any, replacement: Any) -> Any:
        return np.where(np.isnan(target), replacement, target)

    @staticmethod
    def indicator_missing(value: Any) -> Any:
        return np.isnan(value).astype(float)


class _FloatOps:
    """The same operations on Python floats, for one statement, with numpy's semantics reproduced exactly.

    ``np.maximum`` propagates NaN from either side and returns the second operand when the two compare equal
    (so ``maximum(-0.0, 0.0)`` is ``0.0``); ``np.clip`` keeps NaN; ``log1p`` *is* numpy's (same values on every
    CPU, whatever SIMD kernels numpy dispatches to). ``tests/test_features.py`` checks bitwise equality with
    :class:`_ArrayOps` on thousands of real and edge-case rows.
    """

    @staticmethod
    def maximum(a: float, b: float) -> float:
        if a != a:  # NaN
            return a
        return a if a > b else b  # b NaN -> b

    @staticmethod
    def log1p(x: float) -> float:
        return float(np.log1p(x))

    @staticmethod
    def clip(x: float, lower: float, upper: float) -> float:
        # np.clip with array bounds (the final clip); with scalar bounds numpy keeps -0.0 at a 0.0 bound, which
        # only the Altman x4 clip could meet, and never does (market value / liabilities is +0.0 or more)
        if x != x:  # NaN stays NaN
            return x
        x = x if x > lower else lower
        return x if x < upper else upper

    @staticmethod
    def fill(target: float, replacement: float) -> float:
        return replacement if target != target else target

    @staticmethod
    def indicator_missing(value: float) -> float:
        return 1.0 if value != value else 0.0


_ARRAY_OPS = _ArrayOps()
_FLOAT_OPS = _FloatOps()


def _formulas(c: Mapping[str, Any], ops: Any) -> list[Any]:
    """Every feature formula, written once: the unclipped features in ``FEATURES`` order.

    ``c`` maps each of the 17 fields to its values (``NaN`` = missing; non-negative fields already floored at 0)
    as numpy arrays with ``ops = _ARRAY_OPS`` or as floats with ``ops = _FLOAT_OPS``; only ``+ - * /`` and the
    ``ops`` functions are used, so both give the same numbers.
    """
    maximum, fill = ops.maximum, ops.fill

    def div(numerator: Any, denominator: Any) -> Any:
        return numerator / maximum(denominator, DENOMINATOR_FLOOR)

    revenue, total_assets = c["revenue"], c["total_assets"]
    ebit, net_income = c["ebit"], c["net_income"]
    current_assets, current_liabilities = c["current_assets"], c["current_liabilities"]
    total_liabilities, market_value = c["total_liabilities"], c["market_value"]

    # 1. accounting identities fill missing optional items
    gross_profit = fill(c["gross_profit"], revenue - c["cost_of_goods_sold"])
    ebitda = fill(c["ebitda"], revenue - c["operating_expenses"])
    ebitda = fill(ebitda, ebit + c["depreciation_amortization"])
    depreciation = fill(c["depreciation_amortization"], maximum(ebitda - ebit, 0.0))

    # 2. typical proportions for what no identity gives
    market_value_missing = ops.indicator_missing(market_value)
    gross_profit = fill(gross_profit, GROSS_MARGIN * revenue)
    depreciation = fill(depreciation, DEPRECIATION_TO_TOTAL_ASSETS * total_assets)
    ebitda = fill(ebitda, ebit + depreciation)
    inventory = fill(c["inventory"], INVENTORY_SHARE_OF_CURRENT_ASSETS * current_assets)
    receivables = fill(c["receivables"], RECEIVABLES_SHARE_OF_CURRENT_ASSETS * current_assets)
    market_value = fill(market_value, MARKET_TO_BOOK * maximum(total_assets - total_liabilities, 0.0))

    working_capital_ta = div(current_assets - current_liabilities, total_assets)
    retained_earnings_ta = div(c["retained_earnings"], total_assets)
    ebit_ta = div(ebit, total_assets)
    mv_tl = div(market_value, total_liabilities)
    revenue_ta = div(revenue, total_assets)
    x4 = ops.clip(mv_tl, 0.0, 1000.0)
    altman_z = 1.2 * working_capital_ta + 1.4 * retained_earnings_ta + 3.3 * ebit_ta + 0.6 * x4 + 1.0 * revenue_ta

    market_assets = market_value + total_liabilities
    return [
        working_capital_ta,
        retained_earnings_ta,
        ebit_ta,
        mv_tl,
        revenue_ta,
        div(total_liabilities, total_assets),
        div(c["long_term_debt"], total_assets),
        div(current_liabilities, total_assets),
        div(current_assets, current_liabilities),
        div(current_assets - inventory, current_liabilities),
        div(current_assets - inventory - receivables, total_assets),
        div(inventory, total_assets),
        div(receivables, total_assets),
        div(net_income, total_assets),
        div(ebitda, total_assets),
        div(net_income, revenue),
        div(ebit, revenue),
        div(gross_profit, revenue),
        div(depreciation, total_assets),
        div(ebitda, total_liabilities),
        div(market_value, total_assets),
        div(net_income, market_assets),
        div(total_liabilities, market_assets),
        div(current_assets - inventory - receivables, market_assets),
        ops.log1p(market_value),
        ops.log1p(total_assets),
        ops.log1p(revenue),
        altman_z,
        market_value_missing,
    ]


def _column(columns: Mapping[str, Any], field: str, n: int) -> npt.NDArray[np.float64]:
    value = columns.get(field)
    if value is None:
        return np.full(n, np.nan)
    arr = np.asarray(value, dtype=float).reshape(-1)
    if field in NON_NEGATIVE_FIELDS:
        arr = np.maximum(arr, 0.0)  # NaN stays NaN
    return arr


def derive_features(columns: Mapping[str, Any]) -> npt.NDArray[np.float64]:
    """Derive the feature matrix (n rows x ``len(FEATURES)``) from statement items.

    ``columns`` maps field names to equal-length 1-D arrays (``NaN`` = missing) or scalars; absent optional
    fields count as missing. Required fields are assumed validated (see ``validation.py``); a missing required
    item yields NaN features (callers never score such a row).
    """
    n = max((np.size(v) for v in columns.values() if v is not None), default=1)
    c = {f: _column(columns, f, n) for f in FINANCIAL_FIELDS}
    return np.clip(np.column_stack(_formulas(c, _ARRAY_OPS)), _LOWER, _UPPER)


_FIELD_FLOORS: tuple[tuple[str, bool], ...] = tuple((f, f in NON_NEGATIVE_FIELDS) for f in FINANCIAL_FIELDS)
_BOUNDS: tuple[tuple[float, float], ...] = tuple((float(f.lower), float(f.upper)) for f in FEATURES)


def feature_values(financials: Mapping[str, Any]) -> list[float]:
    """Features of one statement as floats in ``FEATURES`` order: :func:`derive_features` of a one-row frame.

    The same formulas (:func:`_formulas`) evaluated on Python floats instead of length-1 arrays, which is
    ~10x faster for a single company; missing items (absent or ``None``) are NaN as in the batch.
    """
    maximum = _FloatOps.maximum
    c: dict[str, float] = {}
    for field, non_negative in _FIELD_FLOORS:
        value = financials.get(field)
        number = math.nan if value is None else float(value)
        c[field] = maximum(number, 0.0) if non_negative else number
    clip = _FloatOps.clip
    return [clip(v, lo, hi) for v, (lo, hi) in zip(_formulas(c, _FLOAT_OPS), _BOUNDS, strict=True)]


def derive_ratios(frame: pd.DataFrame) -> pd.DataFrame:
    """Vectorised features of a DataFrame of statements (one row per statement, same index)."""
    columns = {f: frame[f].to_numpy(dtype=float, na_value=np.nan) for f in FINANCIAL_FIELDS if f in frame.columns}
    if not columns:
        raise ValueError("the frame has none of the financial fields")
    return pd.DataFrame(derive_features(columns), index=frame.index, columns=list(FEATURE_NAMES))


def ratios_for(financials: Mapping[str, Any]) -> dict[str, float | None]:
    """Features of one statement as a JSON-ready dict."""
    return {name: (None if v != v else v) for name, v in zip(FEATURE_NAMES, feature_values(financials), strict=True)}


def feature_row(financials: Mapping[str, Any]) -> npt.NDArray[np.float64]:
    """Feature matrix (1 x k) of one statement (same formulas and values as the batch)."""
    return np.array([feature_values(financials)])
