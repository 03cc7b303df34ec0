"""Predictions and audit events in Django admin: read-only and scoped to the tenant administrator's organization."""

from accunode.api.testing import AdminScopingTestMixin, OrgScopedAPITestCase
from organizations.audit import audit_event_record
from organizations.models import AuditEvent
from predictions.models import Prediction
from predictions.tests.factories import CompanyFactory, PredictionFactory


def stored_prediction(organization, symbol):
    return PredictionFactory(company=CompanyFactory(organization=organization, symbol=symbol))


class PredictionAdminScopingTests(AdminScopingTestMixin, OrgScopedAPITestCase):
    def setUp(self):
        self.mine = stored_prediction(self.org, "MINE")
        self.theirs = stored_prediction(self.other_org, "THEIRS")

    def test_changelist_and_objects_are_scoped(self):
        client = self.admin_client_for(self.admin)
        self.assert_admin_changelist_scoped(
            client, Prediction, visible=[self.mine], hidden=[self.theirs], search="THEIRS"
        )
        self.assert_admin_object_unreachable(client, self.theirs, change_data={"probability": "0.9"})

    def test_own_prediction_is_viewable_not_editable(self):
        client = self.admin_client_for(self.admin)
        self.assertEqual(client.get(self.admin_url(self.mine, "change", self.mine.pk)).status_code, 200)
        client.post(self.admin_url(self.mine, "change", self.mine.pk), {"probability": "0.9"})
        self.mine.refresh_from_db()
        self.assertEqual(self.mine.probability, 0.01)

    def test_lower_roles_are_denied(self):
        self.assert_admin_model_denied(self.admin_client_for(self.analyst), Prediction)


class AuditEventAdminScopingTests(AdminScopingTestMixin, OrgScopedAPITestCase):
    def test_audit_events_are_scoped(self):
        mine = audit_event_record(
            organization=self.org, actor=self.admin, action="create", target=stored_prediction(self.org, "A")
        )
        theirs = audit_event_record(
            organization=self.other_org,
            actor=self.other_admin,
            action="create",
            target=stored_prediction(self.other_org, "B"),
        )
        client = self.admin_client_for(self.admin)
        self.assert_admin_changelist_scoped(client, AuditEvent, visible=[mine], hidden=[theirs])
        self.assert_admin_object_unreachable(client, theirs, change_data={"action": "delete"})

    def test_nobody_deletes_audit_events_not_even_a_superuser(self):
        from accounts.tests.factories import UserFactory

        event = audit_event_record(
            organization=self.org, actor=self.admin, action="create", target=stored_prediction(self.org, "KEEP")
        )
        superuser = UserFactory(is_staff=True, is_superuser=True)
        for user in (self.admin, superuser):
            client = self.admin_client_for(user)
            self.assertEqual(client.get(self.admin_url(event, "delete", event.pk)).status_code, 403)
            client.post(self.admin_url(event, "delete", event.pk), {"post": "yes"})
        self.assertTrue(AuditEvent.objects.filter(pk=event.pk).exists())


class PredictionAdminDeleteTests(AdminScopingTestMixin, OrgScopedAPITestCase):
    def test_delete_through_admin_keeps_the_company_summary_and_audits(self):
        prediction = stored_prediction(self.org, "GONE")
        from predictions.services import company_summaries_refresh

        company_summaries_refresh(company_ids=[prediction.company_id])
        client = self.admin_client_for(self.admin)
        response = client.post(self.admin_url(prediction, "delete", prediction.pk), {"post": "yes"})
        self.assertEqual(response.status_code, 302)
        self.assertFalse(Prediction.objects.filter(pk=prediction.pk).exists())
        prediction.company.refresh_from_db()
        self.assertEqual(prediction.company.prediction_count, 0)
        self.assertIsNone(prediction.company.latest_annual_prediction_id)
        self.assertTrue(AuditEvent.objects.filter(object_id=str(prediction.pk), action="delete").exists())


class BulkJobAdminScopingTests(AdminScopingTestMixin, OrgScopedAPITestCase):
    def test_bulk_jobs_are_scoped_and_read_only(self):
        from predictions.models import BulkJob

        mine = BulkJob.objects.create(organization=self.org, kind="annual", file="a.csv", file_name="mine.csv")
        theirs = BulkJob.objects.create(
            organization=self.other_org, kind="annual", file="b.csv", file_name="theirs.csv"
        )
        client = self.admin_client_for(self.admin)
        self.assert_admin_changelist_scoped(client, BulkJob, visible=[mine], hidden=[theirs], search="theirs")
        self.assert_admin_object_unreachable(client, theirs, change_data={"status": "succeeded"})
        client.post(self.admin_url(mine, "change", mine.pk), {"status": "succeeded"})
        mine.refresh_from_db()
        self.assertEqual(mine.status, "queued")
        self.assert_admin_model_denied(self.admin_client_for(self.analyst), BulkJob)

    def test_a_running_job_cannot_be_deleted_a_finished_one_can(self):
        from predictions.models import BulkJob

        running = BulkJob.objects.create(
            organization=self.org, kind="annual", file="r.csv", file_name="r.csv", status="running"
        )
        done = BulkJob.objects.create(
            organization=self.org, kind="annual", file="d.csv", file_name="d.csv", status="succeeded"
        )
        client = self.admin_client_for(self.admin)
        client.post(self.admin_url(running, "delete", running.pk), {"post": "yes"})
        self.assertTrue(BulkJob.objects.filter(pk=running.pk).exists())
        client.post(self.admin_url(done, "delete", done.pk), {"post": "yes"})
        self.assertFalse(BulkJob.objects.filter(pk=done.pk).exists())

    def test_deleting_an_ended_job_audits_it_and_removes_its_file(self):
        from django.core.files.base import ContentFile
        from django.core.files.storage import default_storage

        from predictions.models import BulkJob

        stored = default_storage.save(f"bulk/{self.org.pk}/admin-delete.csv", ContentFile(b"symbol\nX\n"))
        job = BulkJob.objects.create(
            organization=self.org, kind="annual", file=stored, file_name="d.csv", status="succeeded"
        )
        client = self.admin_client_for(self.admin)

        with self.captureOnCommitCallbacks(execute=True):
            client.post(self.admin_url(job, "delete", job.pk), {"post": "yes"})

        self.assertFalse(BulkJob.objects.filter(pk=job.pk).exists())
        self.assertFalse(default_storage.exists(stored))
        event = AuditEvent.objects.get(object_id=str(job.pk))
        self.assertEqual((event.action, event.actor, event.organization), ("delete", self.admin, self.org))
