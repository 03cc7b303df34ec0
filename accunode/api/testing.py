"""Base test case for tenant API endpoints: two organizations with an admin, analyst and viewer each.

Every endpoint's tests extend ``OrgScopedAPITestCase`` so proving "another organization's object → 404 and
unchanged" and "role too low → 403" takes a few lines, and a new endpoint cannot forget them.
"""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient, APITestCase
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import UserFactory
from organizations.choices import Role
from organizations.models import Membership, Organization
from organizations.tests.factories import OrganizationFactory


def make_member(organization: Organization, role: str, **user_fields):
    """A verified user who belongs to ``organization`` (their default) with ``role``."""
    user = UserFactory(default_organization=organization, **user_fields)
    Membership.objects.create(user=user, organization=organization, role=role)
    return user


def client_for(user) -> APIClient:
    """An API client authenticated with a fresh JWT access token of ``user``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


class OrgScopedAPITestCase(APITestCase):
    """``self.org`` with ``self.admin``, ``self.analyst``, ``self.viewer``; ``self.other_org`` with
    ``self.other_admin``, ``self.other_analyst``, ``self.other_viewer``."""

    @classmethod
    def setUpTestData(cls):
        cls.org = OrganizationFactory(name="Acme Capital", slug="acme-capital")
        cls.other_org = OrganizationFactory(name="Rival Bank", slug="rival-bank")
        cls.admin = make_member(cls.org, Role.ADMIN)
        cls.analyst = make_member(cls.org, Role.ANALYST)
        cls.viewer = make_member(cls.org, Role.VIEWER)
        cls.other_admin = make_member(cls.other_org, Role.ADMIN)
        cls.other_analyst = make_member(cls.other_org, Role.ANALYST)
        cls.other_viewer = make_member(cls.other_org, Role.VIEWER)

    def client_for(self, user) -> APIClient:
        return client_for(user)

    def assert_error(self, response, status: int, code: str) -> dict[str, Any]:
        """The response has ``status`` and the API.md envelope with ``code``; returns the error object."""
        self.assertEqual(response.status_code, status, getattr(response, "content", b"")[:500])
        body = response.json()
        self.assertEqual(set(body), {"error"}, body)
        self.assertEqual(body["error"]["code"], code, body)
        self.assertIsInstance(body["error"]["message"], str)
        self.assertTrue(body["error"]["message"])
        self.assertIn("details", body["error"])
        return body["error"]

    def assert_cross_organization_404(self, url: str, methods=("get", "put", "patch", "delete"), data=None) -> None:
        """Every method on another organization's object answers 404 for each role of this organization."""
        for user in (self.admin, self.analyst, self.viewer):
            client = self.client_for(user)
            for method in methods:
                response = getattr(client, method)(url, data or {}, format="json")
                self.assert_error(response, 404, "not_found")
