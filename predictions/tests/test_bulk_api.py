"""Bulk scoring API: upload checks before any job exists (400/413/415), roles, tenancy, switches, job endpoints."""

from __future__ import annotations

import shutil
import tempfile
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from accunode.api.testing import OrgScopedAPITestCase
from organizations.models import AuditEvent
from predictions.choices import BulkJobStatus
from predictions.models import BulkJob, Prediction
from predictions.tests.bulk_files import ANNUAL_HEADER, csv_bytes, read_results, statement_row, xlsx_bytes

UPLOAD = "/api/v1/predictions/bulk-upload/"
JOBS = "/api/v1/jobs/"

JOB_KEYS = {
    "id",
    "kind",
    "status",
    "file_name",
    "total_rows",
    "processed_rows",
    "succeeded_rows",
    "failed_rows",
    "skipped_rows",
    "errors",
    "created_by",
    "created_at",
    "started_at",
    "finished_at",
    "results_url",
}


class BulkTestMixin:
    """Jobs run inline (synchronously, when the upload's transaction commits) and files go to a temporary root."""

    @classmethod
    def setUpClass(cls):
        cls._media = tempfile.mkdtemp(prefix="accunode-bulk-test-")
        cls._settings = override_settings(
            MEDIA_ROOT=cls._media, ACCUNODE_JOBS_IN_PROCESS=True, ACCUNODE_BULK_JOBS_IN_PROCESS_MODE="inline"
        )
        cls._settings.enable()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls._settings.disable()
        shutil.rmtree(cls._media, ignore_errors=True)

    def upload(self, content: bytes, *, user=None, name="rows.csv", kind="annual", content_type="text/csv", **fields):
        data = {"file": SimpleUploadedFile(name, content, content_type=content_type), "kind": kind, **fields}
        with self.captureOnCommitCallbacks(execute=True):
            return self.client_for(user or self.analyst).post(UPLOAD, data, format="multipart")


