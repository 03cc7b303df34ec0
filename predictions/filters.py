"""The one FilterSet of the prediction lists (API and dashboards)."""

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from accunode.filtersets import FilterSet
from companies.filters import RISK_LEVELS

from .models import Prediction


class QuarterFormField(forms.CharField):
    """``Q1``–``Q4`` or ``1``–``4`` → 1–4."""

    def clean(self, value):
        value = super().clean(value)
        if value in (None, ""):
            return None
        text = str(value).strip().upper().removeprefix("Q")
        if text not in {"1", "2", "3", "4"}:
            raise forms.ValidationError('Must be "Q1"–"Q4" or 1–4.')
        return int(text)


@extend_schema_field({"type": "string", "enum": ["Q1", "Q2", "Q3", "Q4", "1", "2", "3", "4"]})
class QuarterFilter(django_filters.Filter):
    field_class = QuarterFormField


class IntegerFilter(django_filters.NumberFilter):
    """A whole number (``2023``): ``2023.5`` is a 400, where ``NumberFilter`` truncates it for an integer column."""

    field_class = forms.IntegerField


class PredictionFilter(FilterSet):
    company = django_filters.UUIDFilter(field_name="company_id")
    symbol = django_filters.CharFilter(field_name="company__symbol", lookup_expr="iexact", max_length=20)
    sector = django_filters.CharFilter(field_name="company__sector", lookup_expr="iexact", max_length=100)
    reporting_year = IntegerFilter(field_name="reporting_year")
    reporting_quarter = QuarterFilter(field_name="reporting_quarter", label="Q1–Q4 or 1–4.")
    risk_level = django_filters.ChoiceFilter(choices=RISK_LEVELS)
    min_probability = django_filters.NumberFilter(field_name="probability", lookup_expr="gte")
    max_probability = django_filters.NumberFilter(field_name="probability", lookup_expr="lte")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    ordering = django_filters.OrderingFilter(
        fields=(("probability", "probability"), ("reporting_year", "reporting_year"), ("created_at", "created_at"))
    )

    class Meta:
        model = Prediction
        fields = [
            "company",
            "symbol",
            "sector",
            "reporting_year",
            "reporting_quarter",
            "risk_level",
            "min_probability",
            "max_probability",
            "created_after",
        ]
