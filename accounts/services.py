"""Writes of the accounts app: registration, e-mail verification, login tokens, refresh, logout, password, profile.

Every function is keyword-only and named ``<entity>_<action>``. They raise ``ApplicationError`` subclasses (and
simplejwt's ``TokenError`` for bad tokens, which the API answers as 401 ``token_not_valid``); the API views, and
any other door, only translate requests into these calls.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from accunode.api.exceptions import AuthenticationFailedError, Conflict, EmailNotVerified, ValidationFailed
from organizations.services import invitation_accept, organization_create

from .models import User
from .selectors import user_email_taken
from .tokens import InvalidEmailVerificationToken, email_verification_token_make, email_verification_token_read

logger = logging.getLogger(__name__)

INVALID_VERIFICATION_TOKEN_MESSAGE = "This verification link is invalid or has expired."  # noqa: S105 (a message)


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    expires_in: int  # seconds the access token lives


def _password_errors(password: str, *, user: User) -> list[str]:
    """The messages of Django's password validators (settings.AUTH_PASSWORD_VALIDATORS) for ``password``."""
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        return list(exc.messages)
    return []


def _normalize_email(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


def _email_taken_error() -> Conflict:
    message = "An account with this e-mail address already exists."
    return Conflict(message, details={"email": [message]})


# --- Registration and e-mail verification -----------------------------------------------------------------------------
@transaction.atomic
def user_register(
    *,
    email: str,
    password: str,
    full_name: str,
    organization_name: str | None = None,
    invitation_token: str | None = None,
) -> User:
    """Create an account, with exactly one of ``organization_name`` or ``invitation_token``.

    - ``organization_name``: a new organization (unique slug) is created, the user is its admin and it becomes
      their default organization. A verification e-mail is sent (after commit) with a link to
      ``{ACCUNODE_PUBLIC_URL}/verify-email?token=…``; the user cannot log in before following it.
    - ``invitation_token``: the pending invitation is accepted, the user joins with the invited role and that
      organization becomes their default. The e-mail must be the invited one (case-insensitive). Since the token
      arrived in that mailbox, holding it proves the address: the user is created ``email_verified=True`` and no
      verification e-mail is sent.

    Raises ``ValidationFailed`` (password policy, missing/both choices, bad invitation) and ``Conflict`` (e-mail
    already registered, compared case-insensitively). Everything happens in one transaction: a failure leaves
    no user, organization or membership behind.
    """
    email = _normalize_email(email)
    full_name = full_name.strip()
    organization_name = (organization_name or "").strip() or None
    invitation_token = (invitation_token or "").strip() or None
    if bool(organization_name) == bool(invitation_token):
        message = "Give exactly one of organization_name (to create an organization) or invitation_token (to join one)."
        raise ValidationFailed(message, details={"non_field_errors": [message]})

    user = User(email=email, full_name=full_name)
    password_errors = _password_errors(password, user=user)
    if password_errors:
        raise ValidationFailed("The password is too weak.", details={"password": password_errors})
    if user_email_taken(email=email):
        raise _email_taken_error()

    user.set_password(password)
    user.email_verified = invitation_token is not None
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError:  # registered concurrently between the check and the insert
        raise _email_taken_error() from None

    if invitation_token:
        organization = invitation_accept(token=invitation_token, user=user).organization
    else:
        organization = organization_create(name=organization_name, created_by=user)
    user.default_organization = organization
    user.save(update_fields=["default_organization"])

    if not user.email_verified:
        # After commit: no mail for a registration that rolled back; robust: a mail outage never fails the request.
        transaction.on_commit(partial(email_verification_send, user=user), robust=True)
    return user


def email_verification_link(*, user: User) -> str:
    return f"{settings.ACCUNODE_PUBLIC_URL}/verify-email?token={email_verification_token_make(user=user)}"


def email_verification_send(*, user: User) -> None:
    """Send ``user`` the link that verifies their e-mail address."""
    link = email_verification_link(user=user)
    max_age_hours = int(settings.ACCUNODE_EMAIL_VERIFICATION_MAX_AGE.total_seconds() // 3600)
    body = (
        f"Hello {user.get_short_name()},\n\n"
        f"Please confirm your e-mail address for AccuNode by opening this link:\n\n{link}\n\n"
        f"The link is valid for {max_age_hours} hours. If you did not create an account, ignore this message.\n"
    )
    send_mail("Confirm your AccuNode e-mail address", body, None, [user.email])


@transaction.atomic
def user_accept_invitation(*, user: User, token: str):
    """An existing user joins the organization of an invitation sent to their e-mail address; returns the
    membership. Their default organization is set when they had none."""
    membership = invitation_accept(token=token, user=user)
    if user.default_organization_id is None:
        user.default_organization = membership.organization
        user.save(update_fields=["default_organization"])
    return membership


def user_verify_email(*, token: str) -> User:
    """Mark the user named by an e-mail verification token as verified (idempotent).

    Raises ``ValidationFailed`` with details under ``token`` when it is malformed, tampered with, expired, or was
    issued for an address the account no longer has.
    """
    try:
        claim = email_verification_token_read(token)
    except InvalidEmailVerificationToken:
        claim = None
    user = User.objects.filter(pk=claim.user_id).first() if claim else None
    if user is None or user.email.lower() != claim.email:
        raise ValidationFailed(
            INVALID_VERIFICATION_TOKEN_MESSAGE, details={"token": [INVALID_VERIFICATION_TOKEN_MESSAGE]}
        )
    if not user.email_verified:
        user.email_verified = True
        user.save(update_fields=["email_verified"])
    return user


# --- JWT: login, refresh, logout --------------------------------------------------------------------------------------
def user_token_pair_issue(*, user: User) -> TokenPair:
    """A new refresh token (recorded as outstanding, so it can be revoked) and its access token."""
    refresh = RefreshToken.for_user(user)
    return TokenPair(
        access=str(refresh.access_token),
        refresh=str(refresh),
        expires_in=int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
    )


def user_login(*, email: str, password: str, request=None) -> tuple[User, TokenPair]:
    """Check the credentials and issue tokens.

    Wrong e-mail or password, or an inactive account → ``AuthenticationFailedError`` (the same answer for all
    three, so the response does not reveal which accounts exist). Only once the password is right does an
    unverified address give ``EmailNotVerified``.
    """
    user = authenticate(request, email=_normalize_email(email), password=password)
    if user is None:
        raise AuthenticationFailedError()
    if not user.email_verified:
        raise EmailNotVerified()
    if jwt_settings.UPDATE_LAST_LOGIN:
        update_last_login(None, user)
    return user, user_token_pair_issue(user=user)


@transaction.atomic
def user_token_refresh(*, refresh: str) -> dict[str, str]:
    """Exchange a refresh token for ``{"access", "refresh"}``: simplejwt rotates it and blacklists the old one.

    Before that: the old token's outstanding row is locked, so two concurrent refreshes with one token cannot both
    succeed; and the token must belong to an existing, active user whose password has not changed since it was
    issued. Any failure raises ``TokenError`` (401 ``token_not_valid``).
    """
    token = RefreshToken(refresh)  # signature, expiry, type and blacklist
    list(OutstandingToken.objects.select_for_update(of=("self",)).order_by().filter(jti=token[jwt_settings.JTI_CLAIM]))
    user = User.objects.filter(**{jwt_settings.USER_ID_FIELD: token.get(jwt_settings.USER_ID_CLAIM)}).first()
    if user is None or not jwt_settings.USER_AUTHENTICATION_RULE(user):
        raise TokenError("The token's user does not exist or is inactive.")
    if jwt_settings.CHECK_REVOKE_TOKEN and token.get(jwt_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(
        user.password
    ):
        raise TokenError("The token was revoked by a password change.")
    # simplejwt re-reads the token after the lock, so a concurrent rotation is seen as "blacklisted" here.
    serializer = TokenRefreshSerializer(data={"refresh": refresh})
    serializer.is_valid(raise_exception=True)
    return {"access": serializer.validated_data["access"], "refresh": serializer.validated_data["refresh"]}


def user_logout(*, refresh: str) -> None:
    """Revoke one refresh token (``TokenError`` when it is invalid, expired or already revoked)."""
    RefreshToken(refresh).blacklist()


def user_refresh_tokens_revoke(*, user: User) -> int:
    """Blacklist every outstanding refresh token of ``user``; returns how many were newly revoked."""
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    return len(created)


# --- Password and profile ---------------------------------------------------------------------------------------------
@transaction.atomic
def user_change_password(*, user: User, current_password: str, new_password: str) -> None:
    """Replace the password after checking the current one, then revoke every session of the user.

    Refresh tokens are blacklisted; access tokens stop working as well because each carries a hash of the
    password it was issued under (``SIMPLE_JWT["CHECK_REVOKE_TOKEN"]``).
    """
    if not user.check_password(current_password):
        message = "The current password is incorrect."
        raise ValidationFailed(message, details={"current_password": [message]})
    password_errors = _password_errors(new_password, user=user)
    if password_errors:
        raise ValidationFailed("The new password is too weak.", details={"new_password": password_errors})
    user.set_password(new_password)
    user.save(update_fields=["password"])
    user_refresh_tokens_revoke(user=user)


def profile_update(*, user: User, full_name: str | None = None) -> User:
    """Update the user's own editable profile fields; only ``full_name`` is editable."""
    if full_name is not None:
        user.full_name = full_name.strip()
        user.save(update_fields=["full_name"])
    return user