class BulkUploadApiTests(BulkTestMixin, OrgScopedAPITestCase):
    def test_upload_answers_202_with_location_and_the_job(self):
        rows = [statement_row(f"S{i}", 2020) for i in range(3)]
        response = self.upload(csv_bytes(rows), name="portfolio.csv")
        self.assertEqual(response.status_code, 202, response.content)
        job = response.json()["job"]
        self.assertEqual(set(job), JOB_KEYS)
        self.assertEqual(response["Location"], f"/api/v1/jobs/{job['id']}/")
        self.assertEqual(job["file_name"], "portfolio.csv")
        self.assertEqual(job["results_url"], f"/api/v1/jobs/{job['id']}/results/")
        detail = self.client_for(self.viewer).get(response["Location"]).json()
        self.assertEqual(set(detail), JOB_KEYS)
        self.assertEqual(detail["status"], "succeeded")
        self.assertEqual((detail["total_rows"], detail["processed_rows"], detail["succeeded_rows"]), (3, 3, 3))
        self.assertEqual(detail["created_by"]["email"], self.analyst.email)
        self.assertEqual(Prediction.objects.filter(organization=self.org, source="bulk").count(), 3)
        stored = Prediction.objects.filter(organization=self.org).first()
        self.assertIsNone(stored.drivers)  # computed on first view, not inline
        self.assertIsNone(stored.ratios)
        self.assertEqual(stored.bulk_job_id, BulkJob.objects.get().pk)
        # one audit event for the whole job, not one per row
        self.assertEqual(AuditEvent.objects.filter(object_type="predictions.bulkjob").count(), 1)
        self.assertEqual(AuditEvent.objects.filter(object_type="predictions.prediction").count(), 0)
        listed = self.client_for(self.viewer).get("/api/v1/predictions/annual/").json()
        self.assertEqual({(p["ratios"], p["drivers"]) for p in listed["results"]}, {(None, None)})
        # the first view of a bulk prediction computes its ratios and drivers, and keeps them
        viewed = self.client_for(self.viewer).get(f"/api/v1/predictions/annual/{stored.pk}/").json()
        self.assertTrue(3 <= len(viewed["drivers"]) <= 8)
        self.assertIn("working_capital_to_total_assets", viewed["ratios"])
        stored.refresh_from_db()
        self.assertEqual(stored.drivers, viewed["drivers"])
        self.assertEqual(set(stored.ratios), set(viewed["ratios"]))
        self.assertAlmostEqual(
            stored.ratios["working_capital_to_total_assets"], viewed["ratios"]["working_capital_to_total_assets"]
        )

    def assert_header_error(self, content: bytes, *columns: str, name="rows.csv", kind="annual"):
        response = self.upload(content, name=name, kind=kind)
        error = self.assert_error(response, 400, "validation_error")
        for column in columns:
            self.assertIn(column, error["details"])
            self.assertIn(column, error["message"])
        self.assertFalse(BulkJob.objects.exists())
        return error

    def test_header_problems_are_400_naming_the_columns_before_any_job_exists(self):
        header = [c for c in ANNUAL_HEADER if c not in ("total_assets", "symbol")] + ["colour"]
        error = self.assert_header_error(
            csv_bytes([statement_row("A", 2020)], header), "total_assets", "symbol", "colour"
        )
        self.assertEqual(error["details"]["total_assets"], ["Required column is missing."])
        self.assertEqual(error["details"]["colour"], ["Unknown column."])

    def test_quarterly_file_needs_the_quarter_column(self):
        self.assert_header_error(csv_bytes([statement_row("A", 2020)]), "reporting_quarter", kind="quarterly")

    def test_empty_header_only_delimiter_binary_and_broken_xlsx_are_400(self):
        cases = {
            "empty": (b"", "rows.csv", "empty"),
            "blank lines": (b"\n\n  \n", "rows.csv", "empty"),
            "header only": (csv_bytes([]), "rows.csv", "no data rows"),
            "semicolons": (csv_bytes([statement_row("A", 2020)], delimiter=";"), "rows.csv", "comma"),
            "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "rows.csv", "binary"),
            "latin-1": ("symbol,name\nÉ,Crème\n".encode("latin-1"), "rows.csv", "UTF-8"),
            "broken xlsx": (b"PK\x03\x04 this is not a workbook", "rows.xlsx", "Excel"),
            "xlsx header only": (xlsx_bytes([]), "rows.xlsx", "no data rows"),
        }
        for label, (content, name, words) in cases.items():
            with self.subTest(label):
                error = self.assert_error(self.upload(content, name=name), 400, "validation_error")
                self.assertIn(words, error["message"])
        self.assertFalse(BulkJob.objects.exists())

    def test_over_the_size_limit_is_413(self):
        rows = [statement_row(f"S{i}", 2020) for i in range(3000)]  # ~0.5 MB
        content = csv_bytes(rows)
        self.assertGreater(len(content), 300 * 1024)
        with override_settings(ACCUNODE_BULK_UPLOAD_MAX_SIZE_MB=0):
            error = self.assert_error(self.upload(content), 413, "payload_too_large")
        self.assertIn("0 MB", error["message"])
        self.assertFalse(BulkJob.objects.exists())

    def test_a_large_upload_streams_to_a_temporary_file_without_400(self):
        rows = [statement_row(f"S{i}", 2000 + i % 20) for i in range(40_000)]  # ~7 MB > FILE_UPLOAD_MAX_MEMORY_SIZE
        with mock.patch("predictions.bulk.bulk_job_enqueue"):  # the upload and its checks only
            response = self.upload(csv_bytes(rows))
        self.assertEqual(response.status_code, 202, response.content[:300])

    def test_wrong_media_types_are_415(self):
        response = self.client_for(self.analyst).post(UPLOAD, {"kind": "annual"}, format="json")
        self.assert_error(response, 415, "unsupported_media_type")
        error = self.assert_error(
            self.upload(b"%PDF-1.4", name="rows.pdf", content_type="application/pdf"), 415, "unsupported_media_type"
        )
        self.assertIn("CSV", error["message"])

    def test_form_fields_are_validated(self):
        error = self.assert_error(
            self.upload(csv_bytes([statement_row("A", 2020)]), kind="monthly"), 400, "validation_error"
        )
        self.assertIn("kind", error["details"])
        response = self.upload(csv_bytes([statement_row("A", 2020)]), on_duplicate="merge")
        self.assertIn("on_duplicate", self.assert_error(response, 400, "validation_error")["details"])

    def test_viewer_cannot_upload(self):
        self.assert_error(
            self.upload(csv_bytes([statement_row("A", 2020)]), user=self.viewer), 403, "permission_denied"
        )

    def test_bulk_rate_limit(self):
        content = csv_bytes([statement_row("A", 2020)])
        with override_settings(ACCUNODE_RATE_LIMITS={**self._limits(), "bulk_upload_user": "2/h"}):
            for _ in range(2):
                self.assertEqual(self.upload(content).status_code, 202)
            response = self.upload(content)
            self.assert_error(response, 429, "rate_limited")
            self.assertIn("Retry-After", response)

    @staticmethod
    def _limits():
        from django.conf import settings

        return dict(settings.ACCUNODE_RATE_LIMITS)

    @override_settings(ACCUNODE_ENABLE_BULK_UPLOAD=False)
    def test_switched_off_bulk_endpoints_are_404(self):
        job = self._job(self.org)
        self.assert_error(self.upload(csv_bytes([statement_row("A", 2020)])), 404, "not_found")
        client = self.client_for(self.admin)
        for url in (JOBS, f"{JOBS}{job.pk}/", f"{JOBS}{job.pk}/results/"):
            self.assert_error(client.get(url), 404, "not_found")
        self.assert_error(client.post(f"{JOBS}{job.pk}/cancel/"), 404, "not_found")

    def _job(self, organization, **fields) -> BulkJob:
        return BulkJob.objects.create(
            organization=organization, kind="annual", file="bulk/x.csv", file_name="x.csv", **fields
        )


