"""The principal cache: no SQL for the caller on a warm request, and never a stale user or membership."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from accunode.api.testing import OrgScopedAPITestCase
from organizations import principals
from organizations.choices import Role
from organizations.models import Membership
from organizations.services import membership_remove, membership_update_role

STATS = "/api/v1/predictions/stats/"
PROFILE = "/api/v1/users/profile/"


def caller_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "accounts_user" in q["sql"] or "organizations_membership" in q["sql"]]


class PrincipalCacheTests(OrgScopedAPITestCase):
    def test_a_warm_request_reads_neither_the_user_nor_the_memberships(self):
        client = self.client_for(self.viewer)
        with CaptureQueriesContext(connection) as cold:
            self.assertEqual(client.get(STATS).status_code, 200)
        self.assertEqual(len(caller_queries(cold.captured_queries)), 2)  # user, memberships with organizations
        with CaptureQueriesContext(connection) as warm:
            self.assertEqual(client.get(STATS).status_code, 200)
        self.assertEqual(caller_queries(warm.captured_queries), [])

    def test_a_role_change_applies_to_the_next_request(self):
        client = self.client_for(self.analyst)
        client.get(STATS)
        membership = Membership.objects.get(user=self.analyst, organization=self.org)
        membership_update_role(membership=membership, role=Role.VIEWER, actor=self.admin)
        response = client.post("/api/v1/companies/", {"symbol": "NEW", "name": "New Co"}, format="json")
        self.assert_error(response, 403, "permission_denied")

    def test_a_removed_member_loses_access_at_once(self):
        client = self.client_for(self.viewer)
        client.get(STATS)
        membership_remove(membership=Membership.objects.get(user=self.viewer), actor=self.admin)
        self.assert_error(client.get(STATS), 403, "permission_denied")

    def test_a_deactivated_user_is_refused_at_once(self):
        client = self.client_for(self.viewer)
        client.get(STATS)
        self.viewer.is_active = False
        self.viewer.save(update_fields=["is_active"])
        self.assert_error(client.get(STATS), 401, "token_not_valid")

    def test_a_new_membership_and_a_renamed_organization_are_seen(self):
        client = self.client_for(self.viewer)
        client.get(PROFILE)
        Membership.objects.create(user=self.viewer, organization=self.other_org, role=Role.VIEWER)
        self.other_org.name = "Rival Bank Renamed"
        self.other_org.save(update_fields=["name"])
        response = client.get(STATS, HTTP_X_ORGANIZATION=str(self.other_org.pk))
        self.assertEqual(response.status_code, 200)
        names = {row["name"] for row in client.get(PROFILE).json()["organizations"]}
        self.assertEqual(names, {"Acme Capital", "Rival Bank Renamed"})

    def test_an_entry_written_late_under_a_replaced_version_is_never_read(self):
        """A request that read the database before a change committed may store its entry after the change
        invalidated the cache: that entry carries the old version and is not used."""
        principals.principal_load(self.viewer.pk)
        stale_entry = cache.get(principals._entry_key(self.viewer.pk))
        membership_update_role(membership=Membership.objects.get(user=self.viewer), role=Role.ANALYST, actor=self.admin)
        cache.set(principals._entry_key(self.viewer.pk), stale_entry)  # the late write
        fresh = principals.principal_load(self.viewer.pk)
        self.assertEqual([m.role for m in fresh.cached_memberships], [Role.ANALYST])

    def test_an_unknown_user_is_none(self):
        self.assertIsNone(principals.principal_load("00000000-0000-0000-0000-000000000000"))

    def test_the_version_is_replaced_again_at_commit(self):
        """Between a change and its commit, a concurrent request still reads the old rows and may cache them under
        the version the change has just set: replacing the version once more at commit makes that entry unusable."""
        principals.principal_load(self.viewer.pk)
        with self.captureOnCommitCallbacks(execute=False) as callbacks:
            membership_update_role(
                membership=Membership.objects.get(user=self.viewer), role=Role.ANALYST, actor=self.admin
            )
        stale = principals._principal_from_database(self.viewer.pk)
        stale.cached_memberships[0].role = Role.VIEWER  # what a reader outside the transaction would still see
        version_during_transaction = cache.get(principals._version_key(self.viewer.pk))
        cache.set(principals._entry_key(self.viewer.pk), (version_during_transaction, stale, stale.cached_memberships))
        for callback in callbacks:
            callback()
        fresh = principals.principal_load(self.viewer.pk)
        self.assertEqual([m.role for m in fresh.cached_memberships], [Role.ANALYST])

    def test_a_deleted_organization_or_user_loses_access_at_once(self):
        viewer_client, other_client = self.client_for(self.viewer), self.client_for(self.other_viewer)
        viewer_client.get(STATS)
        other_client.get(STATS)
        self.other_org.delete()
        self.assert_error(other_client.get(STATS), 403, "permission_denied")
        self.viewer.delete()
        self.assertEqual(viewer_client.get(STATS).status_code, 401)

    @override_settings(ACCUNODE_PRINCIPAL_CACHE=False)
    def test_without_a_shared_cache_every_request_reads_the_database(self):
        client = self.client_for(self.viewer)
        client.get(STATS)
        with CaptureQueriesContext(connection) as second:
            self.assertEqual(client.get(STATS).status_code, 200)
        self.assertEqual(len(caller_queries(second.captured_queries)), 2)
