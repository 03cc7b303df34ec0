"""Writes of the organizations app: creating organizations, members' roles and removal (never the last admin),
and invitations (creation with their e-mailed token, lookup, acceptance, revocation).

Every function is keyword-only and named ``<entity>_<action>``; API views, dashboards, admin actions and commands
call these and nothing else to change organizations, memberships or invitations.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import partial
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from accunode.api.exceptions import Conflict, NotFound, ValidationFailed
from accunode.queries import unique_or_none

from .audit import audit_event_record
from .choices import Role
from .models import Invitation, Membership, Organization
from .principals import principal_forget

SLUG_FALLBACK = "organization"
# Room left in Organization.slug (max_length 80) for a "-<n>" suffix that makes a taken slug unique.
SLUG_BASE_MAX_LENGTH = 70
SLUG_CREATE_ATTEMPTS = 5

INVALID_INVITATION_MESSAGE = "This invitation is invalid, expired or already used."


def hash_invitation_token(token: str) -> str:
    """The SHA-256 hex digest stored in ``Invitation.token_hash``: the token itself is only ever in the e-mail."""
    return hashlib.sha256(token.encode()).hexdigest()


def _unique_slug(base: str) -> str:
    """``base`` if free, else ``base-2``, ``base-3``, … — the first not taken (one query)."""
    taken = set(Organization.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


@transaction.atomic
def organization_create(*, name: str, created_by) -> Organization:
    """Create an organization with a unique slug derived from ``name``; ``created_by`` becomes its admin.

    Two concurrent creations may pick the same slug; the loser's insert fails on the unique constraint inside a
    savepoint and it picks the next free one.
    """
    base = slugify(name)[:SLUG_BASE_MAX_LENGTH].strip("-") or SLUG_FALLBACK
    for attempt in range(SLUG_CREATE_ATTEMPTS):
        try:
            with transaction.atomic():
                organization = Organization.objects.create(name=name, slug=_unique_slug(base))
            break
        except IntegrityError:
            if attempt == SLUG_CREATE_ATTEMPTS - 1:
                raise
    membership = Membership.objects.create(organization=organization, user=created_by, role=Role.ADMIN)
    audit_event_record(organization=organization, actor=created_by, action="create", target=organization)
    audit_event_record(
        organization=organization, actor=created_by, action="create", target=membership, changes={"role": Role.ADMIN}
    )
    return organization


def invitation_get_pending_by_token(*, token: str, for_update: bool = False) -> Invitation | None:
    """The pending (not accepted, not expired) invitation whose token is ``token``, or ``None``.

    ``for_update`` locks the row, so that two acceptances of the same invitation cannot both succeed.
    """
    if not token:
        return None
    invitations = Invitation.objects.select_related("organization")
    if for_update:
        invitations = invitations.select_for_update(of=("self",))
    invitation = invitations.filter(token_hash=hash_invitation_token(token)).first()
    if invitation is None or not invitation.is_pending:
        return None
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user) -> Membership:
    """``user`` joins the invitation's organization with the invited role; the invitation is used up.

    Raises ``ValidationFailed`` (details under ``invitation_token``) when the token is unknown, expired or already
    used, and (details under ``email``) when ``user``'s e-mail is not the invited one (compared case-insensitively).
    """
    invitation = invitation_get_pending_by_token(token=token, for_update=True)
    if invitation is None:
        raise ValidationFailed(INVALID_INVITATION_MESSAGE, details={"invitation_token": [INVALID_INVITATION_MESSAGE]})
    if invitation.email.strip().lower() != user.email.strip().lower():
        message = "This invitation was sent to a different e-mail address."
        raise ValidationFailed(message, details={"email": [message]})
    # Someone who is already a member keeps their role: accepting an invitation never demotes (e.g. the last admin).
    membership, created = Membership.objects.get_or_create(
        organization=invitation.organization, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit_event_record(organization=invitation.organization, actor=user, action="update", target=invitation)
    if created:
        audit_event_record(
            organization=invitation.organization,
            actor=user,
            action="create",
            target=membership,
            changes={"role": membership.role},
        )
    return membership


# --- Members and invitations of an organization (admin only at every door) --------------------------------------------


def _ensure_another_admin(membership: Membership) -> None:
    """Refuse to take away the admin role of ``membership`` when it is the organization's last admin.

    The organization's admin rows are locked first, so two concurrent demotions or removals of its last two admins
    cannot both pass the check.
    """
    admin_ids = list(
        Membership.objects.select_for_update()
        .filter(organization_id=membership.organization_id, role=Role.ADMIN)
        .values_list("pk", flat=True)
    )
    if not set(admin_ids) - {membership.pk}:
        raise Conflict(
            "An organization needs at least one admin: promote another member before demoting or removing this one."
        )


def _save_changes(stored, changes: dict) -> dict[str, list]:
    """Set on ``stored`` the ``changes`` that differ and save just those fields: ``{field: [before, after]}``."""
    changed = {
        name: [getattr(stored, name), value] for name, value in changes.items() if getattr(stored, name) != value
    }
    for name, (_, value) in changed.items():
        setattr(stored, name, value)
    if changed:
        stored.save(update_fields=list(changed))
    return changed


@transaction.atomic
def organization_add(*, name: str, slug: str, actor) -> Organization:
    """Create an organization as platform staff do in Django admin: the slug they chose, no member yet; audited."""
    organization = Organization.objects.create(name=name, slug=slug)
    audit_event_record(organization=organization, actor=actor, action="create", target=organization)
    return organization


@transaction.atomic
def organization_update(*, organization: Organization, actor, **changes) -> Organization:
    """Change an organization's ``name`` (and, for platform staff, its ``slug``); audited with what changed."""
    stored = Organization.objects.select_for_update().get(pk=organization.pk)
    changed = _save_changes(stored, changes)
    if changed:
        audit_event_record(organization=stored, actor=actor, action="update", target=stored, changes=changed)
    return stored


