"""Services of members and invitations: the last-admin rule, default organizations, tokens and their e-mail."""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core import mail
from django.db import transaction
from django.utils import timezone

from accunode.api.exceptions import Conflict, NotFound, ValidationFailed
from accunode.api.testing import OrgScopedAPITestCase
from organizations import selectors, services
from organizations.choices import Role
from organizations.models import AuditEvent, Invitation, Membership
from organizations.tests.factories import InvitationFactory


class MembershipServiceTests(OrgScopedAPITestCase):
    def membership(self, user) -> Membership:
        return Membership.objects.get(user=user, organization=user.default_organization)

    def test_update_role_records_an_audit_event(self):
        membership = services.membership_update_role(
            membership=self.membership(self.viewer), role=Role.ADMIN, actor=self.admin
        )
        self.assertEqual(membership.role, Role.ADMIN)
        self.assertEqual(self.membership(self.viewer).role, Role.ADMIN)
        event = AuditEvent.objects.get()
        self.assertEqual((event.organization, event.changes), (self.org, {"role": ["viewer", "admin"]}))

    def test_same_role_is_a_no_op(self):
        services.membership_update_role(membership=self.membership(self.viewer), role=Role.VIEWER, actor=self.admin)
        self.assertFalse(AuditEvent.objects.exists())

    def test_last_admin_cannot_be_demoted(self):
        with self.assertRaises(Conflict):
            services.membership_update_role(membership=self.membership(self.admin), role=Role.VIEWER, actor=self.admin)
        self.assertEqual(self.membership(self.admin).role, Role.ADMIN)

    def test_the_check_reads_the_stored_role_not_the_callers_copy(self):
        stale = self.membership(self.admin)
        stale.role = Role.VIEWER  # e.g. an admin form that already copied its data onto the instance
        with self.assertRaises(Conflict):
            services.membership_update_role(membership=stale, role=Role.VIEWER, actor=self.admin)
        self.assertEqual(self.membership(self.admin).role, Role.ADMIN)

    def test_unknown_role_is_refused(self):
        with self.assertRaises(ValidationFailed):
            services.membership_update_role(membership=self.membership(self.viewer), role="owner", actor=self.admin)

    def test_a_vanished_membership_is_not_found(self):
        membership = self.membership(self.viewer)
        Membership.objects.filter(pk=membership.pk).delete()
        with self.assertRaises(NotFound):
            services.membership_update_role(membership=membership, role=Role.ADMIN, actor=self.admin)
        with self.assertRaises(NotFound):
            services.membership_remove(membership=membership, actor=self.admin)

    def test_remove_clears_only_this_default_organization(self):
        services.membership_remove(membership=self.membership(self.viewer), actor=self.admin)
        self.viewer.refresh_from_db()
        self.assertIsNone(self.viewer.default_organization)
        second = Membership.objects.create(user=self.other_viewer, organization=self.org, role=Role.VIEWER)
        services.membership_remove(membership=second, actor=self.admin)
        self.other_viewer.refresh_from_db()
        self.assertEqual(self.other_viewer.default_organization, self.other_org)
        self.assertEqual(AuditEvent.objects.filter(action="delete", organization=self.org).count(), 2)

    def test_last_admin_cannot_be_removed_but_one_of_two_can(self):
        with self.assertRaises(Conflict):
            services.membership_remove(membership=self.membership(self.admin), actor=self.admin)
        services.membership_update_role(membership=self.membership(self.analyst), role=Role.ADMIN, actor=self.admin)
        services.membership_remove(membership=self.membership(self.admin), actor=self.admin)
        with self.assertRaises(Conflict):
            services.membership_remove(membership=self.membership(self.analyst), actor=self.analyst)

    def test_admins_of_other_organizations_do_not_count(self):
        with self.assertRaises(Conflict):
            services.membership_update_role(membership=self.membership(self.admin), role=Role.VIEWER, actor=self.admin)
        self.assertEqual(
            selectors.memberships_leaving_no_admin(memberships=[self.membership(self.admin)]),
            [self.membership(self.admin)],
        )

    def test_memberships_leaving_no_admin_considers_them_together(self):
        first, second = self.membership(self.admin), self.membership(self.analyst)
        Membership.objects.filter(pk=second.pk).update(role=Role.ADMIN)
        second.refresh_from_db()
        self.assertEqual(selectors.memberships_leaving_no_admin(memberships=[first]), [])
        self.assertEqual(selectors.memberships_leaving_no_admin(memberships=[first, second]), [first, second])
        self.assertEqual(selectors.memberships_leaving_no_admin(memberships=[self.membership(self.viewer)]), [])


