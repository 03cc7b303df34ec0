"""The tenancy choke point: which organization is active, which rows a request sees, and how refusals answer."""

import uuid

from django.contrib.admin import site
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory, TestCase, override_settings
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.tests.factories import UserFactory
from accunode.api.exceptions import Conflict, NotFound, PermissionDeniedError
from accunode.api.testing import OrgScopedAPITestCase, make_member
from companies.models import Company
from organizations.choices import Role, role_at_least
from organizations.models import Invitation, Membership, Organization
from organizations.scoping import (
    OrganizationURLAPIMixin,
    OrgScopedAPIMixin,
    administered_organization_ids,
    check_role,
    get_scoped_object_or_404,
    required_role,
    resolve_membership,
    resolve_url_membership,
    scope_to_organization,
)
from organizations.tests.factories import InvitationFactory, OrganizationFactory


class ActiveOrganizationView(OrgScopedAPIMixin, APIView):
    """Answers the active organization and role; writes need the analyst role (the default for POST)."""

    def get(self, request):
        return Response({"organization": str(request.organization.pk), "role": request.membership.role})

    def post(self, request):
        return Response({"organization": str(request.organization.pk)})


class URLOrganizationView(OrganizationURLAPIMixin, APIView):
    def get(self, request, organization_id):
        return Response({"organization": str(request.organization.pk)})

    def delete(self, request, organization_id):
        return Response(status=204)


class ResolveMembershipTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.org = OrganizationFactory()
        cls.second_org = OrganizationFactory()
        cls.foreign_org = OrganizationFactory()
        cls.user = make_member(cls.org, Role.ADMIN)
        Membership.objects.create(user=cls.user, organization=cls.second_org, role=Role.VIEWER)

    def test_default_organization_without_header(self):
        self.assertEqual(resolve_membership(self.user).organization, self.org)

    def test_named_organization_of_a_member(self):
        membership = resolve_membership(self.user, str(self.second_org.pk))
        self.assertEqual((membership.organization, membership.role), (self.second_org, Role.VIEWER))

    def test_non_member_and_malformed_ids_are_refused(self):
        for value in (str(self.foreign_org.pk), str(uuid.uuid4()), "not-a-uuid", "1 OR 1=1"):
            with self.assertRaises(PermissionDeniedError):
                resolve_membership(self.user, value)

    def test_stale_default_falls_back_to_the_oldest_membership(self):
        self.user.default_organization = self.foreign_org
        self.user.save()
        self.assertEqual(resolve_membership(self.user).organization, self.org)

    def test_no_membership_is_refused(self):
        with self.assertRaises(PermissionDeniedError):
            resolve_membership(UserFactory())

    def test_url_organization_of_a_non_member_is_not_found(self):
        self.assertEqual(resolve_url_membership(self.user, self.second_org.pk).role, Role.VIEWER)
        for value in (self.foreign_org.pk, uuid.uuid4(), "not-a-uuid", None, ""):
            with self.assertRaises(NotFound):
                resolve_url_membership(self.user, value)


class RoleRuleTests(TestCase):
    def test_roles_are_ordered(self):
        self.assertTrue(role_at_least(Role.ADMIN, Role.ANALYST))
        self.assertTrue(role_at_least(Role.ANALYST, Role.ANALYST))
        self.assertFalse(role_at_least(Role.VIEWER, Role.ANALYST))
        self.assertFalse(role_at_least("owner", Role.VIEWER))

    def test_required_role_by_action_then_method(self):
        self.assertEqual(required_role("GET", "list", {"list": Role.ADMIN}), Role.ADMIN)
        self.assertEqual(required_role("GET", None, {}), Role.VIEWER)
        self.assertEqual(required_role("POST", None, {}), Role.ANALYST)
        self.assertEqual(required_role("PATCH", "partial_update", {}), Role.ANALYST)
        self.assertEqual(required_role("DELETE", None, {}), Role.ADMIN)

    def test_check_role_refuses_lower_roles(self):
        organization = OrganizationFactory()
        membership = Membership.objects.create(user=UserFactory(), organization=organization, role=Role.VIEWER)
        check_role(membership, Role.VIEWER)
        with self.assertRaises(PermissionDeniedError):
            check_role(membership, Role.ANALYST)


