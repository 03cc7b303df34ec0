"""Django admin for platform staff and tenant administrators: every admin URL is scoped to the organizations the
user administers; writes go through the services (last admin, default organization, revocation)."""

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from accunode.api.testing import AdminScopingTestMixin, OrgScopedAPITestCase
from organizations.choices import Role
from organizations.models import AuditEvent, Invitation, Membership, Organization
from organizations.tests.factories import InvitationFactory

User = get_user_model()


class AdminTestCase(AdminScopingTestMixin, OrgScopedAPITestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.superuser = User.objects.create_superuser("platform@example.com", "x" * 12, full_name="Platform")
        cls.invitation = InvitationFactory(organization=cls.org, email="mine@example.com")
        cls.accepted_invitation = InvitationFactory(organization=cls.org, accepted_at=timezone.now())
        cls.their_invitation = InvitationFactory(organization=cls.other_org, email="theirs@example.com")
        cls.membership = Membership.objects.get(user=cls.admin)
        cls.viewer_membership = Membership.objects.get(user=cls.viewer)
        cls.their_membership = Membership.objects.get(user=cls.other_viewer)
        cls.their_admin_membership = Membership.objects.get(user=cls.other_admin)

    def setUp(self):
        self.admin_client = self.admin_client_for(self.admin)

    def change_url(self, obj) -> str:
        return self.admin_url(obj, "change", obj.pk)


class PlatformSuperuserTests(AdminTestCase):
    def test_sees_every_organizations_rows(self):
        client = self.admin_client_for(self.superuser)
        self.assert_admin_changelist_scoped(client, Organization, visible=[self.org, self.other_org])
        self.assert_admin_changelist_scoped(client, Membership, visible=[self.membership, self.their_membership])
        self.assert_admin_changelist_scoped(client, Invitation, visible=[self.invitation, self.their_invitation])
        for obj in (self.other_org, self.their_membership, self.their_invitation):
            self.assertEqual(client.get(self.change_url(obj)).status_code, 200)

    def test_autocomplete_offers_everyone(self):
        client = self.admin_client_for(self.superuser)
        self.assert_admin_autocomplete_scoped(client, Membership, "user", visible=[self.admin, self.other_admin])
        self.assert_admin_autocomplete_scoped(client, Membership, "organization", visible=[self.org, self.other_org])

    def test_adds_a_membership(self):
        client = self.admin_client_for(self.superuser)
        response = client.post(
            self.admin_url(Membership, "add"),
            {"user": str(self.other_admin.pk), "organization": str(self.org.pk), "role": "viewer"},
        )
        self.assertEqual(response.status_code, 302, response.content[:2000])
        membership = Membership.objects.get(user=self.other_admin, organization=self.org)
        event = AuditEvent.objects.get(object_id=str(membership.pk), action="create")
        self.assertEqual(
            (event.actor, event.organization, event.changes), (self.superuser, self.org, {"role": "viewer"})
        )

    def test_deletes_an_organization_with_its_audit_trail(self):
        doomed = Organization.objects.create(name="Doomed", slug="doomed")
        AuditEvent.objects.create(organization=doomed, action="create", object_type="x", object_id="1")
        client = self.admin_client_for(self.superuser)

        self.assertEqual(client.get(self.admin_url(doomed, "delete", doomed.pk)).status_code, 200)
        response = client.post(self.admin_url(doomed, "delete", doomed.pk), {"post": "yes"})

        self.assertEqual(response.status_code, 302)
        self.assertFalse(Organization.objects.filter(pk=doomed.pk).exists())
        self.assertFalse(AuditEvent.objects.filter(organization_id=doomed.pk).exists())

    def test_adds_an_organization_audited(self):
        response = self.admin_client_for(self.superuser).post(
            self.admin_url(Organization, "add"), {"name": "Newco Holdings", "slug": "newco"}
        )
        self.assertEqual(response.status_code, 302, response.content[:2000])
        organization = Organization.objects.get(slug="newco")
        self.assertTrue(AuditEvent.objects.filter(organization=organization, action="create", actor=self.superuser))

    def test_the_last_admin_rule_holds_for_superusers_too(self):
        client = self.admin_client_for(self.superuser)
        response = client.post(self.change_url(self.their_admin_membership), {"role": "viewer"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "at least one admin")
        self.assertEqual(Membership.objects.get(pk=self.their_admin_membership.pk).role, Role.ADMIN)


class TenantAdminScopingTests(AdminTestCase):
    def test_changelists_show_only_their_organization(self):
        client = self.admin_client
        self.assert_admin_changelist_scoped(
            client, Organization, visible=[self.org], hidden=[self.other_org], search="Rival"
        )
        self.assert_admin_changelist_scoped(
            client,
            Membership,
            visible=[self.membership, self.viewer_membership],
            hidden=list(Membership.objects.filter(organization=self.other_org)),
            search=self.other_viewer.email,
        )
        self.assert_admin_changelist_scoped(
            client,
            Invitation,
            visible=[self.invitation, self.accepted_invitation],
            hidden=[self.their_invitation],
            search="theirs",
        )

    def test_changelist_filters_cannot_reach_another_organization(self):
        pks = self.admin_changelist_pks(self.admin_client, Membership, {"role__exact": "viewer"})
        self.assertEqual(pks, {self.viewer_membership.pk})

    def test_another_organizations_rows_are_unreachable(self):
        self.assert_admin_object_unreachable(self.admin_client, self.other_org, change_data={"name": "Hacked"})
        self.assert_admin_object_unreachable(self.admin_client, self.their_membership, change_data={"role": "admin"})
        self.assert_admin_object_unreachable(
            self.admin_client, self.their_admin_membership, change_data={"role": "viewer"}
        )
        self.assert_admin_object_unreachable(
            self.admin_client, self.their_invitation, change_data={"role": "admin", "expires_at_0": "2099-01-01"}
        )

    def test_being_a_mere_member_of_another_organization_grants_nothing_there(self):
        Membership.objects.create(user=self.admin, organization=self.other_org, role=Role.ANALYST)
        self.assert_admin_changelist_scoped(self.admin_client, Membership, hidden=[self.their_membership])
        self.assert_admin_object_unreachable(self.admin_client, self.their_invitation, change_data={"role": "admin"})

    def test_cannot_add_memberships_invitations_or_organizations(self):
        for model in (Membership, Invitation, Organization):
            self.assertEqual(self.admin_client.get(self.admin_url(model, "add")).status_code, 403, model)
        response = self.admin_client.post(
            self.admin_url(Membership, "add"),
            {"user": str(self.other_viewer.pk), "organization": str(self.org.pk), "role": "admin"},
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Membership.objects.filter(user=self.other_viewer, organization=self.org).exists())

    def test_cannot_delete_their_organization(self):
        self.assertEqual(self.admin_client.get(self.admin_url(self.org, "delete", self.org.pk)).status_code, 403)
        self.admin_client.post(self.admin_url(self.org, "delete", self.org.pk), {"post": "yes"})
        self.assertTrue(Organization.objects.filter(pk=self.org.pk).exists())

    def test_renames_their_organization_but_not_its_slug(self):
        response = self.admin_client.post(self.change_url(self.org), {"name": "Acme Renamed", "slug": "hacked"})
        self.assertEqual(response.status_code, 302, response.content[:2000])
        self.org.refresh_from_db()
        self.assertEqual((self.org.name, self.org.slug), ("Acme Renamed", "acme-capital"))
        event = AuditEvent.objects.get(object_id=str(self.org.pk), action="update")
        self.assertEqual((event.actor, event.changes), (self.admin, {"name": ["Acme Capital", "Acme Renamed"]}))

    def test_users_are_not_browsable(self):
        self.assertEqual(self.admin_client.get(self.admin_url(User, "changelist")).status_code, 403)
        self.assertEqual(self.admin_client.get(self.change_url(self.other_admin)).status_code, 403)

    def test_non_staff_admins_cannot_log_into_the_admin(self):
        client = self.admin_client_for(self.other_admin, staff=False)
        response = client.get(reverse("admin:index"))
        self.assertEqual(response.status_code, 302)
        self.assertIn(reverse("admin:login"), response["Location"])
        self.assertEqual(client.get(self.admin_url(Membership, "changelist")).status_code, 302)


class TenantAdminAutocompleteTests(AdminTestCase):
    def test_organization_autocomplete_offers_only_their_organizations(self):
        client = self.admin_client
        self.assert_admin_autocomplete_scoped(
            client, Membership, "organization", visible=[self.org], hidden=[self.other_org]
        )
        self.assert_admin_autocomplete_scoped(client, Invitation, "organization", hidden=[self.other_org], term="Rival")
        # Any relation to a scoped model goes through that model's scoped admin, whatever the source field.
        self.assert_admin_autocomplete_scoped(
            client, User, "default_organization", visible=[self.org], hidden=[self.other_org]
        )

    def test_user_autocomplete_is_refused(self):
        # Choosing among every user of the platform is for platform staff: tenant admins invite by e-mail instead.
        response, ids = self.admin_autocomplete_ids(self.admin_client, Membership, "user", term="example.com")
        self.assertEqual(response.status_code, 403)
        self.assertEqual(ids, set())

    def test_malformed_autocomplete_requests_are_refused(self):
        response = self.admin_client.get(
            reverse("admin:autocomplete"), {"app_label": "organizations", "model_name": "membership", "field_name": "x"}
        )
        self.assertEqual(response.status_code, 403)


class TenantAdminWritesTests(AdminTestCase):
    def test_changes_a_role_through_the_service(self):
        response = self.admin_client.post(self.change_url(self.viewer_membership), {"role": "analyst"})
        self.assertEqual(response.status_code, 302, response.content[:2000])
        self.assertEqual(Membership.objects.get(pk=self.viewer_membership.pk).role, Role.ANALYST)
        event = AuditEvent.objects.get(object_type="organizations.membership")
        self.assertEqual((event.actor, event.action, event.organization), (self.admin, "update", self.org))

    def test_cannot_move_a_membership_to_another_organization(self):
        self.admin_client.post(
            self.change_url(self.viewer_membership),
            {"role": "viewer", "organization": str(self.other_org.pk), "user": str(self.other_admin.pk)},
        )
        membership = Membership.objects.get(pk=self.viewer_membership.pk)
        self.assertEqual((membership.organization, membership.user), (self.org, self.viewer))

    def test_cannot_demote_the_last_admin(self):
        response = self.admin_client.post(self.change_url(self.membership), {"role": "viewer"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "at least one admin")
        self.assertEqual(Membership.objects.get(pk=self.membership.pk).role, Role.ADMIN)

    def test_cannot_delete_the_last_admin(self):
        delete_url = self.admin_url(self.membership, "delete", self.membership.pk)
        self.assertContains(self.admin_client.get(delete_url), "at least one admin")
        self.admin_client.post(delete_url, {"post": "yes"})
        self.admin_client.post(
            self.admin_url(Membership, "changelist"),
            {"action": "delete_selected", "_selected_action": [self.membership.pk], "post": "yes"},
        )
        self.assertTrue(Membership.objects.filter(pk=self.membership.pk).exists())

    def test_cannot_bulk_delete_every_admin(self):
        Membership.objects.filter(pk=self.viewer_membership.pk).update(role=Role.ADMIN)
        response = self.admin_client.post(
            self.admin_url(Membership, "changelist"),
            {
                "action": "delete_selected",
                "_selected_action": [self.membership.pk, self.viewer_membership.pk],
                "post": "yes",
            },
        )
        self.assertContains(response, "at least one admin")
        self.assertEqual(Membership.objects.filter(organization=self.org, role=Role.ADMIN).count(), 2)

    def test_removing_a_member_clears_their_default_organization(self):
        delete_url = self.admin_url(self.viewer_membership, "delete", self.viewer_membership.pk)
        response = self.admin_client.post(delete_url, {"post": "yes"})
        self.assertEqual(response.status_code, 302)
        self.assertFalse(Membership.objects.filter(pk=self.viewer_membership.pk).exists())
        self.viewer.refresh_from_db()
        self.assertIsNone(self.viewer.default_organization)

    def test_bulk_removal_goes_through_the_service(self):
        response = self.admin_client.post(
            self.admin_url(Membership, "changelist"),
            {
                "action": "delete_selected",
                "_selected_action": [self.viewer_membership.pk, self.their_membership.pk],
                "post": "yes",
            },
        )
        self.assertEqual(response.status_code, 302)
        self.assertFalse(Membership.objects.filter(pk=self.viewer_membership.pk).exists())
        self.assertTrue(Membership.objects.filter(pk=self.their_membership.pk).exists())
        self.viewer.refresh_from_db()
        self.assertIsNone(self.viewer.default_organization)
        self.assertEqual(AuditEvent.objects.filter(action="delete", organization=self.org).count(), 1)

    def test_deleting_an_invitation_revokes_it(self):
        response = self.admin_client.post(
            self.admin_url(self.invitation, "delete", self.invitation.pk), {"post": "yes"}
        )
        self.assertEqual(response.status_code, 302)
        self.assertFalse(Invitation.objects.filter(pk=self.invitation.pk).exists())
        self.assertTrue(AuditEvent.objects.filter(object_id=str(self.invitation.pk), action="delete").exists())

    def test_accepted_invitations_are_read_only_history(self):
        url = self.change_url(self.accepted_invitation)
        self.assertEqual(self.admin_client.get(url).status_code, 200)
        self.assertEqual(self.admin_client.post(url, {"role": "admin"}).status_code, 403)
        delete_url = self.admin_url(self.accepted_invitation, "delete", self.accepted_invitation.pk)
        self.assertEqual(self.admin_client.post(delete_url, {"post": "yes"}).status_code, 403)
        self.assertEqual(Invitation.objects.get(pk=self.accepted_invitation.pk).role, Role.VIEWER)

    def test_changes_a_pending_invitations_role_but_not_its_email_or_organization(self):
        response = self.admin_client.post(
            self.change_url(self.invitation),
            {
                "role": "analyst",
                "expires_at_0": "2099-01-01",
                "expires_at_1": "00:00:00",
                "email": "attacker@example.com",
                "organization": str(self.other_org.pk),
            },
        )
        self.assertEqual(response.status_code, 302, response.content[:2000])
        invitation = Invitation.objects.get(pk=self.invitation.pk)
        self.assertEqual(
            (invitation.role, invitation.email, invitation.organization), ("analyst", "mine@example.com", self.org)
        )
        event = AuditEvent.objects.get(object_id=str(invitation.pk), action="update")
        self.assertEqual((event.actor, event.organization), (self.admin, self.org))
        self.assertEqual(event.changes["role"], ["viewer", "analyst"])


class StaffWithoutAdminRoleTests(AdminTestCase):
    def test_analysts_and_viewers_get_no_access(self):
        for user in (self.analyst, self.viewer):
            client = self.admin_client_for(user)
            response = client.get(reverse("admin:index"))
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response.context["app_list"], [])
            self.assertEqual(client.get(reverse("admin:app_list", args=["organizations"])).status_code, 404)
            for model in (Organization, Membership, Invitation, User):
                self.assert_admin_model_denied(client, model)
            for obj in (self.org, self.viewer_membership, self.invitation):
                self.assertEqual(client.get(self.change_url(obj)).status_code, 403)
                self.assertEqual(client.post(self.change_url(obj), {"role": "admin", "name": "X"}).status_code, 403)
            response, _ids = self.admin_autocomplete_ids(client, Membership, "organization")
            self.assertEqual(response.status_code, 403)
        self.assertEqual(Membership.objects.get(pk=self.viewer_membership.pk).role, Role.VIEWER)
        self.assertEqual(Organization.objects.get(pk=self.org.pk).name, "Acme Capital")
