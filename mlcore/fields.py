"""The 17 financial statement fields of the API, grouped once for validation, features and training.

Amounts are in USD millions (the unit of the training data, see ``API.md``).
"""

from __future__ import annotations

REQUIRED_FIELDS: tuple[str, ...] = (
    "revenue",
    "ebit",
    "net_income",
    "current_assets",
    "total_assets",
    "current_liabilities",
    "long_term_debt",
    "total_liabilities",
    "retained_earnings",
)
"""Fields every statement must carry (``total_assets`` must also be > 0)."""

OPTIONAL_FIELDS: tuple[str, ...] = (
    "cost_of_goods_sold",
    "gross_profit",
    "operating_expenses",
    "ebitda",
    "depreciation_amortization",
    "inventory",
    "receivables",
    "market_value",
)
"""Fields that may be null or absent (``market_value`` is absent for private firms)."""

FINANCIAL_FIELDS: tuple[str, ...] = REQUIRED_FIELDS + OPTIONAL_FIELDS
"""All 17 accepted fields; anything else is rejected."""

NON_NEGATIVE_FIELDS: frozenset[str] = frozenset(
    {
        # balances
        "current_assets",
        "total_assets",
        "current_liabilities",
        "long_term_debt",
        "total_liabilities",
        "inventory",
        "receivables",
        # revenue and costs
        "revenue",
        "cost_of_goods_sold",
        "operating_expenses",
        "depreciation_amortization",
        "market_value",
    }
)
"""Fields that must be >= 0; income items (gross_profit, ebitda, ebit, net_income, retained_earnings) may be < 0."""

POSITIVE_FIELDS: frozenset[str] = frozenset({"total_assets"})
"""Fields that must be strictly > 0 (they are denominators of most ratios)."""

MAX_ABS_VALUE: float = 1e9
"""Every amount must satisfy |x| < MAX_ABS_VALUE (USD millions)."""

FLOW_FIELDS: tuple[str, ...] = (
    "revenue",
    "cost_of_goods_sold",
    "gross_profit",
    "operating_expenses",
    "ebitda",
    "depreciation_amortization",
    "ebit",
    "net_income",
)
"""Income-statement items (summed over a period; annualized for quarterly statements)."""

BALANCE_FIELDS: tuple[str, ...] = tuple(f for f in FINANCIAL_FIELDS if f not in FLOW_FIELDS)
"""Point-in-time items (taken from the latest quarter when annualizing)."""

KINDS: tuple[str, ...] = ("annual", "quarterly")

EXAMPLE_FINANCIALS: dict[str, float] = {
    "revenue": 1024.3,
    "cost_of_goods_sold": 833.1,
    "gross_profit": 191.2,
    "operating_expenses": 935.3,
    "ebitda": 89.0,
    "depreciation_amortization": 18.4,
    "ebit": 70.7,
    "net_income": 35.2,
    "current_assets": 511.3,
    "inventory": 336.0,
    "receivables": 128.3,
    "total_assets": 741.0,
    "current_liabilities": 163.8,
    "long_term_debt": 180.4,
    "total_liabilities": 401.5,
    "retained_earnings": 201.0,
    "market_value": 372.8,
}
"""The example statement of ``API.md`` (a typical company): shared by tests, benchmarks and docs. Copy before use."""
