"""E-mail verification tokens: genuine and fresh, or rejected."""

import time
from datetime import timedelta
from unittest import mock

import pytest
from django.core import signing
from django.test import override_settings

from accounts.tests.factories import UserFactory
from accounts.tokens import (
    EMAIL_VERIFICATION_SALT,
    InvalidEmailVerificationToken,
    email_verification_token_make,
    email_verification_token_read,
)

pytestmark = pytest.mark.django_db


def test_a_token_names_the_user_and_the_address():
    user = UserFactory(email="ada@example.com")
    claim = email_verification_token_read(email_verification_token_make(user=user))
    assert claim.user_id == str(user.pk)
    assert claim.email == "ada@example.com"


def test_a_tampered_token_is_rejected():
    token = email_verification_token_make(user=UserFactory())
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(InvalidEmailVerificationToken):
        email_verification_token_read(tampered)


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a:b:c", "::::"])
def test_garbage_is_rejected(garbage):
    with pytest.raises(InvalidEmailVerificationToken):
        email_verification_token_read(garbage)


def test_a_value_signed_for_another_purpose_is_rejected():
    user = UserFactory()
    other_purpose = signing.dumps({"user_id": str(user.pk), "email": user.email}, salt="something-else")
    with pytest.raises(InvalidEmailVerificationToken):
        email_verification_token_read(other_purpose)


def test_a_signed_value_of_the_wrong_shape_is_rejected():
    with pytest.raises(InvalidEmailVerificationToken):
        email_verification_token_read(signing.dumps(["not", "a", "dict"], salt=EMAIL_VERIFICATION_SALT))
    with pytest.raises(InvalidEmailVerificationToken):
        email_verification_token_read(signing.dumps({"user_id": 1, "email": None}, salt=EMAIL_VERIFICATION_SALT))


@override_settings(ACCUNODE_EMAIL_VERIFICATION_MAX_AGE=timedelta(hours=1))
def test_a_token_expires_after_the_configured_max_age():
    token = email_verification_token_make(user=UserFactory())
    later = time.time() + 3600 + 5
    with mock.patch("django.core.signing.time.time", return_value=later), pytest.raises(InvalidEmailVerificationToken):
        email_verification_token_read(token)
    just_before = time.time() + 3600 - 60
    with mock.patch("django.core.signing.time.time", return_value=just_before):
        assert email_verification_token_read(token).email
