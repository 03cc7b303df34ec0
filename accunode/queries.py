"""Query helpers shared by the apps' selectors and services."""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, QuerySet

ModelT = TypeVar("ModelT", bound=Model)


def unique_or_none(queryset: QuerySet[ModelT]) -> ModelT | None:
    """The row a look-up on a unique key finds, or ``None``.

    ``first()`` would add an ``ORDER BY`` (the model's default ordering, else the primary key) that a unique look-up
    does not need: building it costs more than the rest of the query in Python, and PostgreSQL may pick the ordering's
    index over the unique one."""
    return next(iter(queryset.order_by()[:1]), None)