class ScopeTests(OrgScopedAPITestCase):
    def test_scope_keeps_only_the_organizations_rows(self):
        scoped = scope_to_organization(Membership.objects.all(), self.org)
        self.assertEqual(set(scoped.values_list("user", flat=True)), {self.admin.pk, self.analyst.pk, self.viewer.pk})

    def test_only_tenant_owned_models_can_be_scoped(self):
        with self.assertRaises(TypeError):
            scope_to_organization(Organization.objects.all(), self.org)

    def test_get_scoped_object_or_404(self):
        from django.http import Http404

        mine = InvitationFactory(organization=self.org)
        theirs = InvitationFactory(organization=self.other_org)
        self.assertEqual(get_scoped_object_or_404(Invitation.objects.all(), self.org, pk=mine.pk), mine)
        for lookup in ({"pk": theirs.pk}, {"pk": uuid.uuid4()}, {"pk": "not-a-uuid"}):
            with self.assertRaises(Http404):
                get_scoped_object_or_404(Invitation.objects.all(), self.org, **lookup)

    def test_administered_organizations_are_those_with_the_admin_role(self):
        Membership.objects.create(user=self.admin, organization=self.other_org, role=Role.ANALYST)
        self.assertEqual(administered_organization_ids(self.admin), [self.org.pk])
        self.assertEqual(administered_organization_ids(self.analyst), [])


urlpatterns = [
    path("api/v1/active-organization/", ActiveOrganizationView.as_view()),
    path("api/v1/url-organization/<uuid:organization_id>/", URLOrganizationView.as_view()),
]


@override_settings(ROOT_URLCONF=__name__)
class XOrganizationHeaderTests(OrgScopedAPITestCase):
    """``X-Organization`` through ``OrgScopedAPIMixin`` (real JWT authentication and error envelope)."""

    def call(self, user, method="get", organization_header=None, organization_id=None):
        url = f"/api/v1/url-organization/{organization_id}/" if organization_id else "/api/v1/active-organization/"
        headers = {"HTTP_X_ORGANIZATION": organization_header} if organization_header is not None else {}
        return getattr(self.client_for(user), method)(url, **headers)

    def test_default_organization_is_active_without_header(self):
        self.assertEqual(self.call(self.analyst).json()["organization"], str(self.org.pk))

    def test_a_member_of_two_organizations_switches_with_the_header(self):
        Membership.objects.create(user=self.analyst, organization=self.other_org, role=Role.VIEWER)
        response = self.call(self.analyst, organization_header=str(self.other_org.pk))
        self.assertEqual(response.json(), {"organization": str(self.other_org.pk), "role": Role.VIEWER})
        self.assertEqual(self.call(self.analyst, organization_header=str(self.org.pk)).json()["role"], Role.ANALYST)
        # The role is the one held in the active organization.
        self.assert_error(
            self.call(self.analyst, "post", organization_header=str(self.other_org.pk)), 403, "permission_denied"
        )
        self.assertEqual(self.call(self.analyst, "post", organization_header=str(self.org.pk)).status_code, 200)

    def test_non_member_id_is_403(self):
        for value in (str(self.other_org.pk), str(uuid.uuid4())):
            self.assert_error(self.call(self.admin, organization_header=value), 403, "permission_denied")

    def test_malformed_id_is_403(self):
        for value in ("not-a-uuid", "' OR 1=1 --", "1"):
            self.assert_error(self.call(self.admin, organization_header=value), 403, "permission_denied")

    def test_role_too_low_is_403(self):
        self.assert_error(self.call(self.viewer, "post"), 403, "permission_denied")

    def test_organization_urls_ignore_the_header_and_hide_other_organizations(self):
        response = self.call(self.admin, organization_id=self.org.pk, organization_header=str(uuid.uuid4()))
        self.assertEqual(response.json(), {"organization": str(self.org.pk)})
        response = self.call(self.admin, organization_id=self.other_org.pk)
        self.assert_error(response, 404, "not_found")
        # Membership is checked before the role: a non-member never learns whether the action exists.
        response = self.call(self.admin, "delete", organization_id=self.other_org.pk)
        self.assert_error(response, 404, "not_found")
        response = self.call(self.viewer, "delete", organization_id=self.org.pk)
        self.assert_error(response, 403, "permission_denied")


class AdminServiceRefusalTests(TestCase):
    """A service refusing an admin write becomes a message and a redirect back, never a server error."""

    def request(self, method: str):
        request = getattr(RequestFactory(), method)("/admin/companies/company/1/change/?_changelist_filters=x")
        request.session = SessionStore()
        request._messages = FallbackStorage(request)
        return request

    def refusing_view(self, request):
        raise Conflict("A company with symbol TAKEN already exists in this organization.")

    def admin(self):
        return site._registry[Company]

    def test_a_refused_post_is_a_message_on_the_page_it_came_from(self):
        request = self.request("post")

        response = self.admin()._service_errors_as_messages(request, self.refusing_view)

        self.assertEqual((response.status_code, response["Location"]), (302, request.get_full_path()))
        self.assertEqual(
            [str(message) for message in request._messages],
            ["A company with symbol TAKEN already exists in this organization."],
        )

    def test_a_get_that_fails_stays_an_error(self):
        with self.assertRaises(Conflict):
            self.admin()._service_errors_as_messages(self.request("get"), self.refusing_view)
