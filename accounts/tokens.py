"""Signed, expiring e-mail verification tokens (``django.core.signing``, with a salt of their own).

A token names the user and the address it was sent to, so it stops working if the address changes. It expires
after ``settings.ACCUNODE_EMAIL_VERIFICATION_MAX_AGE``. Nothing is stored: the signature is the proof.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

# A salt of its own: a value signed for any other purpose (sessions, cookies, …) never passes as this token.
EMAIL_VERIFICATION_SALT = "accunode.accounts.email-verification"


class InvalidEmailVerificationToken(Exception):
    """The token is malformed, tampered with, signed for something else, or expired."""


@dataclass(frozen=True)
class EmailVerificationClaim:
    user_id: str
    email: str


def email_verification_token_make(*, user) -> str:
    """A URL-safe token proving that whoever holds it received mail at ``user.email``."""
    return signing.dumps({"user_id": str(user.pk), "email": user.email.lower()}, salt=EMAIL_VERIFICATION_SALT)


def email_verification_token_read(token: str) -> EmailVerificationClaim:
    """The claim inside ``token``; raises ``InvalidEmailVerificationToken`` unless it is genuine and fresh."""
    try:
        payload = signing.loads(
            token, salt=EMAIL_VERIFICATION_SALT, max_age=settings.ACCUNODE_EMAIL_VERIFICATION_MAX_AGE
        )
    except signing.BadSignature as exc:  # SignatureExpired is a BadSignature too
        raise InvalidEmailVerificationToken(str(exc)) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("user_id"), str):
        raise InvalidEmailVerificationToken("Unexpected token payload.")
    if not isinstance(payload.get("email"), str):
        raise InvalidEmailVerificationToken("Unexpected token payload.")
    return EmailVerificationClaim(user_id=payload["user_id"], email=payload["email"])