@transaction.atomic
def membership_add(*, organization: Organization, user, role: str, actor) -> Membership:
    """Make ``user`` a member of ``organization`` with ``role`` directly (platform staff; members otherwise join
    through invitations); audited. Already a member → ``Conflict``."""
    if Membership.objects.filter(organization=organization, user=user).exists():
        raise Conflict("This user is already a member of the organization.")
    membership = Membership.objects.create(organization=organization, user=user, role=role)
    audit_event_record(
        organization=organization, actor=actor, action="create", target=membership, changes={"role": role}
    )
    return membership


def _locked_role(membership: Membership) -> str:
    role = Membership.objects.select_for_update().filter(pk=membership.pk).values_list("role", flat=True).first()
    if role is None:
        raise NotFound("Member not found.")
    return role


@transaction.atomic
def membership_update_role(*, membership: Membership, role: str, actor) -> Membership:
    """Give ``membership`` the role ``role``; the last admin of an organization cannot be demoted (``Conflict``)."""
    if role not in Role.values:
        raise ValidationFailed(details={"role": [f"Must be one of {', '.join(Role.values)}."]})
    current_role = _locked_role(membership)
    if current_role == Role.ADMIN and role != Role.ADMIN:
        _ensure_another_admin(membership)
    membership.role = role
    if current_role != role:
        membership.save(update_fields=["role"])  # a save, so the principal cache forgets the member (signal)
        audit_event_record(
            organization=membership.organization,
            actor=actor,
            action="update",
            target=membership,
            changes={"role": [current_role, role]},
        )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor) -> None:
    """Remove a member from the organization; the last admin cannot be removed (``Conflict``). A user whose default
    organization this was has it cleared (they fall back to another membership, if any)."""
    if _locked_role(membership) == Role.ADMIN:
        _ensure_another_admin(membership)
    audit_event_record(organization=membership.organization, actor=actor, action="delete", target=membership)
    Membership.objects.filter(pk=membership.pk).delete()
    get_user_model().objects.filter(pk=membership.user_id, default_organization_id=membership.organization_id).update(
        default_organization=None
    )
    principal_forget([membership.user_id])


