"""The one FilterSet of the company list (API and dashboards)."""

import django_filters
from django.db.models import Q

from accunode.filtersets import FilterSet, NullsLastOrderingFilter

from .models import Company

RISK_LEVELS = [("LOW", "LOW"), ("MEDIUM", "MEDIUM"), ("HIGH", "HIGH"), ("CRITICAL", "CRITICAL")]


class CompanyFilter(FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=100, label="Symbol or name contains")
    sector = django_filters.CharFilter(field_name="sector", lookup_expr="iexact", max_length=100)
    risk_level = django_filters.ChoiceFilter(
        field_name="latest_annual_risk_level", choices=RISK_LEVELS, label="Risk level of the latest annual prediction"
    )
    ordering = NullsLastOrderingFilter(
        fields=(
            ("name", "name"),
            ("symbol", "symbol"),
            ("created_at", "created_at"),
            ("latest_annual_probability", "latest_probability"),
        ),
        nullable=("latest_annual_probability",),  # companies without an annual prediction come last either way
    )

    class Meta:
        model = Company
        fields = ["search", "sector", "risk_level"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(symbol__icontains=value) | Q(name__icontains=value))
