"""Services of accounts (and the organization services they rely on): registration, verification, tokens,
passwords, profile."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.services import (
    profile_update,
    user_change_password,
    user_login,
    user_logout,
    user_refresh_tokens_revoke,
    user_register,
    user_token_pair_issue,
    user_token_refresh,
    user_verify_email,
)
from accounts.tests.factories import DEFAULT_TEST_PASSWORD, UserFactory
from accounts.tokens import email_verification_token_make
from accunode.api.exceptions import AuthenticationFailedError, Conflict, EmailNotVerified, ValidationFailed
from organizations.choices import Role
from organizations.models import AuditEvent, Invitation, Membership, Organization
from organizations.services import (
    hash_invitation_token,
    invitation_accept,
    invitation_get_pending_by_token,
    organization_create,
)
from organizations.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "a-much-better-passphrase-91"


def make_invitation(
    *,
    organization=None,
    email="invitee@example.com",
    role=Role.ANALYST,
    token="invite-token-1",
    expires_in=timedelta(days=7),
    accepted=False,
) -> Invitation:
    return Invitation.objects.create(
        organization=organization or OrganizationFactory(),
        email=email,
        role=role,
        token_hash=hash_invitation_token(token),
        expires_at=timezone.now() + expires_in,
        accepted_at=timezone.now() if accepted else None,
    )


# --- organization_create ----------------------------------------------------------------------------------------------
def test_organization_create_makes_the_creator_admin():
    user = UserFactory()
    organization = organization_create(name="Acme Capital", created_by=user)
    assert organization.slug == "acme-capital"
    assert Membership.objects.get(organization=organization, user=user).role == Role.ADMIN


def test_organization_create_suffixes_a_taken_slug():
    user = UserFactory()
    slugs = [organization_create(name="Acme Capital", created_by=user).slug for _ in range(3)]
    assert slugs == ["acme-capital", "acme-capital-2", "acme-capital-3"]


def test_organization_create_falls_back_for_names_without_slug_characters_and_truncates_long_ones():
    user = UserFactory()
    assert organization_create(name="株式会社", created_by=user).slug == "organization"
    long_slug = organization_create(name="x" * 255, created_by=user).slug  # the longest name the API takes
    assert len(long_slug) <= 80


def test_organization_create_retries_when_a_concurrent_insert_takes_the_slug(monkeypatch):
    import organizations.services as organization_services

    user = UserFactory()
    OrganizationFactory(slug="acme")
    picks = iter(["acme", "acme-2"])  # the first pick lost a race: it is taken by the time of the insert
    monkeypatch.setattr(organization_services, "_unique_slug", lambda base: next(picks))
    assert organization_create(name="Acme", created_by=user).slug == "acme-2"


# --- invitations ------------------------------------------------------------------------------------------------------
def test_invitation_lookup_finds_only_pending_invitations():
    pending = make_invitation(token="pending")
    make_invitation(token="expired", expires_in=timedelta(seconds=-1))
    make_invitation(token="used", accepted=True)
    assert invitation_get_pending_by_token(token="pending") == pending
    assert invitation_get_pending_by_token(token="expired") is None
    assert invitation_get_pending_by_token(token="used") is None
    assert invitation_get_pending_by_token(token="unknown") is None
    assert invitation_get_pending_by_token(token="") is None


def test_invitation_accept_joins_with_the_invited_role_once():
    invitation = make_invitation(email="Invitee@Example.com", role=Role.VIEWER, token="tok")
    user = UserFactory(email="invitee@example.com")
    membership = invitation_accept(token="tok", user=user)
    assert (membership.organization, membership.role) == (invitation.organization, Role.VIEWER)
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    with pytest.raises(ValidationFailed) as excinfo:
        invitation_accept(token="tok", user=user)
    assert "invitation_token" in excinfo.value.details


def test_invitation_accept_refuses_another_address():
    make_invitation(email="invitee@example.com", token="tok")
    with pytest.raises(ValidationFailed) as excinfo:
        invitation_accept(token="tok", user=UserFactory(email="someone-else@example.com"))
    assert "email" in excinfo.value.details


def test_invitation_accept_never_demotes_an_existing_member():
    invitation = make_invitation(email="boss@example.com", role=Role.VIEWER, token="tok")
    boss = UserFactory(email="boss@example.com")
    Membership.objects.create(organization=invitation.organization, user=boss, role=Role.ADMIN)
    assert invitation_accept(token="tok", user=boss).role == Role.ADMIN


# --- user_register ----------------------------------------------------------------------------------------------------
def test_register_with_an_organization(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user = user_register(
            email="  Ada@Example.COM ", password=STRONG_PASSWORD, full_name=" Ada Lovelace ", organization_name="Acme"
        )
    assert user.email == "ada@example.com"
    assert user.full_name == "Ada Lovelace"
    assert user.check_password(STRONG_PASSWORD)
    assert not user.email_verified
    assert user.default_organization.slug == "acme"
    assert Membership.objects.get(user=user).role == Role.ADMIN
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]
    assert "http://testserver/verify-email?token=" in mail.outbox[0].body


def test_register_sends_no_mail_before_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        user_register(email="ada@example.com", password=STRONG_PASSWORD, full_name="Ada", organization_name="Acme")
        assert mail.outbox == []
    assert mail.outbox == []
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1


def test_register_with_an_invitation_is_verified_and_sends_no_mail(django_capture_on_commit_callbacks):
    invitation = make_invitation(email="Invitee@Example.com", role=Role.ANALYST, token="tok")
    with django_capture_on_commit_callbacks(execute=True):
        user = user_register(
            email="invitee@example.com", password=STRONG_PASSWORD, full_name="Ivy", invitation_token="tok"
        )
    assert user.email_verified
    assert user.default_organization == invitation.organization
    assert Membership.objects.get(user=user).role == Role.ANALYST
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert mail.outbox == []


@pytest.mark.parametrize(("organization_name", "invitation_token"), [(None, None), ("", "  "), ("Acme", "tok")])
def test_register_needs_exactly_one_of_organization_and_invitation(organization_name, invitation_token):
    with pytest.raises(ValidationFailed) as excinfo:
        user_register(
            email="ada@example.com",
            password=STRONG_PASSWORD,
            full_name="Ada",
            organization_name=organization_name,
            invitation_token=invitation_token,
        )
    assert "non_field_errors" in excinfo.value.details
    assert not User.objects.exists()


@pytest.mark.parametrize("password", ["short", "password123", "1234567890123", "ada@example.com"])
def test_register_applies_the_password_validators(password):
    with pytest.raises(ValidationFailed) as excinfo:
        user_register(email="ada@example.com", password=password, full_name="Ada", organization_name="Acme")
    assert excinfo.value.details["password"]
    assert not User.objects.exists()


def test_register_refuses_a_taken_email_case_insensitively():
    UserFactory(email="ada@example.com")
    with pytest.raises(Conflict):
        user_register(email="ADA@example.com", password=STRONG_PASSWORD, full_name="Ada", organization_name="Acme")
    assert not Organization.objects.filter(name="Acme").exists()


def test_register_with_a_bad_invitation_leaves_nothing_behind():
    make_invitation(email="invitee@example.com", token="tok")
    with pytest.raises(ValidationFailed):
        user_register(email="other@example.com", password=STRONG_PASSWORD, full_name="O", invitation_token="tok")
    with pytest.raises(ValidationFailed):
        user_register(email="invitee@example.com", password=STRONG_PASSWORD, full_name="I", invitation_token="nope")
    assert not User.objects.exists()
    assert not Membership.objects.exists()


def test_register_turns_a_concurrent_duplicate_insert_into_a_conflict(monkeypatch):
    import accounts.services as account_services

    UserFactory(email="ada@example.com")
    monkeypatch.setattr(account_services, "user_email_taken", lambda *, email: False)  # the check ran before the race
    with pytest.raises(Conflict):
        user_register(email="ada@example.com", password=STRONG_PASSWORD, full_name="Ada", organization_name="Acme")


# --- user_verify_email ------------------------------------------------------------------------------------------------
def test_verify_email_marks_the_user_verified_idempotently():
    user = UserFactory(email_verified=False)
    token = email_verification_token_make(user=user)
    assert user_verify_email(token=token).email_verified
    assert user_verify_email(token=token).email_verified
    user.refresh_from_db()
    assert user.email_verified


def test_verify_email_refuses_a_token_for_an_old_address():
    user = UserFactory(email="old@example.com", email_verified=False)
    token = email_verification_token_make(user=user)
    User.objects.filter(pk=user.pk).update(email="new@example.com")
    with pytest.raises(ValidationFailed) as excinfo:
        user_verify_email(token=token)
    assert "token" in excinfo.value.details


def test_verify_email_refuses_a_token_of_a_deleted_user():
    user = UserFactory(email_verified=False)
    token = email_verification_token_make(user=user)
    user.delete()
    with pytest.raises(ValidationFailed):
        user_verify_email(token=token)


# --- login, refresh, logout -------------------------------------------------------------------------------------------
def test_login_issues_an_outstanding_refresh_token_and_records_last_login():
    user = UserFactory(email="ada@example.com")
    logged_in, tokens = user_login(email=" ADA@example.com", password=DEFAULT_TEST_PASSWORD)
    assert logged_in == user
    assert tokens.expires_in == 15 * 60
    assert OutstandingToken.objects.filter(user=user, token=tokens.refresh).exists()
    user.refresh_from_db()
    assert user.last_login is not None


def test_login_refuses_wrong_password_unknown_email_and_inactive_user_alike():
    UserFactory(email="ada@example.com")
    UserFactory(email="gone@example.com", is_active=False)
    for email, password in [
        ("ada@example.com", "wrong-password"),
        ("nobody@example.com", DEFAULT_TEST_PASSWORD),
        ("gone@example.com", DEFAULT_TEST_PASSWORD),
    ]:
        with pytest.raises(AuthenticationFailedError):
            user_login(email=email, password=password)


def test_login_tells_an_unverified_user_only_after_the_password_is_right():
    UserFactory(email="ada@example.com", email_verified=False)
    with pytest.raises(AuthenticationFailedError):
        user_login(email="ada@example.com", password="wrong-password")
    with pytest.raises(EmailNotVerified):
        user_login(email="ada@example.com", password=DEFAULT_TEST_PASSWORD)


def test_refresh_rotates_and_blacklists_the_old_token():
    user = UserFactory()
    old = user_token_pair_issue(user=user).refresh
    new = user_token_refresh(refresh=old)
    assert set(new) == {"access", "refresh"}
    assert new["refresh"] != old
    with pytest.raises(TokenError):
        user_token_refresh(refresh=old)
    assert user_token_refresh(refresh=new["refresh"])["access"]


def test_refresh_refuses_tokens_of_inactive_or_deleted_users():
    inactive = UserFactory()
    inactive_refresh = user_token_pair_issue(user=inactive).refresh
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    with pytest.raises(TokenError):
        user_token_refresh(refresh=inactive_refresh)
    deleted = UserFactory()
    deleted_refresh = user_token_pair_issue(user=deleted).refresh
    deleted.delete()
    with pytest.raises(TokenError):
        user_token_refresh(refresh=deleted_refresh)


def test_refresh_refuses_a_token_issued_before_a_password_change_even_if_not_blacklisted():
    user = UserFactory()
    refresh = user_token_pair_issue(user=user).refresh
    user.set_password(STRONG_PASSWORD)
    user.save()
    with pytest.raises(TokenError):
        user_token_refresh(refresh=refresh)


def test_refresh_refuses_an_access_token():
    user = UserFactory()
    with pytest.raises(TokenError):
        user_token_refresh(refresh=user_token_pair_issue(user=user).access)


def test_logout_blacklists_the_refresh_token():
    user = UserFactory()
    refresh = user_token_pair_issue(user=user).refresh
    user_logout(refresh=refresh)
    assert BlacklistedToken.objects.filter(token__token=refresh).exists()
    with pytest.raises(TokenError):
        user_logout(refresh=refresh)
    with pytest.raises(TokenError):
        user_token_refresh(refresh=refresh)


# --- password and profile ---------------------------------------------------------------------------------------------
def test_refresh_tokens_revoke_blacklists_every_outstanding_token_of_the_user_only():
    user, other = UserFactory(), UserFactory()
    for _ in range(3):
        RefreshToken.for_user(user)
    RefreshToken.for_user(other)
    user_logout(refresh=str(RefreshToken.for_user(user)))  # already blacklisted: not counted twice
    assert user_refresh_tokens_revoke(user=user) == 3
    assert not OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).exists()
    assert OutstandingToken.objects.filter(user=other, blacklistedtoken__isnull=True).count() == 1


def test_change_password_checks_the_current_one_and_the_validators():
    user = UserFactory()
    with pytest.raises(ValidationFailed) as excinfo:
        user_change_password(user=user, current_password="wrong", new_password=STRONG_PASSWORD)
    assert "current_password" in excinfo.value.details
    with pytest.raises(ValidationFailed) as excinfo:
        user_change_password(user=user, current_password=DEFAULT_TEST_PASSWORD, new_password="short")
    assert "new_password" in excinfo.value.details
    user.refresh_from_db()
    assert user.check_password(DEFAULT_TEST_PASSWORD)


def test_change_password_revokes_every_refresh_token():
    user = UserFactory()
    refreshes = [user_token_pair_issue(user=user).refresh for _ in range(2)]
    user_change_password(user=user, current_password=DEFAULT_TEST_PASSWORD, new_password=STRONG_PASSWORD)
    user.refresh_from_db()
    assert user.check_password(STRONG_PASSWORD)
    for refresh in refreshes:
        with pytest.raises(TokenError):
            user_token_refresh(refresh=refresh)


def test_profile_update_changes_only_the_full_name():
    user = UserFactory(full_name="Old")
    assert profile_update(user=user, full_name="  New Name ").full_name == "New Name"
    assert profile_update(user=user).full_name == "New Name"


def test_registration_writes_are_audited():
    user = user_register(email="ada@example.com", password=STRONG_PASSWORD, full_name="Ada", organization_name="Acme")
    events = set(AuditEvent.objects.filter(actor=user).values_list("action", "object_type"))
    assert events == {("create", "organizations.organization"), ("create", "organizations.membership")}
    make_invitation(email="ivy@example.com", token="tok", organization=user.default_organization)
    invitee = user_register(email="ivy@example.com", password=STRONG_PASSWORD, full_name="Ivy", invitation_token="tok")
    events = set(AuditEvent.objects.filter(actor=invitee).values_list("action", "object_type"))
    assert events == {("update", "organizations.invitation"), ("create", "organizations.membership")}
