"""Organizations API: members only, roles per action, other organizations are 404, every error in the envelope."""

import hashlib
import re
import uuid
from datetime import timedelta

from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accunode.api.testing import OrgScopedAPITestCase, make_member
from organizations.choices import Role
from organizations.models import AuditEvent, Invitation, Membership
from organizations.tests.factories import InvitationFactory

TOKEN_IN_LINK = re.compile(r"/register\?invitation_token=([A-Za-z0-9_\-]+)")


def org_url(organization, suffix: str = "") -> str:
    organization_id = getattr(organization, "pk", organization)
    return f"/api/v1/organizations/{organization_id}/{suffix}"


def member_url(organization, user) -> str:
    return org_url(organization, f"members/{getattr(user, 'pk', user)}/")


def invitation_url(organization, invitation) -> str:
    return org_url(organization, f"invitations/{getattr(invitation, 'pk', invitation)}/")


class OrganizationDetailTests(OrgScopedAPITestCase):
    def test_every_member_reads_the_organization(self):
        for user in (self.admin, self.analyst, self.viewer):
            response = self.client_for(user).get(org_url(self.org))
            self.assertEqual(response.status_code, 200)
            body = response.json()
            self.assertEqual(set(body), {"id", "name", "slug", "created_at", "member_count"})
            self.assertEqual(body["id"], str(self.org.pk))
            self.assertEqual(body["name"], "Acme Capital")
            self.assertEqual(body["slug"], "acme-capital")
            self.assertEqual(body["member_count"], 3)

    def test_another_organization_is_not_found_for_every_role(self):
        self.assert_cross_organization_404(org_url(self.other_org), methods=("get",))

    def test_unknown_and_malformed_ids_are_not_found(self):
        client = self.client_for(self.admin)
        self.assert_error(client.get(org_url(uuid.uuid4())), 404, "not_found")
        self.assert_error(client.get("/api/v1/organizations/not-a-uuid/"), 404, "not_found")

    def test_anonymous_is_401(self):
        self.assert_error(self.client.get(org_url(self.org)), 401, "not_authenticated")

    def test_bad_token_is_401(self):
        self.client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
        self.assert_error(self.client.get(org_url(self.org)), 401, "token_not_valid")

    def test_writes_are_method_not_allowed_for_members(self):
        client = self.client_for(self.admin)
        for method in ("post", "put", "patch", "delete"):
            response = getattr(client, method)(org_url(self.org), {"name": "Renamed"}, format="json")
            self.assert_error(response, 405, "method_not_allowed")
            self.assertIn("GET", response["Allow"])
        self.org.refresh_from_db()
        self.assertEqual(self.org.name, "Acme Capital")

    def test_writes_to_another_organization_are_not_found_not_405(self):
        # A non-member learns nothing, not even which methods exist.
        self.assert_cross_organization_404(org_url(self.other_org), methods=("post", "put", "patch", "delete"))

    def test_the_url_organization_wins_over_x_organization(self):
        make_member_of_other = Membership.objects.create(user=self.admin, organization=self.other_org, role="viewer")
        client = self.client_for(self.admin)
        response = client.get(org_url(self.org), HTTP_X_ORGANIZATION=str(self.other_org.pk))
        self.assertEqual(response.json()["id"], str(self.org.pk))
        response = client.get(org_url(self.other_org))
        self.assertEqual(response.json()["id"], str(self.other_org.pk))
        make_member_of_other.delete()
        self.assert_error(client.get(org_url(self.other_org)), 404, "not_found")


