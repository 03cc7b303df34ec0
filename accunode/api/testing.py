"""Base test case for tenant API endpoints: two organizations with an admin, analyst and viewer each.

Every endpoint's tests extend ``OrgScopedAPITestCase`` so proving "another organization's object → 404 and
unchanged" and "role too low → 403" takes a few lines, and a new endpoint cannot forget them.
``AdminScopingTestMixin`` does the same for Django admin.
"""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse
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
                payload = None if method in ("get", "delete") else (data or {})
                response = getattr(client, method)(url, payload, format="json")
                self.assert_error(response, 404, "not_found")


class AdminScopingTestMixin:
    """Django admin checks for tenant-owned models; mix into a ``django.test.TestCase`` (``OrgScopedAPITestCase`` is
    one). Every app's ``tests/test_admin.py`` proves in a few lines that an organization admin cannot see or touch
    another organization's rows through any admin URL:

        client = self.admin_client_for(self.admin)               # is_staff is set for you
        self.assert_admin_changelist_scoped(client, Company, visible=[mine], hidden=[theirs])
        self.assert_admin_object_unreachable(client, theirs, change_data={"name": "Hacked"})
        self.assert_admin_autocomplete_scoped(client, Prediction, "company", hidden=[theirs], term=theirs.symbol)
        self.assert_admin_model_denied(self.admin_client_for(self.analyst), Company)
    """

    def admin_client_for(self, user, *, staff: bool = True) -> Client:
        """A Django test client logged in as ``user`` (made staff unless ``staff=False``)."""
        if staff and not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        client = Client()
        client.force_login(user)
        return client

    @staticmethod
    def admin_url(model_or_obj, view: str, *args) -> str:
        """``admin:<app>_<model>_<view>``, e.g. ``admin_url(obj, "change", obj.pk)``."""
        opts = model_or_obj._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)

    def admin_changelist_pks(self, client: Client, model, query: dict | None = None) -> set:
        """Primary keys of every row the changelist holds (all pages), with an optional query (search, filters)."""
        response = client.get(self.admin_url(model, "changelist"), query or {})
        self.assertEqual(response.status_code, 200, response.content[:300])
        return set(response.context["cl"].queryset.values_list("pk", flat=True))

    def assert_admin_changelist_scoped(
        self, client: Client, model, *, visible=(), hidden=(), search: str | None = None
    ) -> None:
        """The changelist lists ``visible`` and not ``hidden``; nor does a search for ``search`` (a term that matches
        the hidden rows) widen it."""
        pks = self.admin_changelist_pks(client, model)
        for obj in visible:
            self.assertIn(obj.pk, pks, f"{obj!r} should be listed")
        for obj in hidden:
            self.assertNotIn(obj.pk, pks, f"{obj!r} must not be listed")
        if search is not None:
            searched = self.admin_changelist_pks(client, model, {"q": search})
            for obj in hidden:
                self.assertNotIn(obj.pk, searched, f"{obj!r} must not be found by {search!r}")

    def assert_admin_missing(self, response) -> None:
        """Django admin's answer to an object it cannot find: 404, or a redirect to the admin index (with a "does
        not exist" message); 403 where the action is refused for every object of the model (e.g. deleting
        organizations), which tells nothing about this one either."""
        if response.status_code == 302:
            self.assertEqual(response["Location"], reverse("admin:index"))
        else:
            self.assertIn(response.status_code, (403, 404), response.content[:300])

    def assert_admin_object_unreachable(
        self, client: Client, obj, *, change_data: dict | None = None, check_changelist: bool = True
    ) -> None:
        """Another organization's ``obj``: its change, delete and history URLs answer as for a missing object, POSTs
        to change or delete it (and the bulk delete action) change nothing, and no changelist lists it."""
        model = type(obj)
        before = model._default_manager.filter(pk=obj.pk).values().get()
        for view in ("change", "delete", "history"):
            self.assert_admin_missing(client.get(self.admin_url(obj, view, obj.pk)))
        self.assert_admin_missing(client.post(self.admin_url(obj, "change", obj.pk), change_data or {}))
        self.assert_admin_missing(client.post(self.admin_url(obj, "delete", obj.pk), {"post": "yes"}))
        response = client.post(
            self.admin_url(model, "changelist"),
            {"action": "delete_selected", "_selected_action": [str(obj.pk)], "post": "yes"},
        )
        self.assertIn(response.status_code, (200, 302, 403))
        after = model._default_manager.filter(pk=obj.pk).values().first()
        self.assertEqual(after, before, f"{obj!r} was changed or deleted through the admin")
        if check_changelist:
            self.assertNotIn(obj.pk, self.admin_changelist_pks(client, model))

    def admin_autocomplete_ids(self, client: Client, source_model, field_name: str, term: str = ""):
        """The response of the admin autocomplete for ``source_model.field_name``, and the ids it offers."""
        opts = source_model._meta
        response = client.get(
            reverse("admin:autocomplete"),
            {"app_label": opts.app_label, "model_name": opts.model_name, "field_name": field_name, "term": term},
        )
        ids = {row["id"] for row in response.json()["results"]} if response.status_code == 200 else set()
        return response, ids

    def assert_admin_autocomplete_scoped(
        self, client: Client, source_model, field_name: str, *, visible=(), hidden=(), term: str = ""
    ) -> None:
        """The autocomplete of ``source_model.field_name`` offers ``visible`` rows and never ``hidden`` ones (pass a
        ``term`` that matches the hidden rows to prove searching does not widen the scope)."""
        response, ids = self.admin_autocomplete_ids(client, source_model, field_name, term)
        self.assertEqual(response.status_code, 200, response.content[:300])
        for obj in visible:
            self.assertIn(str(obj.pk), ids)
        for obj in hidden:
            self.assertNotIn(str(obj.pk), ids, f"{obj!r} must not be offered")

    def assert_admin_model_denied(self, client: Client, model) -> None:
        """A staff user without the admin role: the model's changelist and add page are 403."""
        self.assertEqual(client.get(self.admin_url(model, "changelist")).status_code, 403)
        self.assertEqual(client.get(self.admin_url(model, "add")).status_code, 403)
