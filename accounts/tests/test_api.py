"""The accounts API (API.md "Auth" and "Users"): every success, every error in the envelope, rate limits."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from unittest import mock
from urllib.parse import parse_qs, urlparse

from django.core import mail
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.tests.factories import DEFAULT_TEST_PASSWORD, UserFactory
from accounts.tokens import email_verification_token_make
from accunode.api.testing import OrgScopedAPITestCase, client_for
from organizations.choices import Role
from organizations.models import Invitation, Membership
from organizations.services import hash_invitation_token
from organizations.tests.factories import OrganizationFactory

REGISTER = "/api/v1/auth/register/"
VERIFY_EMAIL = "/api/v1/auth/verify-email/"
LOGIN = "/api/v1/auth/login/"
REFRESH = "/api/v1/auth/refresh-token/"
LOGOUT = "/api/v1/auth/logout/"
CHANGE_PASSWORD = "/api/v1/auth/change-password/"
PROFILE = "/api/v1/users/profile/"
ORGANIZATIONS = "/api/v1/users/organizations/"

STRONG_PASSWORD = "a-much-better-passphrase-91"
PROFILE_KEYS = {"id", "email", "full_name", "email_verified", "date_joined", "organizations", "active_organization"}


def verification_token_from(message) -> str:
    link = re.search(r"https?://\S+/verify-email\?token=\S+", message.body).group(0)
    return parse_qs(urlparse(link).query)["token"][0]


class AccountsAPITestCase(OrgScopedAPITestCase):
    def login(self, email: str, password: str = DEFAULT_TEST_PASSWORD, **extra):
        return self.client.post(LOGIN, {"email": email, "password": password}, format="json", **extra)

    def assert_retry_after(self, response) -> None:
        self.assert_error(response, 429, "rate_limited")
        self.assertGreaterEqual(int(response["Retry-After"]), 1)
        self.assertLessEqual(int(response["Retry-After"]), 60)


class RegisterTests(AccountsAPITestCase):
    def register(self, **fields):
        data = {"email": "ada@example.com", "password": STRONG_PASSWORD, "full_name": "Ada Lovelace", **fields}
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(REGISTER, data, format="json")

    def test_register_with_an_organization_makes_an_unverified_admin_and_mails_a_link(self):
        response = self.register(organization_name="Analytical Engines")
        self.assertEqual(response.status_code, 201, response.content)
        profile = response.json()["user"]
        self.assertEqual(set(response.json()), {"user"})
        self.assertEqual(set(profile), PROFILE_KEYS)
        self.assertEqual(profile["email"], "ada@example.com")
        self.assertFalse(profile["email_verified"])
        self.assertEqual(profile["active_organization"]["name"], "Analytical Engines")
        self.assertEqual(profile["active_organization"]["slug"], "analytical-engines")
        self.assertEqual(profile["active_organization"]["role"], "admin")
        self.assertEqual(profile["organizations"], [profile["active_organization"]])
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["ada@example.com"])
        self.assertIn("http://testserver/verify-email?token=", mail.outbox[0].body)
        user = User.objects.get(email="ada@example.com")
        self.assertEqual(str(user.default_organization_id), profile["active_organization"]["id"])

    def test_a_taken_organization_name_gets_a_unique_slug(self):
        self.assertEqual(self.register(organization_name="Acme Capital").status_code, 201)  # self.org has the slug
        user = User.objects.get(email="ada@example.com")
        self.assertEqual(user.default_organization.slug, "acme-capital-2")

    def test_register_with_an_invitation_joins_verified_without_mail(self):
        invitation = Invitation.objects.create(
            organization=self.org,
            email="Ada@Example.com",
            role=Role.ANALYST,
            token_hash=hash_invitation_token("secret-invitation"),
            expires_at=timezone.now() + timedelta(days=1),
        )
        response = self.register(invitation_token="secret-invitation")
        self.assertEqual(response.status_code, 201, response.content)
        profile = response.json()["user"]
        self.assertTrue(profile["email_verified"])
        self.assertEqual(profile["active_organization"]["id"], str(self.org.id))
        self.assertEqual(profile["active_organization"]["role"], "analyst")
        self.assertEqual(mail.outbox, [])
        invitation.refresh_from_db()
        self.assertIsNotNone(invitation.accepted_at)
        self.assertEqual(self.login("ada@example.com", STRONG_PASSWORD).status_code, 200)

    def test_an_invitation_for_another_address_is_refused(self):
        Invitation.objects.create(
            organization=self.org,
            email="someone@example.com",
            token_hash=hash_invitation_token("secret-invitation"),
            expires_at=timezone.now() + timedelta(days=1),
        )
        error = self.assert_error(self.register(invitation_token="secret-invitation"), 400, "validation_error")
        self.assertIn("email", error["details"])
        self.assertFalse(User.objects.filter(email="ada@example.com").exists())

    def test_an_unknown_expired_or_used_invitation_is_refused(self):
        for token, expires, accepted in [
            ("expired", timezone.now() - timedelta(seconds=1), None),
            ("used", timezone.now() + timedelta(days=1), timezone.now()),
        ]:
            Invitation.objects.create(
                organization=self.org,
                email="ada@example.com",
                token_hash=hash_invitation_token(token),
                expires_at=expires,
                accepted_at=accepted,
            )
        for token in ("unknown", "expired", "used"):
            with self.subTest(token=token):
                error = self.assert_error(self.register(invitation_token=token), 400, "validation_error")
                self.assertIn("invitation_token", error["details"])
        self.assertFalse(User.objects.filter(email="ada@example.com").exists())

    def test_exactly_one_of_organization_and_invitation(self):
        for fields in ({}, {"organization_name": "Acme", "invitation_token": "x"}, {"organization_name": ""}):
            with self.subTest(fields=fields):
                error = self.assert_error(self.register(**fields), 400, "validation_error")
                self.assertIn("non_field_errors", error["details"])

    def test_password_validators_apply(self):
        for password in ("short", "password1234", "12345678901234", "ada@example.com"):
            with self.subTest(password=password):
                response = self.register(password=password, organization_name="Acme")
                error = self.assert_error(response, 400, "validation_error")
                self.assertTrue(error["details"]["password"])
        self.assertFalse(User.objects.filter(email="ada@example.com").exists())

    def test_missing_and_malformed_fields(self):
        response = self.client.post(REGISTER, {}, format="json")
        error = self.assert_error(response, 400, "validation_error")
        self.assertLessEqual({"email", "password", "full_name"}, set(error["details"]))
        error = self.assert_error(self.register(email="not-an-email", organization_name="A"), 400, "validation_error")
        self.assertIn("email", error["details"])

    def test_malformed_json_is_a_validation_error(self):
        response = self.client.post(REGISTER, "{not json", content_type="application/json")
        self.assert_error(response, 400, "validation_error")

    def test_a_taken_email_is_a_conflict_case_insensitively(self):
        UserFactory(email="ada@example.com")
        error = self.assert_error(self.register(email="ADA@Example.com", organization_name="Acme"), 409, "conflict")
        self.assertIn("email", error["details"])
        self.assertEqual(mail.outbox, [])

    def test_privileged_fields_sent_are_ignored(self):
        response = self.register(organization_name="Acme", is_staff=True, is_superuser=True, email_verified=True)
        self.assertEqual(response.status_code, 201)
        user = User.objects.get(email="ada@example.com")
        self.assertFalse(user.is_staff or user.is_superuser or user.email_verified)

    def test_a_stale_authorization_header_does_not_get_in_the_way(self):
        self.client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
        self.assertEqual(self.register(organization_name="Acme").status_code, 201)

    def test_rate_limited_to_five_per_minute_per_address(self):
        for attempt in range(5):
            response = self.client.post(REGISTER, {"email": f"x{attempt}"}, format="json")
            self.assertEqual(response.status_code, 400)
        self.assert_retry_after(self.client.post(REGISTER, {}, format="json"))

    def test_method_not_allowed_has_allow_header(self):
        response = self.client.get(REGISTER)
        self.assert_error(response, 405, "method_not_allowed")
        self.assertIn("POST", response["Allow"])


class VerifyEmailTests(AccountsAPITestCase):
    def test_a_valid_token_verifies_the_address(self):
        user = UserFactory(email_verified=False)
        response = self.client.post(VERIFY_EMAIL, {"token": email_verification_token_make(user=user)}, format="json")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"email_verified": True})
        user.refresh_from_db()
        self.assertTrue(user.email_verified)

    def test_bad_tampered_and_expired_tokens_are_400(self):
        user = UserFactory(email_verified=False)
        token = email_verification_token_make(user=user)
        for bad in ("garbage", token[:-3] + "xyz", "", None):
            with self.subTest(token=bad):
                error = self.assert_error(
                    self.client.post(VERIFY_EMAIL, {"token": bad}, format="json"), 400, "validation_error"
                )
                self.assertIn("token", error["details"])
        expired_at = timezone.now().timestamp() + 3 * 24 * 3600 + 10
        with mock.patch("django.core.signing.time.time", return_value=expired_at):
            response = self.client.post(VERIFY_EMAIL, {"token": token}, format="json")
        self.assertIn("token", self.assert_error(response, 400, "validation_error")["details"])
        error = self.assert_error(self.client.post(VERIFY_EMAIL, {}, format="json"), 400, "validation_error")
        self.assertIn("token", error["details"])
        user.refresh_from_db()
        self.assertFalse(user.email_verified)


class LoginTests(AccountsAPITestCase):
    def test_login_answers_tokens_and_profile(self):
        response = self.login(self.analyst.email.upper())
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertEqual(set(body), {"access", "refresh", "token_type", "expires_in", "user"})
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["expires_in"], 15 * 60)
        self.assertEqual(body["user"]["id"], str(self.analyst.id))
        self.assertEqual(body["user"]["active_organization"]["role"], "analyst")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
        self.assertEqual(client.get(PROFILE).json()["email"], self.analyst.email)

    def test_wrong_password_unknown_email_and_inactive_user_are_401(self):
        inactive = make_inactive_member(self.org)
        for email, password in [
            (self.analyst.email, "wrong-password-123"),
            ("nobody@example.com", DEFAULT_TEST_PASSWORD),
            (inactive.email, DEFAULT_TEST_PASSWORD),
        ]:
            with self.subTest(email=email):
                self.assert_error(self.login(email, password), 401, "authentication_failed")

    def test_unverified_email_is_403_only_with_the_right_password(self):
        user = UserFactory(email_verified=False)
        self.assert_error(self.login(user.email, "wrong-password-123"), 401, "authentication_failed")
        self.assert_error(self.login(user.email), 403, "email_not_verified")

    def test_missing_fields_are_400(self):
        error = self.assert_error(self.client.post(LOGIN, {}, format="json"), 400, "validation_error")
        self.assertEqual(set(error["details"]), {"email", "password"})

    def test_numbers_for_text_fields_are_400(self):
        response = self.client.post(LOGIN, {"email": self.analyst.email, "password": 1234567890123}, format="json")

        error = self.assert_error(response, 400, "validation_error")
        self.assertEqual(error["details"], {"password": ["Not a valid string."]})

    def test_rate_limited_to_five_per_minute_per_email(self):
        for _ in range(5):
            self.assert_error(self.login(self.analyst.email, "wrong-password-123"), 401, "authentication_failed")
        # Even the right password is refused now, and upper case is the same e-mail.
        self.assert_retry_after(self.login(self.analyst.email.upper()))
        self.assertEqual(self.login(self.viewer.email).status_code, 200)  # another e-mail is not limited

    def test_rate_limited_to_ten_per_minute_per_client_address(self):
        for attempt in range(10):
            self.assert_error(self.login(f"nobody{attempt}@example.com"), 401, "authentication_failed")
        self.assert_retry_after(self.login(self.analyst.email))
        other_client = self.client.post(
            LOGIN,
            {"email": self.analyst.email, "password": DEFAULT_TEST_PASSWORD},
            format="json",
            REMOTE_ADDR="10.9.9.9",
        )
        self.assertEqual(other_client.status_code, 200)

    def test_a_forwarded_for_header_is_ignored_unless_trusted(self):
        for attempt in range(10):
            self.login(f"nobody{attempt}@example.com", HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt}")
        self.assert_retry_after(self.login(self.analyst.email, HTTP_X_FORWARDED_FOR="198.51.100.99"))

    @override_settings(ACCUNODE_CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR")
    def test_behind_a_trusted_proxy_the_client_is_the_first_forwarded_hop(self):
        proxy = {"REMOTE_ADDR": "10.0.0.1"}  # every request arrives from the same proxy
        for attempt in range(10):
            response = self.login(f"nobody{attempt}@example.com", HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.1", **proxy)
            self.assert_error(response, 401, "authentication_failed")
        self.assert_retry_after(self.login(self.analyst.email, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy))
        response = self.login(self.analyst.email, HTTP_X_FORWARDED_FOR="203.0.113.8, 10.0.0.1", **proxy)
        self.assertEqual(response.status_code, 200, response.content)

    @override_settings(RATELIMIT_ENABLE=False)
    def test_rate_limiting_can_be_switched_off(self):
        for _ in range(12):
            self.assert_error(self.login(self.analyst.email, "wrong-password-123"), 401, "authentication_failed")


def make_inactive_member(organization):
    user = UserFactory(is_active=False, default_organization=organization)
    Membership.objects.create(user=user, organization=organization, role=Role.VIEWER)
    return user


class RefreshAndLogoutTests(AccountsAPITestCase):
    def test_refresh_rotates_and_the_old_token_is_then_401(self):
        old = str(RefreshToken.for_user(self.analyst))
        response = self.client.post(REFRESH, {"refresh": old}, format="json")
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertEqual(set(body), {"access", "refresh"})
        self.assertNotEqual(body["refresh"], old)
        self.assert_error(self.client.post(REFRESH, {"refresh": old}, format="json"), 401, "token_not_valid")
        self.assertEqual(self.client.post(REFRESH, {"refresh": body["refresh"]}, format="json").status_code, 200)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
        self.assertEqual(client.get(PROFILE).status_code, 200)

    def test_invalid_refresh_tokens_are_401(self):
        access = str(RefreshToken.for_user(self.analyst).access_token)
        for token in ("garbage", access):
            with self.subTest(token=token[:10]):
                self.assert_error(self.client.post(REFRESH, {"refresh": token}, format="json"), 401, "token_not_valid")
        self.assert_error(self.client.post(REFRESH, {}, format="json"), 400, "validation_error")

    def test_refresh_rate_limited_to_thirty_per_minute_per_address(self):
        for _ in range(30):
            self.client.post(REFRESH, {"refresh": "garbage"}, format="json")
        self.assert_retry_after(self.client.post(REFRESH, {"refresh": "garbage"}, format="json"))

    def test_logout_revokes_the_refresh_token(self):
        refresh = str(RefreshToken.for_user(self.analyst))
        response = self.client.post(LOGOUT, {"refresh": refresh}, format="json")
        self.assertEqual(response.status_code, 204)
        self.assertEqual(response.content, b"")
        self.assert_error(self.client.post(REFRESH, {"refresh": refresh}, format="json"), 401, "token_not_valid")
        self.assert_error(self.client.post(LOGOUT, {"refresh": refresh}, format="json"), 401, "token_not_valid")

    def test_logout_with_an_invalid_token_is_401(self):
        self.assert_error(self.client.post(LOGOUT, {"refresh": "garbage"}, format="json"), 401, "token_not_valid")
        self.assert_error(self.client.post(LOGOUT, {}, format="json"), 400, "validation_error")


class ChangePasswordTests(AccountsAPITestCase):
    def change(self, client, current=DEFAULT_TEST_PASSWORD, new=STRONG_PASSWORD):
        return client.post(CHANGE_PASSWORD, {"current_password": current, "new_password": new}, format="json")

    def test_needs_authentication(self):
        self.assert_error(self.change(self.client), 401, "not_authenticated")

    def test_wrong_current_password_and_weak_new_password_are_400(self):
        client = self.client_for(self.analyst)
        error = self.assert_error(self.change(client, current="wrong-password-123"), 400, "validation_error")
        self.assertIn("current_password", error["details"])
        error = self.assert_error(self.change(client, new="short"), 400, "validation_error")
        self.assertIn("new_password", error["details"])
        error = self.assert_error(client.post(CHANGE_PASSWORD, {}, format="json"), 400, "validation_error")
        self.assertEqual(set(error["details"]), {"current_password", "new_password"})
        self.analyst.refresh_from_db()
        self.assertTrue(self.analyst.check_password(DEFAULT_TEST_PASSWORD))

    def test_changing_the_password_revokes_refresh_and_access_tokens(self):
        refresh = RefreshToken.for_user(self.analyst)
        other_refresh = str(RefreshToken.for_user(self.analyst))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {refresh.access_token}")
        self.assertEqual(client.get(PROFILE).status_code, 200)

        self.assertEqual(self.change(client).status_code, 204)

        response = client.get(PROFILE)
        self.assert_error(response, 401, "token_not_valid")
        self.assertIn("Bearer", response["WWW-Authenticate"])
        for token in (str(refresh), other_refresh):
            self.assert_error(self.client.post(REFRESH, {"refresh": token}, format="json"), 401, "token_not_valid")
        self.assert_error(self.login(self.analyst.email), 401, "authentication_failed")
        self.assertEqual(self.login(self.analyst.email, STRONG_PASSWORD).status_code, 200)


class ProfileTests(AccountsAPITestCase):
    def test_profile_of_a_member(self):
        second = OrganizationFactory(name="Zeta Fund")
        Membership.objects.create(user=self.analyst, organization=second, role=Role.VIEWER)
        response = self.client_for(self.analyst).get(PROFILE)
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(set(body), PROFILE_KEYS)
        self.assertEqual(body["id"], str(self.analyst.id))
        self.assertEqual(body["email"], self.analyst.email)
        self.assertEqual(body["full_name"], self.analyst.full_name)
        self.assertTrue(body["email_verified"])
        self.assertTrue(body["date_joined"])
        self.assertEqual(
            body["organizations"],
            [
                {"id": str(self.org.id), "name": "Acme Capital", "slug": "acme-capital", "role": "analyst"},
                {"id": str(second.id), "name": "Zeta Fund", "slug": second.slug, "role": "viewer"},
            ],
        )
        self.assertEqual(body["active_organization"], body["organizations"][0])

    def test_x_organization_selects_the_active_organization(self):
        second = OrganizationFactory(name="Zeta Fund")
        Membership.objects.create(user=self.analyst, organization=second, role=Role.VIEWER)
        response = self.client_for(self.analyst).get(PROFILE, HTTP_X_ORGANIZATION=str(second.id))
        self.assertEqual(response.json()["active_organization"]["id"], str(second.id))
        self.assertEqual(response.json()["active_organization"]["role"], "viewer")

    def test_x_organization_of_a_non_member_is_403(self):
        client = self.client_for(self.analyst)
        for value in (str(self.other_org.id), str(uuid.uuid4()), "not-a-uuid"):
            with self.subTest(value=value):
                self.assert_error(client.get(PROFILE, HTTP_X_ORGANIZATION=value), 403, "permission_denied")
        response = client.patch(
            PROFILE, {"full_name": "Changed"}, format="json", HTTP_X_ORGANIZATION=str(self.other_org.id)
        )
        self.assert_error(response, 403, "permission_denied")
        self.analyst.refresh_from_db()
        self.assertNotEqual(self.analyst.full_name, "Changed")

    def test_a_user_without_organizations_has_no_active_organization(self):
        loner = UserFactory()
        body = client_for(loner).get(PROFILE).json()
        self.assertEqual(body["organizations"], [])
        self.assertIsNone(body["active_organization"])
        response = client_for(loner).get(PROFILE, HTTP_X_ORGANIZATION=str(self.org.id))
        self.assert_error(response, 403, "permission_denied")

    def test_patch_and_put_update_the_full_name(self):
        client = self.client_for(self.analyst)
        response = client.patch(PROFILE, {"full_name": "  Grace Hopper "}, format="json")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["full_name"], "Grace Hopper")
        self.assertEqual(set(response.json()), PROFILE_KEYS)
        response = client.put(PROFILE, {"full_name": "Grace B. Hopper"}, format="json")
        self.assertEqual(response.json()["full_name"], "Grace B. Hopper")
        self.analyst.refresh_from_db()
        self.assertEqual(self.analyst.full_name, "Grace B. Hopper")

    def test_put_needs_the_full_name_and_it_cannot_be_blank(self):
        client = self.client_for(self.analyst)
        self.assertIn(
            "full_name", self.assert_error(client.put(PROFILE, {}, format="json"), 400, "validation_error")["details"]
        )
        response = client.patch(PROFILE, {"full_name": "   "}, format="json")
        self.assertIn("full_name", self.assert_error(response, 400, "validation_error")["details"])
        response = client.patch(PROFILE, {"full_name": "x" * 256}, format="json")
        self.assertIn("full_name", self.assert_error(response, 400, "validation_error")["details"])

    def test_read_only_fields_are_ignored_and_never_stored(self):
        attempts = {
            "email": "hijack@example.com",
            "role": "admin",
            "is_staff": True,
            "is_superuser": True,
            "is_active": False,
            "email_verified": False,
            "organizations": [{"id": str(self.other_org.id), "role": "admin"}],
            "active_organization": {"id": str(self.other_org.id), "role": "admin"},
            "id": str(uuid.uuid4()),
            "date_joined": "2000-01-01T00:00:00Z",
            "default_organization": str(self.other_org.id),
        }
        client = self.client_for(self.viewer)
        before = User.objects.filter(pk=self.viewer.pk).values().get()
        for field, value in attempts.items():
            for method in ("patch", "put"):
                with self.subTest(field=field, method=method):
                    response = getattr(client, method)(PROFILE, {field: value, "full_name": "Vera"}, format="json")
                    self.assertEqual(response.status_code, 200, response.content)
                    body = response.json()
                    self.assertEqual(body["email"], self.viewer.email)
                    self.assertEqual(body["id"], str(self.viewer.id))
                    self.assertTrue(body["email_verified"])
                    self.assertEqual([org["role"] for org in body["organizations"]], ["viewer"])
        after = User.objects.filter(pk=self.viewer.pk).values().get()
        self.assertEqual({**before, "full_name": "Vera"}, after)
        self.assertEqual(
            list(Membership.objects.filter(user=self.viewer).values_list("organization", "role")),
            [(self.org.id, "viewer")],
        )

    def test_needs_a_valid_token(self):
        self.assert_error(self.client.get(PROFILE), 401, "not_authenticated")
        self.client.credentials(HTTP_AUTHORIZATION="Bearer garbage")
        self.assert_error(self.client.get(PROFILE), 401, "token_not_valid")

    def test_a_deactivated_users_token_is_revoked(self):
        client = self.client_for(self.viewer)
        User.objects.filter(pk=self.viewer.pk).update(is_active=False)
        self.assert_error(client.get(PROFILE), 401, "token_not_valid")

    def test_post_and_delete_are_405(self):
        client = self.client_for(self.viewer)
        for method in ("post", "delete"):
            response = getattr(client, method)(PROFILE, {}, format="json")
            self.assert_error(response, 405, "method_not_allowed")
            self.assertIn("PATCH", response["Allow"])


class UserOrganizationsTests(AccountsAPITestCase):
    def test_lists_the_callers_organizations_with_roles_paginated(self):
        for index in range(3):
            Membership.objects.create(
                user=self.analyst, organization=OrganizationFactory(name=f"Fund {index}"), role=Role.ADMIN
            )
        client = self.client_for(self.analyst)
        client.get(ORGANIZATIONS)  # loads the caller into the principal cache
        with self.assertNumQueries(2):  # count, page (with organizations joined); the user is cached
            response = client.get(ORGANIZATIONS)
        body = response.json()
        self.assertEqual(body["count"], 4)
        self.assertEqual([row["name"] for row in body["results"]], ["Acme Capital", "Fund 0", "Fund 1", "Fund 2"])
        self.assertEqual(set(body["results"][0]), {"id", "name", "slug", "role"})
        self.assertEqual(body["results"][0]["role"], "analyst")
        self.assertNotIn(str(self.other_org.id), {row["id"] for row in body["results"]})
        page = client.get(ORGANIZATIONS, {"page_size": 2, "page": 2}).json()
        self.assertEqual([row["name"] for row in page["results"]], ["Fund 1", "Fund 2"])
        self.assertIsNotNone(page["previous"])

    def test_a_user_without_organizations_gets_an_empty_list(self):
        body = client_for(UserFactory()).get(ORGANIZATIONS).json()
        self.assertEqual((body["count"], body["results"]), (0, []))

    def test_needs_authentication(self):
        self.assert_error(self.client.get(ORGANIZATIONS), 401, "not_authenticated")


class AcceptInvitationApiTests(OrgScopedAPITestCase):
    URL = "/api/v1/users/invitations/accept/"

    def invite(self, email, role="analyst"):
        from organizations.services import invitation_create

        with self.captureOnCommitCallbacks(execute=True):
            invitation_create(organization=self.other_org, email=email, role=role, invited_by=self.other_admin)
        body = mail.outbox[-1].body
        return body.split("invitation_token=")[1].split()[0]

    def test_existing_user_joins_with_the_invited_role(self):
        token = self.invite(self.viewer.email, role="analyst")
        response = self.client_for(self.viewer).post(self.URL, {"invitation_token": token}, format="json")
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(
            response.json(),
            {"id": str(self.other_org.pk), "name": self.other_org.name, "slug": self.other_org.slug, "role": "analyst"},
        )
        self.assertTrue(
            Membership.objects.filter(user=self.viewer, organization=self.other_org, role="analyst").exists()
        )
        self.viewer.refresh_from_db()
        self.assertEqual(self.viewer.default_organization, self.org)  # unchanged: they had one
        again = self.client_for(self.viewer).post(self.URL, {"invitation_token": token}, format="json")
        self.assert_error(again, 400, "validation_error")

    def test_an_invitation_for_another_address_is_refused(self):
        token = self.invite("someone.else@example.com")
        response = self.client_for(self.viewer).post(self.URL, {"invitation_token": token}, format="json")
        error = self.assert_error(response, 400, "validation_error")
        self.assertIn("email", error["details"])
        self.assertFalse(Membership.objects.filter(user=self.viewer, organization=self.other_org).exists())

    def test_bad_token_and_anonymous(self):
        self.assert_error(
            self.client_for(self.viewer).post(self.URL, {"invitation_token": "nope"}, format="json"),
            400,
            "validation_error",
        )
        self.assert_error(
            self.client.post(self.URL, {"invitation_token": "nope"}, format="json"), 401, "not_authenticated"
        )
