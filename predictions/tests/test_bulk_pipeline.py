"""Bulk pipeline: exact counts and messages on mixed files, on_duplicate modes, duplicates inside a file, BOM,
XLSX, quarterly TTM within a file, cancel, resume from the committed cursor, the import command, and both ways
a job is run (in-process and Celery)."""

from __future__ import annotations

import io
import time
from unittest import mock

from django.core.management import call_command
from django.test import TransactionTestCase, override_settings

from accunode.api.exceptions import ServiceUnavailable
from accunode.api.testing import OrgScopedAPITestCase, make_member
from companies.models import Company
from organizations.choices import Role
from organizations.tests.factories import OrganizationFactory
from predictions import bulk
from predictions.choices import BulkJobStatus
from predictions.models import BulkJob, BulkJobChunk, Prediction
from predictions.services import prediction_ensure_explanation
from predictions.tests.bulk_files import create_bulk_job, csv_bytes, read_results, statement_row, xlsx_bytes
from predictions.tests.test_bulk_api import BulkTestMixin


def mixed_rows(count: int) -> tuple[list[dict], dict[int, tuple[str, str]]]:
    """``count`` rows; every 10th is bad in one of five ways. Returns the rows and row number → (field, message)."""
    rows, expected = [], {}
    bad_cells = [
        ("total_assets", "0", "Must be greater than 0."),
        ("revenue", "lots", "Must be a number."),
        ("symbol", "", "This field is required."),
        ("reporting_year", "1850", None),
        ("long_term_debt", "-5", "Must be greater than or equal to 0."),
    ]
    for i in range(count):
        row = statement_row(f"C{i // 4:05d}", 2010 + i % 4, scale=1 + (i % 97) / 10)
        if i % 10 == 7:
            field, value, message = bad_cells[(i // 10) % len(bad_cells)]
            row[field] = value
            expected[i + 1] = (field, message)
        rows.append(row)
    return rows, expected


class BulkPipelineTests(BulkTestMixin, OrgScopedAPITestCase):
    def create_job(self, content: bytes, *, name="rows.csv", kind="annual", on_duplicate="skip", chunk_size=None):
        return create_bulk_job(
            self.org, self.analyst, content, name=name, kind=kind, on_duplicate=on_duplicate, chunk_size=chunk_size
        )

    def run_file(self, content: bytes, **options):
        return bulk.bulk_job_run(self.create_job(content, **options).pk)

    def results(self, job: BulkJob) -> list[dict]:
        return read_results("".join(bulk.iter_results_csv(job)).encode())

    def test_five_thousand_mixed_rows_exact_counts_and_messages(self):
        rows, expected = mixed_rows(5_000)
        job = self.run_file(csv_bytes(rows), chunk_size=1_500)  # several chunks, the last one partial
        self.assertEqual(job.status, BulkJobStatus.SUCCEEDED)
        self.assertEqual(job.total_rows, 5_000)
        self.assertEqual(job.processed_rows, 5_000)
        self.assertEqual(job.failed_rows, 500)
        self.assertEqual(job.succeeded_rows, 4_500)
        self.assertEqual(job.skipped_rows, 0)
        self.assertEqual(job.error_count, 500)
        self.assertEqual(len(job.errors), 100)
        self.assertEqual(job.chunks.count(), 4)
        self.assertEqual(Prediction.objects.filter(organization=self.org, bulk_job=job).count(), 4_500)
        self.assertEqual(Company.objects.filter(organization=self.org).count(), 1_250)
        for error in job.errors:
            field, message = expected[error["row"]]
            self.assertEqual(error["field"], field)
            if message:
                self.assertEqual(error["message"], message)
            else:
                self.assertIn("Must be a whole year between 1900 and", error["message"])
        results = self.results(job)
        self.assertEqual(len(results), 5_000)
        failed = {i + 1 for i, row in enumerate(results) if row["status"] == "failed"}
        self.assertEqual(failed, set(expected))
        self.assertTrue(all(row["status"] == "created" for i, row in enumerate(results) if i + 1 not in expected))
        # company summaries are kept current, set-based per chunk
        company = Company.objects.get(organization=self.org, symbol="C00000")
        self.assertEqual(company.prediction_count, 4)
        self.assertEqual(company.latest_annual_reporting_year, 2013)
        self.assertIsNotNone(company.latest_annual_probability)

    def test_company_names_and_symbols_are_stored_as_given(self):
        # symbols and names travel to PostgreSQL as array literals: quoting characters must survive
        names = {"NULL": "NULL", "Q.1": 'He said "hi", {ok}', "B/2": "back\\slash, comma", "C-3": ""}
        rows = [statement_row(symbol, 2020, name=name) for symbol, name in names.items()]
        job = self.run_file(csv_bytes(rows))
        self.assertEqual(job.created_rows, 4)
        stored = dict(Company.objects.filter(organization=self.org).values_list("symbol", "name"))
        self.assertEqual(stored, {**names, "C-3": "C-3"})  # no name: the symbol
        self.assertEqual(self.run_file(csv_bytes(rows)).skipped_rows, 4)  # found again by symbol

    def test_on_duplicate_skip_update_error(self):
        self.run_file(csv_bytes([statement_row("DUP", 2020), statement_row("KEEP", 2020)]))
        original = Prediction.objects.get(company__symbol="DUP")

        def again(new_symbol):
            return csv_bytes([statement_row("DUP", 2020, scale=3), statement_row(new_symbol, 2020)])

        skipped = self.run_file(again("NEW1"), on_duplicate="skip")
        self.assertEqual((skipped.succeeded_rows, skipped.skipped_rows, skipped.failed_rows), (1, 1, 0))
        self.assertEqual(Prediction.objects.get(pk=original.pk).probability, original.probability)
        self.assertEqual(self.results(skipped)[0]["status"], "skipped")

        failed = self.run_file(again("NEW2"), on_duplicate="error")
        self.assertEqual((failed.succeeded_rows, failed.skipped_rows, failed.failed_rows), (1, 0, 1))
        self.assertEqual(failed.errors, [{"row": 1, "field": "non_field_errors", "message": bulk.MSG_EXISTS}])

        updated = self.run_file(again("NEW3"), on_duplicate="update")
        self.assertEqual((updated.succeeded_rows, updated.skipped_rows, updated.failed_rows), (2, 0, 0))
        self.assertEqual((updated.created_rows, updated.updated_rows), (1, 1))
        rescored = Prediction.objects.get(pk=original.pk)
        self.assertEqual(rescored.financials["revenue"], round(1024.3 * 3, 4))
        self.assertEqual(rescored.bulk_job_id, updated.pk)
        self.assertIsNone(rescored.drivers)
        self.assertEqual(Prediction.objects.filter(organization=self.org).count(), 5)

    def test_duplicates_inside_one_file_are_deterministic(self):
        rows = [statement_row("TWICE", 2020), statement_row("TWICE", 2020, scale=2), statement_row("X", 2020)]
        for mode, statuses in {
            "skip": ["created", "skipped", "created"],
            "error": ["created", "failed", "created"],
            "update": ["created", "updated", "created"],
        }.items():
            with self.subTest(mode):
                Prediction.objects.all().delete()
                job = self.run_file(csv_bytes(rows), on_duplicate=mode)
                self.assertEqual([r["status"] for r in self.results(job)], statuses)
                self.assertEqual(Prediction.objects.filter(company__symbol="TWICE").count(), 1)
                stored = Prediction.objects.get(company__symbol="TWICE")
                self.assertEqual(stored.financials["revenue"], 1024.3 * (2 if mode == "update" else 1))
                if mode == "error":
                    self.assertEqual(job.errors[0]["message"], bulk.MSG_EARLIER_ROW)
        # across chunks the same rules hold
        Prediction.objects.all().delete()
        job = self.run_file(csv_bytes(rows), on_duplicate="error", chunk_size=1)
        self.assertEqual([r["status"] for r in self.results(job)], ["created", "failed", "created"])

    def test_bom_csv_and_xlsx_happy_paths(self):
        rows = [statement_row("BOM", 2020), statement_row("BOM2", 2021, market_value="")]
        job = self.run_file(csv_bytes(rows, bom=True))
        self.assertEqual((job.status, job.succeeded_rows), (BulkJobStatus.SUCCEEDED, 2))
        self.assertNotIn("market_value", Prediction.objects.get(company__symbol="BOM2").financials)

        xlsx_rows = [statement_row("XL1", 2020), statement_row("XL2", 2021, revenue="n/a"), statement_row("123", 2022)]
        job = self.run_file(xlsx_bytes(xlsx_rows), name="rows.xlsx")
        self.assertEqual((job.status, job.succeeded_rows, job.failed_rows), (BulkJobStatus.SUCCEEDED, 2, 1))
        self.assertEqual(job.errors, [{"row": 2, "field": "revenue", "message": "Must be a number."}])
        self.assertTrue(Company.objects.filter(organization=self.org, symbol="123").exists())
        results = self.results(job)
        self.assertEqual([r["status"] for r in results], ["created", "failed", "created"])
        self.assertEqual(results[2]["symbol"], "123")

    def test_quarterly_ttm_within_the_file_and_with_stored_quarters(self):
        quarters = [statement_row("QT", 2022, q, scale=1 + n / 10) for n, q in enumerate(["Q1", "Q2", "Q3", "Q4"])]
        quarters.append(statement_row("QT", 2023, "1", scale=2))  # numeric quarter
        job = self.run_file(csv_bytes(list(reversed(quarters))), kind="quarterly")  # order in the file is irrelevant
        self.assertEqual(job.succeeded_rows, 5)
        stored = {
            (p.reporting_year, p.reporting_quarter): p
            for p in Prediction.objects.filter(company__symbol="QT", kind="quarterly")
        }
        self.assertEqual([stored[(2022, q)].annualization for q in (1, 2, 3)], ["x4", "x4", "x4"])
        self.assertEqual(stored[(2022, 4)].annualization, "ttm")
        self.assertEqual(stored[(2023, 1)].annualization, "ttm")
        self.assertEqual(stored[(2022, 1)].financials["revenue"], 1024.3)  # the quarter as given
        # the next quarter, in another file, completes its TTM with the stored quarters
        later = self.run_file(csv_bytes([statement_row("QT", 2023, "Q2")]), kind="quarterly")
        self.assertEqual(later.succeeded_rows, 1)
        self.assertEqual(
            Prediction.objects.get(company__symbol="QT", reporting_year=2023, reporting_quarter=2).annualization, "ttm"
        )
        # same as the single-prediction service would score it
        from predictions.services import prediction_score

        q4 = stored[(2022, 4)]
        result, basis = prediction_score(
            organization=self.org,
            kind="quarterly",
            company=q4.company,
            reporting_year=2022,
            reporting_quarter=4,
            financials={f: q4.financials.get(f) for f in bulk.mlcore.FINANCIAL_FIELDS},
        )
        self.assertEqual(basis, "ttm")
        self.assertAlmostEqual(result.probability, q4.probability, places=9)
        # the first retrieval explains each quarter as it was annualized when scored
        self.assertIsNone(q4.ratios)
        prediction_ensure_explanation(prediction=q4)
        self.assertEqual((q4.ratios, q4.drivers), (result.ratios, result.drivers))
        q1 = stored[(2022, 1)]
        prediction_ensure_explanation(prediction=q1)
        annualized, _ = bulk.mlcore.annualize_quarter(q1.financials, None)
        self.assertEqual(q1.drivers, bulk.mlcore.score_quarterly(annualized).drivers)
        q1.refresh_from_db()
        self.assertIsNotNone(q1.ratios)

    def test_bulk_probability_matches_the_single_prediction_service(self):
        job = self.run_file(csv_bytes([statement_row("ONE", 2020, scale=1.7)]))
        stored = Prediction.objects.get(bulk_job=job)
        single = bulk.mlcore.score_annual(stored.financials)
        self.assertAlmostEqual(stored.probability, single.probability, places=9)
        self.assertEqual(stored.rating, single.rating)
        self.assertEqual(set(stored.components), set(single.components))
        self.assertIsNone(stored.ratios)  # the first retrieval fills ratios and drivers
        prediction_ensure_explanation(prediction=stored)
        stored.refresh_from_db()
        self.assertEqual(stored.drivers, single.drivers)
        for name, value in single.ratios.items():
            if value is not None:
                self.assertAlmostEqual(stored.ratios[name], value, places=6)

    def test_cancel_between_chunks_keeps_committed_chunks(self):
        rows, _ = mixed_rows(300)
        job = self.create_job(csv_bytes(rows), chunk_size=100)
        calls = []

        def cancel_after_first_chunk(current):
            calls.append(current.processed_rows)
            if current.processed_rows == 100 and not current.is_finished:
                bulk.bulk_job_cancel(job=current)

        job = bulk.bulk_job_run(job.pk, progress=cancel_after_first_chunk)
        self.assertEqual(job.status, BulkJobStatus.CANCELLED)
        self.assertEqual(job.processed_rows, 100)
        self.assertEqual(Prediction.objects.filter(bulk_job=job).count(), job.succeeded_rows)
        statuses = [r["status"] for r in self.results(job)]
        self.assertEqual(statuses[100:], ["not_processed"] * 200)

    def test_a_retried_job_resumes_from_the_committed_cursor(self):
        rows, expected = mixed_rows(400)
        job = self.create_job(csv_bytes(rows), chunk_size=100)
        real = bulk._write_layer
        calls = {"n": 0}

        def dies_in_third_chunk(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 3:
                raise bulk.DatabaseError("connection lost")  # like a killed worker: the chunk rolls back
            return real(*args, **kwargs)

        with mock.patch.object(bulk, "_write_layer", dies_in_third_chunk), self.assertRaises(bulk.DatabaseError):
            bulk.bulk_job_run(job.pk)
        job.refresh_from_db()
        self.assertEqual((job.status, job.processed_rows, job.attempt), (BulkJobStatus.RUNNING, 200, 1))
        job = bulk.bulk_job_run(job.pk)  # the redelivered task
        self.assertEqual((job.status, job.processed_rows, job.attempt), (BulkJobStatus.SUCCEEDED, 400, 2))
        self.assertEqual(job.failed_rows, len(expected))
        self.assertEqual(Prediction.objects.filter(bulk_job=job).count(), 400 - len(expected))
        self.assertEqual(BulkJobChunk.objects.filter(job=job).count(), 4)

    def test_an_older_execution_stops_when_a_newer_one_took_over(self):
        rows, _ = mixed_rows(200)
        job = self.create_job(csv_bytes(rows), chunk_size=100)
        claimed_job, attempt = bulk._claim(job.pk)
        BulkJob.objects.filter(pk=job.pk).update(attempt=attempt + 1)  # a redelivered copy claimed it meanwhile
        frame = next(bulk.iter_chunks(claimed_job))
        with self.assertRaises(bulk.JobSuperseded):
            bulk._process_chunk(claimed_job, frame, attempt)
        self.assertFalse(Prediction.objects.exists())

    def test_import_command(self):
        import tempfile

        rows, expected = mixed_rows(50)
        with tempfile.NamedTemporaryFile(suffix=".csv") as handle:
            handle.write(csv_bytes(rows))
            handle.flush()
            out = io.StringIO()
            with self.assertRaises(SystemExit) as exit_:
                call_command(
                    "import_predictions",
                    handle.name,
                    organization=self.org.slug,
                    kind="annual",
                    user=self.analyst.email,
                    no_progress=True,
                    stdout=out,
                )
            self.assertEqual(exit_.exception.code, 1)  # rows failed
            self.assertIn(f"{50 - len(expected)} created", out.getvalue())
            self.assertIn(f"{len(expected)} failed", out.getvalue())
            good = csv_bytes([statement_row("CMD", 2020)])
            handle.seek(0)
            handle.truncate()
            handle.write(good)
            handle.flush()
            call_command(
                "import_predictions",
                handle.name,
                organization=self.org.slug,
                kind="annual",
                no_progress=True,
                stdout=io.StringIO(),
            )
        self.assertTrue(Prediction.objects.filter(company__symbol="CMD", created_by=None).exists())

    def test_celery_path_enqueues_on_commit_and_the_task_runs_the_job(self):
        from predictions.tasks import process_bulk_job

        job = self.create_job(csv_bytes([statement_row("CEL", 2020)]))
        with (
            override_settings(ACCUNODE_JOBS_IN_PROCESS=False),
            mock.patch.object(process_bulk_job, "delay") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            bulk.bulk_job_enqueue(job)
        delay.assert_called_once_with(str(job.pk))
        process_bulk_job.apply(args=[str(job.pk)])  # the task body, as a worker runs it
        job.refresh_from_db()
        self.assertEqual((job.status, job.succeeded_rows), (BulkJobStatus.SUCCEEDED, 1))

    def test_broker_down_is_503_and_the_job_fails(self):
        from predictions.tasks import process_bulk_job

        # Outside a test transaction the upload commits at once and the view answers 503; here the on-commit
        # callbacks run after the view returned, so the error surfaces from them.
        with (
            override_settings(ACCUNODE_JOBS_IN_PROCESS=False),
            mock.patch.object(process_bulk_job, "delay", side_effect=OSError("connection refused")),
            self.assertRaises(ServiceUnavailable),
        ):
            self.upload(csv_bytes([statement_row("DOWN", 2020)]))
        self.assertEqual(BulkJob.objects.get().status, BulkJobStatus.FAILED)


@override_settings(ACCUNODE_JOBS_IN_PROCESS=True, ACCUNODE_BULK_JOBS_IN_PROCESS_MODE="thread")
class InProcessThreadTests(TransactionTestCase):
    """The embedded default: the job runs in a background thread once the upload has committed."""

    def test_upload_runs_in_a_background_thread(self):
        import shutil
        import tempfile

        from django.core.files.uploadedfile import SimpleUploadedFile

        from accunode.api.testing import client_for

        media = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, media, True)
        organization = OrganizationFactory()
        analyst = make_member(organization, Role.ANALYST)
        with override_settings(MEDIA_ROOT=media):
            response = client_for(analyst).post(
                "/api/v1/predictions/bulk-upload/",
                {"file": SimpleUploadedFile("r.csv", csv_bytes([statement_row("THR", 2020)])), "kind": "annual"},
                format="multipart",
            )
            self.assertEqual(response.status_code, 202, response.content)
            job_id = response.json()["job"]["id"]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                job = BulkJob.objects.get(pk=job_id)
                if job.is_finished:
                    break
                time.sleep(0.05)
        self.assertEqual((job.status, job.succeeded_rows), (BulkJobStatus.SUCCEEDED, 1))