class MemberListTests(OrgScopedAPITestCase):
    def test_every_member_lists_the_members(self):
        for user in (self.admin, self.analyst, self.viewer):
            response = self.client_for(user).get(org_url(self.org, "members/"))
            self.assertEqual(response.status_code, 200)
            body = response.json()
            self.assertEqual(set(body), {"count", "next", "previous", "results"})
            self.assertEqual(body["count"], 3)
            emails = [row["user"]["email"] for row in body["results"]]
            self.assertEqual(emails, sorted([self.admin.email, self.analyst.email, self.viewer.email]))
            row = next(row for row in body["results"] if row["user"]["email"] == self.analyst.email)
            self.assertEqual(set(row), {"user", "role", "joined_at"})
            self.assertEqual(set(row["user"]), {"id", "email", "full_name"})
            self.assertEqual(row["user"]["id"], str(self.analyst.pk))
            self.assertEqual(row["user"]["full_name"], self.analyst.full_name)
            self.assertEqual(row["role"], "analyst")

    def test_another_organizations_members_are_not_found(self):
        self.assert_cross_organization_404(org_url(self.other_org, "members/"), methods=("get",))

    def test_pagination(self):
        for _ in range(4):
            make_member(self.org, Role.VIEWER)
        body = self.client_for(self.viewer).get(org_url(self.org, "members/"), {"page_size": 5}).json()
        self.assertEqual(body["count"], 7)
        self.assertEqual(len(body["results"]), 5)
        self.assertIsNotNone(body["next"])
        self.assert_error(
            self.client_for(self.viewer).get(org_url(self.org, "members/"), {"page": 9}), 404, "not_found"
        )

    def test_query_count_does_not_grow_with_members(self):
        client = self.client_for(self.viewer)
        client.get(org_url(self.org, "members/"))  # loads the caller into the principal cache
        with CaptureQueriesContext(connection) as few:
            client.get(org_url(self.org, "members/"))
        for _ in range(20):
            make_member(self.org, Role.VIEWER)
        with self.assertNumQueries(len(few.captured_queries)):
            response = client.get(org_url(self.org, "members/"))
        self.assertEqual(response.json()["count"], 23)
        self.assertLessEqual(len(few.captured_queries), 5)


