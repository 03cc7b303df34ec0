"""The base of the project's FilterSets (one per list, shared by the API and the dashboards)."""

from __future__ import annotations

import django_filters
from django.db.models import F


class FilterSet(django_filters.FilterSet):
    """django-filter's ``FilterSet`` with its form class built once per FilterSet class.

    django-filter builds a new form class (``type(...)``) from the filters of every instance, so on every list
    request, although each instance's filters are copies of its class's: 0.8 of the 1.3 ms a prediction filterset
    cost, and each class left cyclic garbage behind. The form (bound data, errors) is still one per instance.
    A filter whose choices depend on the request (a callable ``queryset``) gets a form class per instance, as in
    django-filter; a FilterSet that changes its filters per instance in other ways must not use this base."""

    def get_form_class(self):
        if any(callable(getattr(filter_, "queryset", None)) for filter_ in self.filters.values()):
            return super().get_form_class()  # choices per request: never shared
        filterset_class = type(self)
        form_class = filterset_class.__dict__.get("_form_class")  # this class's own, never a parent's
        if form_class is None:
            form_class = super().get_form_class()
            filterset_class._form_class = form_class
        return form_class


class NullsLastOrderingFilter(django_filters.OrderingFilter):
    """``?ordering=`` where rows without a value come last in both directions, on every database: PostgreSQL puts
    NULLs first when descending and SQLite when ascending. Only ``nullable`` fields get ``NULLS LAST``, so orderings
    on other fields keep using their indexes."""

    def __init__(self, *args, nullable: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.nullable = set(nullable)

    def get_ordering_value(self, param):
        value = super().get_ordering_value(param)
        field_name = value.removeprefix("-")
        if field_name not in self.nullable:
            return value
        if value.startswith("-"):
            return F(field_name).desc(nulls_last=True)
        return F(field_name).asc(nulls_last=True)