def invitation_link(token: str) -> str:
    """The dashboard's registration page with the invitation token (the API's ``register`` takes the same token)."""
    return f"{settings.ACCUNODE_PUBLIC_URL}/register?{urlencode({'invitation_token': token})}"


def _invitation_email_send(*, invitation: Invitation, token: str) -> None:
    inviter = invitation.invited_by.get_full_name() if invitation.invited_by else "An administrator"
    send_mail(
        subject=f"You are invited to join {invitation.organization.name} on AccuNode",
        message=(
            f"{inviter} invited you to join {invitation.organization.name} on AccuNode as {invitation.role}.\n\n"
            f"Accept the invitation by registering here:\n{invitation_link(token)}\n\n"
            f"The link expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC. "
            "If you did not expect this invitation, ignore this e-mail."
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )


@transaction.atomic
def invitation_create(*, organization: Organization, email: str, role: str, invited_by) -> Invitation:
    """Invite ``email`` to ``organization`` with ``role``: a random token whose SHA-256 only is stored, valid for
    ``settings.ACCUNODE_INVITATION_TTL``, e-mailed once the transaction commits.

    ``Conflict`` (details ``existing_id``) when the address already belongs to a member (the user's id) or already has
    a pending invitation to this organization (that invitation's id; revoke it to invite again).
    """
    email = email.strip().lower()
    if role not in Role.values:
        raise ValidationFailed(details={"role": [f"Must be one of {', '.join(Role.values)}."]})
    existing_member_id = (
        Membership.objects.filter(organization=organization, user__email__iexact=email)
        .values_list("user_id", flat=True)
        .first()
    )
    if existing_member_id is not None:
        raise Conflict(
            f"{email} is already a member of {organization.name}.", details={"existing_id": str(existing_member_id)}
        )
    pending = (
        Invitation.objects.filter(
            organization=organization, email__iexact=email, accepted_at__isnull=True, expires_at__gt=timezone.now()
        )
        .values_list("id", flat=True)
        .first()
    )
    if pending is not None:
        raise Conflict(
            f"{email} already has a pending invitation to {organization.name}.", details={"existing_id": str(pending)}
        )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        token_hash=hash_invitation_token(token),
        invited_by=invited_by if getattr(invited_by, "pk", None) else None,
        expires_at=timezone.now() + settings.ACCUNODE_INVITATION_TTL,
    )
    audit_event_record(
        organization=organization, actor=invited_by, action="create", target=invitation, changes={"role": role}
    )
    # Only once the invitation exists for others to see; a failing mail server must not undo the invitation.
    transaction.on_commit(partial(_invitation_email_send, invitation=invitation, token=token), robust=True)
    return invitation


@transaction.atomic
def invitation_update(*, invitation: Invitation, actor, **changes) -> Invitation:
    """Change a pending invitation's ``role`` or ``expires_at``; audited. An accepted one is ``Conflict``."""
    stored = unique_or_none(Invitation.objects.select_for_update().filter(pk=invitation.pk))
    if stored is None:
        raise NotFound("Invitation not found.")
    if stored.accepted_at is not None:
        raise Conflict("This invitation was already accepted; change the member's role instead.")
    changed = _save_changes(stored, changes)
    if changed:
        audit_event_record(
            organization=stored.organization,
            actor=actor,
            action="update",
            target=stored,
            changes={field: [str(before), str(after)] for field, (before, after) in changed.items()},
        )
    return stored


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor) -> None:
    """Revoke an invitation that has not been accepted: its token stops working. An accepted one is ``Conflict``."""
    rows = list(Invitation.objects.select_for_update().filter(pk=invitation.pk).values_list("accepted_at", flat=True))
    if not rows:
        raise NotFound("Invitation not found.")
    if rows[0] is not None:
        raise Conflict("This invitation was already accepted; remove the member instead.")
    audit_event_record(organization=invitation.organization, actor=actor, action="delete", target=invitation)
    Invitation.objects.filter(pk=invitation.pk).delete()