class InvitationServiceTests(OrgScopedAPITestCase):
    def create(self, **kwargs):
        arguments = {
            "organization": self.org,
            "email": "Someone@Example.com",
            "role": Role.ANALYST,
            "invited_by": self.admin,
        }
        return services.invitation_create(**{**arguments, **kwargs})

    def token_from_mail(self) -> str:
        body = mail.outbox[-1].body
        prefix = f"{settings.ACCUNODE_PUBLIC_URL}/register?invitation_token="
        return body.split(prefix, 1)[1].split()[0]

    def test_create_stores_only_the_hash_and_mails_the_token_after_commit(self):
        with self.captureOnCommitCallbacks(execute=False) as callbacks:
            invitation = self.create()
        self.assertEqual(mail.outbox, [])  # nothing leaves before the invitation is committed
        for callback in callbacks:
            callback()
        self.assertEqual(len(mail.outbox), 1)
        token = self.token_from_mail()
        self.assertEqual(invitation.token_hash, hashlib.sha256(token.encode()).hexdigest())
        self.assertEqual(invitation.token_hash, services.hash_invitation_token(token))
        self.assertNotIn(token, str(Invitation.objects.filter(pk=invitation.pk).values().get()))
        self.assertEqual(invitation.email, "someone@example.com")
        self.assertAlmostEqual(
            invitation.expires_at, timezone.now() + settings.ACCUNODE_INVITATION_TTL, delta=timedelta(seconds=30)
        )
        # The accounts side finds it by the same token, and accepting it gives the invited role.
        self.assertEqual(services.invitation_get_pending_by_token(token=token), invitation)

    def test_tokens_are_unique_and_random(self):
        with self.captureOnCommitCallbacks(execute=True):
            self.create(email="a@example.com")
            self.create(email="b@example.com")
        first, second = (message.body for message in mail.outbox)
        self.assertNotEqual(first, second)
        self.assertEqual(len(set(Invitation.objects.values_list("token_hash", flat=True))), 2)

    def test_no_mail_when_the_transaction_rolls_back(self):
        with self.captureOnCommitCallbacks(execute=True):
            try:
                with transaction.atomic():
                    self.create()
                    raise RuntimeError("something later in the same transaction failed")
            except RuntimeError:
                pass
        self.assertEqual(mail.outbox, [])
        self.assertFalse(Invitation.objects.exists())

    def test_members_and_pending_invitees_are_conflicts(self):
        with self.assertRaises(Conflict) as raised:
            self.create(email=self.viewer.email.upper())
        self.assertEqual(raised.exception.details, {"existing_id": str(self.viewer.pk)})
        invitation = self.create()
        with self.assertRaises(Conflict) as raised:
            self.create(email="someone@EXAMPLE.com", role=Role.ADMIN)
        self.assertEqual(raised.exception.details, {"existing_id": str(invitation.pk)})

    def test_expired_or_other_organizations_invitations_do_not_block(self):
        InvitationFactory(organization=self.org, email="someone@example.com", expires_at=timezone.now())
        InvitationFactory(organization=self.other_org, email="someone@example.com")
        self.create()

    def test_unknown_role_is_refused(self):
        with self.assertRaises(ValidationFailed):
            self.create(role="owner")

    def test_revoke_deletes_a_pending_invitation_and_its_token_stops_working(self):
        invitation = InvitationFactory(organization=self.org, token="secret-token")
        self.assertEqual(services.invitation_get_pending_by_token(token="secret-token"), invitation)
        services.invitation_revoke(invitation=invitation, actor=self.admin)
        self.assertIsNone(services.invitation_get_pending_by_token(token="secret-token"))
        self.assertTrue(AuditEvent.objects.filter(object_id=str(invitation.pk), action="delete").exists())

    def test_an_accepted_invitation_cannot_be_revoked(self):
        invitation = InvitationFactory(organization=self.org, accepted_at=timezone.now())
        with self.assertRaises(Conflict):
            services.invitation_revoke(invitation=invitation, actor=self.admin)
        self.assertTrue(Invitation.objects.filter(pk=invitation.pk).exists())

    def test_pending_list_excludes_accepted_expired_and_other_organizations(self):
        pending = InvitationFactory(organization=self.org)
        InvitationFactory(organization=self.org, accepted_at=timezone.now())
        InvitationFactory(organization=self.org, expires_at=timezone.now() - timedelta(minutes=1))
        InvitationFactory(organization=self.other_org)
        self.assertEqual(list(selectors.invitation_list_pending(organization=self.org)), [pending])