class MemberUpdateTests(OrgScopedAPITestCase):
    def test_admin_changes_a_role(self):
        response = self.client_for(self.admin).patch(member_url(self.org, self.viewer), {"role": "analyst"})
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["role"], "analyst")
        self.assertEqual(response.json()["user"]["id"], str(self.viewer.pk))
        self.assertEqual(Membership.objects.get(user=self.viewer, organization=self.org).role, "analyst")
        event = AuditEvent.objects.get(organization=self.org, object_type="organizations.membership")
        self.assertEqual(
            (event.actor, event.action, event.changes), (self.admin, "update", {"role": ["viewer", "analyst"]})
        )

    def test_analyst_and_viewer_are_refused(self):
        for user in (self.analyst, self.viewer):
            response = self.client_for(user).patch(member_url(self.org, self.viewer), {"role": "admin"})
            self.assert_error(response, 403, "permission_denied")
        self.assertEqual(Membership.objects.get(user=self.viewer, organization=self.org).role, "viewer")

    def test_last_admin_cannot_be_demoted(self):
        error = self.assert_error(
            self.client_for(self.admin).patch(member_url(self.org, self.admin), {"role": "analyst"}), 409, "conflict"
        )
        self.assertIn("admin", error["message"])
        self.assertEqual(Membership.objects.get(user=self.admin, organization=self.org).role, "admin")

    def test_an_admin_can_be_demoted_when_another_remains(self):
        self.client_for(self.admin).patch(member_url(self.org, self.analyst), {"role": "admin"})
        response = self.client_for(self.analyst).patch(member_url(self.org, self.admin), {"role": "viewer"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(Membership.objects.get(user=self.admin, organization=self.org).role, "viewer")

    def test_unknown_user_and_other_organizations_user_are_not_found(self):
        client = self.client_for(self.admin)
        self.assert_error(client.patch(member_url(self.org, uuid.uuid4()), {"role": "admin"}), 404, "not_found")
        self.assert_error(client.patch(member_url(self.org, self.other_viewer), {"role": "admin"}), 404, "not_found")
        self.assertEqual(Membership.objects.get(user=self.other_viewer).role, "viewer")

    def test_another_organizations_members_are_not_found(self):
        self.assert_cross_organization_404(
            member_url(self.other_org, self.other_viewer), methods=("patch", "delete"), data={"role": "admin"}
        )
        self.assertEqual(Membership.objects.get(user=self.other_viewer).role, "viewer")
        self.assertEqual(Membership.objects.filter(organization=self.other_org).count(), 3)

    def test_invalid_role_and_unknown_fields_are_validation_errors(self):
        client = self.client_for(self.admin)
        error = self.assert_error(
            client.patch(member_url(self.org, self.viewer), {"role": "owner"}), 400, "validation_error"
        )
        self.assertIn("role", error["details"])
        error = self.assert_error(
            client.patch(member_url(self.org, self.viewer), {"role": "admin", "organization": str(self.other_org.pk)}),
            400,
            "validation_error",
        )
        self.assertIn("organization", error["details"])
        response = client.generic(
            "PATCH", member_url(self.org, self.viewer), "{not json", content_type="application/json"
        )
        self.assert_error(response, 400, "validation_error")
        self.assertEqual(Membership.objects.get(user=self.viewer, organization=self.org).role, "viewer")

    def test_patch_without_role_changes_nothing(self):
        response = self.client_for(self.admin).patch(member_url(self.org, self.viewer), {})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["role"], "viewer")
        self.assertFalse(AuditEvent.objects.exists())

    def test_put_is_method_not_allowed(self):
        response = self.client_for(self.admin).put(member_url(self.org, self.viewer), {"role": "admin"})
        self.assert_error(response, 405, "method_not_allowed")
        self.assertIn("PATCH", response["Allow"])


class MemberRemoveTests(OrgScopedAPITestCase):
    def test_admin_removes_a_member_and_their_default_organization_is_cleared(self):
        response = self.client_for(self.admin).delete(member_url(self.org, self.viewer))
        self.assertEqual(response.status_code, 204)
        self.assertFalse(Membership.objects.filter(user=self.viewer).exists())
        self.viewer.refresh_from_db()
        self.assertIsNone(self.viewer.default_organization)
        self.assertTrue(AuditEvent.objects.filter(organization=self.org, action="delete", actor=self.admin).exists())
        self.assert_error(self.client_for(self.viewer).get(org_url(self.org)), 404, "not_found")

    def test_another_default_organization_is_kept(self):
        Membership.objects.create(user=self.other_viewer, organization=self.org, role=Role.VIEWER)
        self.assertEqual(self.client_for(self.admin).delete(member_url(self.org, self.other_viewer)).status_code, 204)
        self.other_viewer.refresh_from_db()
        self.assertEqual(self.other_viewer.default_organization, self.other_org)

    def test_analyst_and_viewer_are_refused(self):
        for user in (self.analyst, self.viewer):
            self.assert_error(self.client_for(user).delete(member_url(self.org, self.viewer)), 403, "permission_denied")
        self.assertEqual(Membership.objects.filter(organization=self.org).count(), 3)

    def test_last_admin_cannot_be_removed(self):
        self.assert_error(self.client_for(self.admin).delete(member_url(self.org, self.admin)), 409, "conflict")
        self.assertTrue(Membership.objects.filter(user=self.admin, organization=self.org, role="admin").exists())

    def test_an_admin_leaves_when_another_admin_remains(self):
        Membership.objects.filter(user=self.analyst).update(role=Role.ADMIN)
        self.assertEqual(self.client_for(self.admin).delete(member_url(self.org, self.admin)).status_code, 204)

    def test_unknown_and_other_organizations_users_are_not_found(self):
        client = self.client_for(self.admin)
        self.assert_error(client.delete(member_url(self.org, uuid.uuid4())), 404, "not_found")
        self.assert_error(client.delete(member_url(self.org, self.other_viewer)), 404, "not_found")
        self.assertTrue(Membership.objects.filter(user=self.other_viewer).exists())


class InvitationCreateTests(OrgScopedAPITestCase):
    def invite(self, user=None, **data):
        payload = {"email": "New.Person@Example.com", "role": "analyst", **data}
        with self.captureOnCommitCallbacks(execute=True):
            return self.client_for(user or self.admin).post(org_url(self.org, "invitations/"), payload)

    def test_admin_invites_and_the_email_carries_the_token(self):
        before = timezone.now()
        response = self.invite()
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(set(body), {"id", "email", "role", "expires_at", "created_at"})
        self.assertEqual((body["email"], body["role"]), ("new.person@example.com", "analyst"))
        invitation = Invitation.objects.get(pk=body["id"])
        self.assertEqual((invitation.organization, invitation.invited_by), (self.org, self.admin))
        ttl = settings.ACCUNODE_INVITATION_TTL
        self.assertTrue(before + ttl <= invitation.expires_at <= timezone.now() + ttl)

        self.assertEqual(len(mail.outbox), 1)
        message = mail.outbox[0]
        self.assertEqual(message.to, ["new.person@example.com"])
        self.assertIn("Acme Capital", message.subject)
        self.assertIn(f"{settings.ACCUNODE_PUBLIC_URL}/register?invitation_token=", message.body)
        token = TOKEN_IN_LINK.search(message.body).group(1)
        self.assertGreaterEqual(len(token), 43)
        self.assertEqual(invitation.token_hash, hashlib.sha256(token.encode()).hexdigest())
        self.assertNotIn(token, response.content.decode())
        self.assertTrue(AuditEvent.objects.filter(object_id=str(invitation.pk), action="create").exists())

    def test_analyst_and_viewer_are_refused(self):
        for user in (self.analyst, self.viewer):
            self.assert_error(self.invite(user), 403, "permission_denied")
        self.assertFalse(Invitation.objects.exists())
        self.assertEqual(mail.outbox, [])

    def test_another_organization_is_not_found(self):
        self.assert_cross_organization_404(
            org_url(self.other_org, "invitations/"),
            methods=("post", "get"),
            data={"email": "x@example.com", "role": "admin"},
        )
        self.assertFalse(Invitation.objects.exists())

    def test_inviting_a_member_is_a_conflict(self):
        error = self.assert_error(self.invite(email=self.viewer.email.upper()), 409, "conflict")
        self.assertEqual(error["details"]["existing_id"], str(self.viewer.pk))
        self.assertFalse(Invitation.objects.exists())
        self.assertEqual(mail.outbox, [])

    def test_a_second_pending_invitation_is_a_conflict(self):
        first = self.invite().json()
        error = self.assert_error(self.invite(email="NEW.person@example.com"), 409, "conflict")
        self.assertEqual(error["details"]["existing_id"], first["id"])
        self.assertEqual(len(mail.outbox), 1)

    def test_an_expired_invitation_does_not_block_a_new_one(self):
        InvitationFactory(organization=self.org, email="new.person@example.com", expires_at=timezone.now())
        self.assertEqual(self.invite().status_code, 201)

    def test_a_member_of_another_organization_can_be_invited(self):
        self.assertEqual(self.invite(email=self.other_admin.email).status_code, 201)

    def test_invalid_fields_are_validation_errors(self):
        for payload, field in [
            ({"email": "not-an-email"}, "email"),
            ({"role": "owner"}, "role"),
            ({"email": ""}, "email"),
            ({"organization": str(self.other_org.pk)}, "organization"),
        ]:
            error = self.assert_error(self.invite(**payload), 400, "validation_error")
            self.assertIn(field, error["details"])
        response = self.client_for(self.admin).post(org_url(self.org, "invitations/"), {"email": "a@example.com"})
        self.assertIn("role", self.assert_error(response, 400, "validation_error")["details"])
        self.assertFalse(Invitation.objects.exists())


class InvitationListAndRevokeTests(OrgScopedAPITestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        now = timezone.now()
        cls.pending = InvitationFactory(organization=cls.org, email="pending@example.com")
        cls.older_pending = InvitationFactory(organization=cls.org, email="older@example.com")
        Invitation.objects.filter(pk=cls.older_pending.pk).update(created_at=now - timedelta(days=1))
        cls.expired = InvitationFactory(organization=cls.org, expires_at=now - timedelta(seconds=1))
        cls.accepted = InvitationFactory(organization=cls.org, accepted_at=now)
        cls.theirs = InvitationFactory(organization=cls.other_org)

    def test_admin_lists_pending_invitations_newest_first(self):
        response = self.client_for(self.admin).get(org_url(self.org, "invitations/"))
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual([row["id"] for row in body["results"]], [str(self.pending.pk), str(self.older_pending.pk)])
        self.assertEqual(set(body["results"][0]), {"id", "email", "role", "expires_at", "created_at"})

    def test_analyst_and_viewer_cannot_list(self):
        for user in (self.analyst, self.viewer):
            self.assert_error(self.client_for(user).get(org_url(self.org, "invitations/")), 403, "permission_denied")

    def test_admin_revokes_a_pending_invitation(self):
        response = self.client_for(self.admin).delete(invitation_url(self.org, self.pending))
        self.assertEqual(response.status_code, 204)
        self.assertFalse(Invitation.objects.filter(pk=self.pending.pk).exists())
        self.assertTrue(AuditEvent.objects.filter(object_id=str(self.pending.pk), action="delete").exists())

    def test_an_expired_invitation_can_be_revoked(self):
        self.assertEqual(self.client_for(self.admin).delete(invitation_url(self.org, self.expired)).status_code, 204)

    def test_an_accepted_invitation_cannot_be_revoked(self):
        self.assert_error(self.client_for(self.admin).delete(invitation_url(self.org, self.accepted)), 409, "conflict")
        self.assertTrue(Invitation.objects.filter(pk=self.accepted.pk).exists())

    def test_analyst_and_viewer_cannot_revoke(self):
        for user in (self.analyst, self.viewer):
            response = self.client_for(user).delete(invitation_url(self.org, self.pending))
            self.assert_error(response, 403, "permission_denied")
        self.assertTrue(Invitation.objects.filter(pk=self.pending.pk).exists())

    def test_other_organizations_invitations_are_not_found(self):
        client = self.client_for(self.admin)
        self.assert_error(client.delete(invitation_url(self.org, self.theirs)), 404, "not_found")
        self.assert_error(client.delete(invitation_url(self.org, uuid.uuid4())), 404, "not_found")
        self.assert_cross_organization_404(invitation_url(self.other_org, self.theirs), methods=("delete",))
        self.assertTrue(Invitation.objects.filter(pk=self.theirs.pk).exists())


class OrganizationsSchemaTests(OrgScopedAPITestCase):
    def test_the_schema_describes_every_endpoint_and_its_errors(self):
        response = self.client.get("/api/v1/schema/", {"format": "json"})
        self.assertEqual(response.status_code, 200)
        paths = response.json()["paths"]
        expected = {
            ("/api/v1/organizations/{organization_id}/", "get"): {"200", "401", "404"},
            ("/api/v1/organizations/{organization_id}/members/", "get"): {"200", "401", "404"},
            ("/api/v1/organizations/{organization_id}/members/{user_id}/", "patch"): {
                "200",
                "400",
                "403",
                "404",
                "409",
            },
            ("/api/v1/organizations/{organization_id}/members/{user_id}/", "delete"): {"204", "403", "404", "409"},
            ("/api/v1/organizations/{organization_id}/invitations/", "get"): {"200", "403", "404"},
            ("/api/v1/organizations/{organization_id}/invitations/", "post"): {"201", "400", "403", "404", "409"},
            ("/api/v1/organizations/{organization_id}/invitations/{invitation_id}/", "delete"): {
                "204",
                "403",
                "404",
                "409",
            },
        }
        for (path, method), statuses in expected.items():
            operation = paths[path][method]
            self.assertLessEqual(statuses, set(operation["responses"]), (path, method))
            for status in statuses - {"200", "201", "204"}:
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                self.assertEqual(schema["$ref"], "#/components/schemas/ErrorEnvelope")
        self.assertNotIn("put", paths["/api/v1/organizations/{organization_id}/members/{user_id}/"])
