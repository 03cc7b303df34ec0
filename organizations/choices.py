"""Membership roles, ordered: admin > analyst > viewer."""

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    ANALYST = "analyst", "Analyst"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 1, Role.ANALYST: 2, Role.ADMIN: 3}


def role_at_least(role: str, minimum: str) -> bool:
    """Whether ``role`` is ``minimum`` or higher."""
    return ROLE_RANK.get(role, 0) >= ROLE_RANK[minimum]
