"""Reads of the organizations app: an organization with its member count, its members and pending invitations.

Every read of tenant-owned rows goes through ``scoping.scope_to_organization``; a row of another organization is
``NotFound``, exactly like a row that does not exist.
"""

from __future__ import annotations

import uuid

from django.db.models import Count, QuerySet
from django.utils import timezone

from accunode.api.exceptions import NotFound

from .choices import Role
from .models import Invitation, Membership, Organization
from .scoping import scope_to_organization


def organization_get_with_member_count(*, organization: Organization) -> Organization:
    """``organization`` fresh from the database, annotated with ``member_count``."""
    return Organization.objects.annotate(member_count=Count("memberships")).get(pk=organization.pk)


def membership_list(*, organization: Organization) -> QuerySet[Membership]:
    """The organization's members with their users (one query however many), by e-mail."""
    return scope_to_organization(Membership.objects.select_related("user"), organization).order_by("user__email")


def membership_get(*, organization: Organization, user_id: uuid.UUID) -> Membership:
    """The membership of ``user_id`` in ``organization``; ``NotFound`` for unknown users and other orgs' users."""
    membership = membership_list(organization=organization).filter(user_id=user_id).first()
    if membership is None:
        raise NotFound("Member not found.")
    return membership


def invitation_list_pending(*, organization: Organization) -> QuerySet[Invitation]:
    """Invitations of the organization that are neither accepted nor expired, newest first."""
    return (
        scope_to_organization(Invitation.objects.all(), organization)
        .filter(accepted_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("-created_at")
    )


def invitation_get(*, organization: Organization, invitation_id: uuid.UUID) -> Invitation:
    """One invitation of the organization (pending, expired or accepted); ``NotFound`` otherwise."""
    invitation = scope_to_organization(Invitation.objects.all(), organization).filter(id=invitation_id).first()
    if invitation is None:
        raise NotFound("Invitation not found.")
    return invitation


def memberships_leaving_no_admin(*, memberships: list[Membership]) -> list[Membership]:
    """Those of ``memberships`` (removed or demoted together) that are the last admins of their organization."""
    admins_by_organization: dict = {}
    for membership in memberships:
        if membership.role == Role.ADMIN:
            admins_by_organization.setdefault(membership.organization_id, set()).add(membership.pk)
    last_admins = []
    for organization_id, pks in admins_by_organization.items():
        others = Membership.objects.filter(organization_id=organization_id, role=Role.ADMIN).exclude(pk__in=pks)
        if not others.exists():
            last_admins += [membership for membership in memberships if membership.pk in pks]
    return last_admins
