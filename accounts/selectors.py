"""Reads of the accounts app: a user's profile, organizations and lookups by e-mail."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from organizations.models import Membership
from organizations.principals import user_memberships as cached_memberships
from organizations.scoping import resolve_membership

from .models import User


@dataclass(frozen=True)
class Profile:
    """What ``users/profile/`` shows: the user, every membership, and the membership active for this request."""

    user: User
    memberships: list[Membership]
    active_membership: Membership | None


def user_get_by_email(*, email: str) -> User | None:
    """The user whose e-mail is ``email``, compared case-insensitively."""
    return User.objects.filter(email__iexact=email.strip()).first()


def user_email_taken(*, email: str) -> bool:
    return User.objects.filter(email__iexact=email.strip()).exists()


def user_memberships(*, user: User) -> QuerySet[Membership]:
    """The user's memberships with their organizations, by organization name."""
    return Membership.objects.filter(user=user).select_related("organization").order_by("organization__name", "pk")


def profile_get(*, user: User, organization_id: str | None = None) -> Profile:
    """The profile of ``user`` with the active organization of ``organization_id`` (the ``X-Organization`` header)
    or, without one, of the user's default.

    A user who belongs to no organization has no active organization (``None``) unless they name one, which is
    403 like every ``X-Organization`` naming an organization the user is not a member of.
    """
    memberships = sorted(
        cached_memberships(user),
        key=lambda membership: (membership.organization.name.casefold(), membership.organization.name, membership.pk),
    )
    if not memberships and not organization_id:
        return Profile(user=user, memberships=[], active_membership=None)
    active = resolve_membership(user, organization_id)  # raises PermissionDeniedError for a non-member id
    return Profile(user=user, memberships=memberships, active_membership=active)