class BulkJobApiTests(BulkTestMixin, OrgScopedAPITestCase):
    def test_list_is_newest_first_paginated_and_scoped(self):
        older = BulkJob.objects.create(organization=self.org, kind="annual", file="a", file_name="a.csv")
        newer = BulkJob.objects.create(organization=self.org, kind="annual", file="b", file_name="b.csv")
        BulkJob.objects.create(organization=self.other_org, kind="annual", file="c", file_name="c.csv")
        body = self.client_for(self.viewer).get(JOBS).json()
        self.assertEqual(body["count"], 2)
        self.assertEqual([job["id"] for job in body["results"]], [str(newer.pk), str(older.pk)])
        self.assertEqual(set(body), {"count", "next", "previous", "results"})

    def test_other_organizations_job_is_404_everywhere(self):
        theirs = BulkJob.objects.create(organization=self.other_org, kind="annual", file="c", file_name="c.csv")
        for user in (self.admin, self.analyst, self.viewer):
            client = self.client_for(user)
            self.assert_error(client.get(f"{JOBS}{theirs.pk}/"), 404, "not_found")
            self.assert_error(client.get(f"{JOBS}{theirs.pk}/results/"), 404, "not_found")
            self.assert_error(client.post(f"{JOBS}{theirs.pk}/cancel/"), 404, "not_found")
        theirs.refresh_from_db()
        self.assertFalse(theirs.cancel_requested)
        self.assertEqual(theirs.status, BulkJobStatus.QUEUED)

    def test_cancel_a_queued_job_needs_analyst_and_is_final(self):
        job = BulkJob.objects.create(organization=self.org, kind="annual", file="a", file_name="a.csv")
        self.assert_error(self.client_for(self.viewer).post(f"{JOBS}{job.pk}/cancel/"), 403, "permission_denied")
        response = self.client_for(self.analyst).post(f"{JOBS}{job.pk}/cancel/")
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["job"]["status"], "cancelled")
        self.assertIsNotNone(response.json()["job"]["finished_at"])
        self.assert_error(self.client_for(self.analyst).post(f"{JOBS}{job.pk}/cancel/"), 409, "conflict")

    def test_results_of_a_running_job_are_409(self):
        job = BulkJob.objects.create(
            organization=self.org, kind="annual", file="a", file_name="a.csv", status="running"
        )
        self.assert_error(self.client_for(self.viewer).get(f"{JOBS}{job.pk}/results/"), 409, "conflict")

    def test_results_csv_round_trip_with_formula_cells_made_safe(self):
        rows = [
            statement_row("SAFE", 2020, name='=HYPERLINK("http://evil")', sector="+cmd|' /C calc'!A0"),
            statement_row("TAB", 2020, name="\tTabbed", sector="@SUM(A1)", net_income=-12.5),
            statement_row("BAD", 2020, total_assets="-1"),
        ]
        response = self.upload(csv_bytes(rows))
        job_id = response.json()["job"]["id"]
        download = self.client_for(self.viewer).get(f"{JOBS}{job_id}/results/")
        self.assertEqual(download.status_code, 200)
        self.assertTrue(download["Content-Type"].startswith("text/csv"))
        results = read_results(b"".join(download.streaming_content))
        self.assertEqual(list(results[0])[-5:], ["probability", "risk_level", "rating", "status", "error"])
        self.assertEqual(list(results[0])[: len(ANNUAL_HEADER)], ANNUAL_HEADER)
        first, second, bad = results
        self.assertEqual(first["name"], '\'=HYPERLINK("http://evil")')
        self.assertEqual(first["sector"], "'+cmd|' /C calc'!A0")
        self.assertEqual(second["name"], "'\tTabbed")
        self.assertEqual(second["sector"], "'@SUM(A1)")
        self.assertEqual(second["net_income"], "-12.5")  # numbers are not text: never prefixed
        self.assertEqual(first["status"], "created")
        self.assertTrue(0 < float(first["probability"]) < 1)
        self.assertIn(first["risk_level"], {"LOW", "MEDIUM", "HIGH", "CRITICAL"})
        self.assertEqual(bad["status"], "failed")
        self.assertEqual(bad["total_assets"], "-1")  # a number, as given
        self.assertEqual(bad["error"], "total_assets: Must be greater than 0.")
        self.assertEqual(bad["probability"], "")
        self.assertEqual(
            response.json()["job"]["status"], "queued"
        )  # answered before the (inline, on-commit) run started
