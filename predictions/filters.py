"""The one FilterSet of the prediction lists (API and dashboards)."""

import django_filters
from django.core.exceptions import ValidationError

from companies.filters import RISK_LEVELS

from .models import Prediction


class QuarterFilter(django_filters.CharFilter):
    """``Q1``–``Q4`` or ``1``–``4``."""

    def filter(self, queryset, value):
        if value in (None, ""):
            return queryset
        text = str(value).strip().upper().removeprefix("Q")
        if text not in {"1", "2", "3", "4"}:
            raise ValidationError('reporting_quarter must be "Q1"–"Q4" or 1–4.')
        return queryset.filter(reporting_quarter=int(text))


class PredictionFilter(django_filters.FilterSet):
    company = django_filters.UUIDFilter(field_name="company_id")
    symbol = django_filters.CharFilter(field_name="company__symbol", lookup_expr="iexact", max_length=20)
    sector = django_filters.CharFilter(field_name="company__sector", lookup_expr="iexact", max_length=100)
    reporting_year = django_filters.NumberFilter(field_name="reporting_year")
    reporting_quarter = QuarterFilter()
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
