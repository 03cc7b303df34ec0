"""Factories and sample statements for companies and predictions."""

import copy

import factory

from companies.models import Company
from organizations.tests.factories import OrganizationFactory

# The example statement of API.md (USD millions).
SAMPLE_FINANCIALS = {
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


def sample_financials(**overrides) -> dict:
    data = copy.deepcopy(SAMPLE_FINANCIALS)
    data.update(overrides)
    return data


def prediction_payload(symbol="ACME", year=2023, quarter=None, **financial_overrides) -> dict:
    payload = {
        "company": {"symbol": symbol, "name": f"{symbol} Corp", "sector": "Industrials"},
        "reporting_year": year,
        "financials": sample_financials(**financial_overrides),
    }
    if quarter is not None:
        payload["reporting_quarter"] = quarter
    return payload


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    organization = factory.SubFactory(OrganizationFactory)
    symbol = factory.Sequence(lambda n: f"SYM{n}")
    name = factory.Sequence(lambda n: f"Company {n}")
    sector = "Industrials"
