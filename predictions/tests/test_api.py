"""Prediction API: create/list/retrieve/re-score/delete, duplicates, roles, tenancy, idempotency, switches."""

import math

from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from accunode.api.testing import OrgScopedAPITestCase
from companies.models import Company
from organizations.models import AuditEvent
from predictions.models import Prediction, PredictionUsage
from predictions.tests.factories import prediction_payload, sample_financials

ANNUAL = "/api/v1/predictions/annual/"
QUARTERLY = "/api/v1/predictions/quarterly/"
STATS = "/api/v1/predictions/stats/"


class AnnualPredictionApiTests(OrgScopedAPITestCase):
    def create(self, user=None, payload=None, **headers):
        return self.client_for(user or self.analyst).post(
            ANNUAL, payload or prediction_payload(), format="json", **headers
        )

    def test_create_scores_and_answers_the_contract(self):
        response = self.create()
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(body["kind"], "annual")
        self.assertEqual(body["company"]["symbol"], "ACME")
        self.assertIsNone(body["reporting_quarter"])
        self.assertIsNone(body["annualization"])
        self.assertTrue(0.0 <= body["probability"] <= 1.0)
        self.assertIn(body["risk_level"], {"LOW", "MEDIUM", "HIGH", "CRITICAL"})
        self.assertIn(body["rating"], {"aaa", "aa", "a", "bbb", "bb", "b", "ccc"})
        self.assertEqual(set(body["model"]["components"]), {"logistic", "lightgbm"})
        self.assertTrue(body["model"]["version"])
        self.assertTrue(3 <= len(body["drivers"]) <= 8)
        self.assertIn("working_capital_to_total_assets", body["ratios"])
        self.assertEqual(body["created_by"]["email"], self.analyst.email)
        self.assertEqual(body["financials"]["total_assets"], 741.0)
        prediction = Prediction.objects.get(pk=body["id"])
        self.assertEqual(prediction.organization, self.org)
        company = Company.objects.get(organization=self.org, symbol="ACME")
        self.assertEqual(company.latest_annual_prediction_id, prediction.pk)
        self.assertEqual(company.prediction_count, 1)
        self.assertTrue(AuditEvent.objects.filter(object_id=str(prediction.pk), action="create").exists())

    def test_existing_company_is_not_overwritten(self):
        self.create()
        payload = prediction_payload(year=2022)
        payload["company"]["name"] = "Something Else"
        self.assertEqual(self.create(payload=payload).status_code, 201)
        self.assertEqual(Company.objects.get(organization=self.org, symbol="ACME").name, "ACME Corp")

    def test_company_id_may_be_given_but_not_another_organizations(self):
        first = self.create().json()
        payload = prediction_payload(year=2021)
        del payload["company"]
        payload["company_id"] = first["company"]["id"]
        self.assertEqual(self.create(payload=payload).status_code, 201)
        other = self.create(user=self.other_analyst).json()
        payload["company_id"] = other["company"]["id"]
        payload["reporting_year"] = 2020
        self.assert_error(self.create(payload=payload), 400, "validation_error")
        self.assertEqual(Prediction.objects.filter(organization=self.org).count(), 2)

    def test_duplicate_is_409_with_existing_id(self):
        first = self.create().json()
        error = self.assert_error(self.create(), 409, "conflict")
        self.assertEqual(error["details"]["existing_id"], first["id"])
        self.assertEqual(Prediction.objects.count(), 1)

    def test_bad_inputs_are_400_and_store_nothing(self):
        client = self.client_for(self.analyst)
        bad_payloads = [
            prediction_payload(total_assets=0),
            prediction_payload(total_assets=-5),
            prediction_payload(revenue="1000"),
            prediction_payload(revenue=True),
            prediction_payload(revenue=1e308),
            prediction_payload(revenue=1e9),
            prediction_payload(revenue={"nested": [1, 2]}),
            prediction_payload(unknown_item=3.0),
            {**prediction_payload(), "reporting_year": "2023"},
            {**prediction_payload(), "reporting_year": 1899},
            {**prediction_payload(), "reporting_year": 2023.5},
            {**prediction_payload(), "extra": 1},
            {**prediction_payload(), "financials": [1, 2, 3]},
            {"reporting_year": 2023, "financials": sample_financials()},
            {**prediction_payload(), "company": {"symbol": 123}},  # numbers are not text
            {**prediction_payload(), "company": {"symbol": "ACME", "name": 5}},
        ]
        missing = prediction_payload()
        del missing["financials"]["total_assets"]
        bad_payloads.append(missing)
        for payload in bad_payloads:
            response = client.post(ANNUAL, payload, format="json")
            self.assert_error(response, 400, "validation_error")
        for raw in ('{"reporting_year": NaN}', '{"financials": {"revenue": Infinity}}', "{broken", "[]", '"text"'):
            response = client.post(ANNUAL, raw, content_type="application/json")
            self.assert_error(response, 400, "validation_error")
        self.assertEqual(Prediction.objects.count(), 0)
        self.assertEqual(Company.objects.count(), 0)

    def test_validation_details_name_the_field(self):
        error = self.assert_error(self.create(payload=prediction_payload(total_assets=0)), 400, "validation_error")
        self.assertIn("total_assets", error["details"]["financials"])

    def test_non_json_body_is_415(self):
        response = self.client_for(self.analyst).post(ANNUAL, "a=b", content_type="application/x-www-form-urlencoded")
        self.assert_error(response, 415, "unsupported_media_type")

    def test_viewer_cannot_create_update_or_delete(self):
        created = self.create().json()
        viewer = self.client_for(self.viewer)
        self.assert_error(viewer.post(ANNUAL, prediction_payload(year=2020), format="json"), 403, "permission_denied")
        url = f"{ANNUAL}{created['id']}/"
        self.assert_error(viewer.put(url, prediction_payload(), format="json"), 403, "permission_denied")
        self.assert_error(viewer.delete(url), 403, "permission_denied")
        self.assertTrue(Prediction.objects.filter(pk=created["id"]).exists())

    def test_analyst_deletes_own_but_not_others_admin_deletes_any(self):
        own = self.create().json()
        by_admin = self.create(user=self.admin, payload=prediction_payload(year=2020)).json()
        analyst = self.client_for(self.analyst)
        self.assert_error(analyst.delete(f"{ANNUAL}{by_admin['id']}/"), 403, "permission_denied")
        self.assertEqual(analyst.delete(f"{ANNUAL}{own['id']}/").status_code, 204)
        self.assertEqual(self.client_for(self.admin).delete(f"{ANNUAL}{by_admin['id']}/").status_code, 204)
        company = Company.objects.get(organization=self.org, symbol="ACME")
        self.assertEqual(company.prediction_count, 0)
        self.assertIsNone(company.latest_annual_prediction_id)

    def test_put_rescores(self):
        created = self.create().json()
        url = f"{ANNUAL}{created['id']}/"
        distressed = prediction_payload(net_income=-300.0, retained_earnings=-500.0, total_liabilities=900.0)
        response = self.client_for(self.analyst).put(url, distressed, format="json")
        self.assertEqual(response.status_code, 200, response.content)
        self.assertGreater(response.json()["probability"], created["probability"])
        self.assertEqual(response.json()["financials"]["net_income"], -300.0)

    def test_other_organizations_prediction_is_404_and_unchanged(self):
        other = self.create(user=self.other_analyst).json()
        url = f"{ANNUAL}{other['id']}/"
        self.assert_cross_organization_404(url, methods=("get", "put", "delete"), data=prediction_payload(revenue=1.0))
        prediction = Prediction.objects.get(pk=other["id"])
        self.assertEqual(prediction.financials["revenue"], 1024.3)
        self.assertNotIn(other["id"], [row["id"] for row in self.client_for(self.admin).get(ANNUAL).json()["results"]])

    def test_annual_id_is_not_found_under_quarterly(self):
        created = self.create().json()
        self.assert_error(self.client_for(self.viewer).get(f"{QUARTERLY}{created['id']}/"), 404, "not_found")

    def test_list_filters_and_ordering(self):
        self.create(payload=prediction_payload(symbol="SAFE", year=2022))
        self.create(payload=prediction_payload(symbol="RISKY", year=2023, net_income=-400.0, retained_earnings=-600.0))
        client = self.client_for(self.viewer)
        self.assertEqual(client.get(ANNUAL, {"symbol": "safe"}).json()["count"], 1)
        self.assertEqual(client.get(ANNUAL, {"reporting_year": 2023}).json()["count"], 1)
        rows = client.get(ANNUAL, {"ordering": "-probability"}).json()["results"]
        self.assertEqual(rows[0]["company"]["symbol"], "RISKY")
        probabilities = [row["probability"] for row in rows]
        self.assertEqual(probabilities, sorted(probabilities, reverse=True))
        low = min(probabilities)
        self.assertEqual(client.get(ANNUAL, {"max_probability": low}).json()["count"], 1)
        self.assertEqual(client.get(ANNUAL, {"min_probability": 1.01}).json()["count"], 0)
        self.assertEqual(client.get(ANNUAL, {"sector": "industrials"}).json()["count"], 2)
        self.assertEqual(client.get(ANNUAL, {"created_after": "2000-01-01T00:00:00Z"}).json()["count"], 2)
        self.assert_error(client.get(ANNUAL, {"min_probability": "abc"}), 400, "validation_error")
        self.assert_error(client.get(ANNUAL, {"created_after": "yesterday"}), 400, "validation_error")
        self.assert_error(client.get(ANNUAL, {"reporting_year": "2023.5"}), 400, "validation_error")  # not truncated

    def test_list_query_count_is_bounded(self):
        for year in range(2000, 2020):
            self.create(payload=prediction_payload(symbol=f"S{year}", year=year))
        with CaptureQueriesContext(connection) as queries:
            response = self.client_for(self.viewer).get(ANNUAL, {"page_size": 50})
        self.assertEqual(len(response.json()["results"]), 20)
        self.assertLessEqual(len(queries), 6)

    def test_retrieve_etag_and_invalidation(self):
        created = self.create().json()
        url = f"{ANNUAL}{created['id']}/"
        client = self.client_for(self.viewer)
        first = client.get(url)
        self.assertEqual(first.status_code, 200)
        self.assertEqual(client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code, 304)
        with self.captureOnCommitCallbacks(execute=True):
            self.client_for(self.analyst).put(url, prediction_payload(revenue=2000.0), format="json")
        again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json()["financials"]["revenue"], 2000.0)

    def test_list_has_etag_and_304_until_a_write(self):
        self.create()
        client = self.client_for(self.viewer)
        first = client.get(ANNUAL)
        self.assertEqual(client.get(ANNUAL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code, 304)
        with self.captureOnCommitCallbacks(execute=True):
            self.create(payload=prediction_payload(year=2019))
        again = client.get(ANNUAL, HTTP_IF_NONE_MATCH=first["ETag"])
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json()["count"], 2)

    def test_audit_event_carries_actor_and_request_id(self):
        body = self.create(HTTP_X_REQUEST_ID="audit-req-1").json()
        event = AuditEvent.objects.get(object_id=body["id"], action="create")
        self.assertEqual(event.actor, self.analyst)
        self.assertEqual(event.organization, self.org)
        self.assertEqual(event.request_id, "audit-req-1")
        self.assertEqual(event.object_type, "predictions.prediction")

    def test_idempotency_key_replays_and_rejects_other_bodies(self):
        headers = {"HTTP_IDEMPOTENCY_KEY": "key-123"}
        first = self.create(**headers)
        replay = self.create(**headers)
        self.assertEqual(first.status_code, 201)
        self.assertEqual(replay.status_code, 201)
        self.assertEqual(replay.json(), first.json())
        self.assertEqual(Prediction.objects.count(), 1)
        other_body = self.create(payload=prediction_payload(year=2019), **headers)
        self.assert_error(other_body, 422, "idempotency_key_reused")
        self.assertEqual(Prediction.objects.count(), 1)

    def test_idempotency_keys_are_per_user(self):
        headers = {"HTTP_IDEMPOTENCY_KEY": "shared-key"}
        self.assertEqual(self.create(**headers).status_code, 201)
        response = self.create(user=self.admin, payload=prediction_payload(year=2018), **headers)
        self.assertEqual(response.status_code, 201)

    @override_settings(ACCUNODE_MAX_PREDICTIONS_PER_USER=2)
    def test_daily_quota(self):
        self.assertEqual(self.create(payload=prediction_payload(year=2020)).status_code, 201)
        self.assertEqual(self.create(payload=prediction_payload(year=2021)).status_code, 201)
        error = self.assert_error(self.create(payload=prediction_payload(year=2022)), 403, "quota_exceeded")
        self.assertEqual(error["details"]["limit"], 2)
        self.assertEqual(Prediction.objects.count(), 2)
        self.assertEqual(self.create(user=self.admin, payload=prediction_payload(year=2022)).status_code, 201)

    @override_settings(ACCUNODE_MAX_PREDICTIONS_PER_USER=2)
    def test_deleting_a_prediction_does_not_give_its_quota_back(self):
        first = self.create(payload=prediction_payload(year=2020)).json()
        self.assertEqual(self.create(payload=prediction_payload(year=2021)).status_code, 201)
        self.assertEqual(self.client_for(self.analyst).delete(f"{ANNUAL}{first['id']}/").status_code, 204)

        self.assert_error(self.create(payload=prediction_payload(year=2022)), 403, "quota_exceeded")
        self.assertEqual(Prediction.objects.count(), 1)

    @override_settings(ACCUNODE_MAX_PREDICTIONS_PER_USER=2)
    def test_neither_a_duplicate_nor_a_re_score_uses_the_quota(self):
        first = self.create(payload=prediction_payload(year=2020)).json()
        self.assert_error(self.create(payload=prediction_payload(year=2020)), 409, "conflict")
        url = f"{ANNUAL}{first['id']}/"
        for revenue in (2000.0, 3000.0):  # re-scores, also at the cap below
            put = self.client_for(self.analyst).put(url, prediction_payload(year=2020, revenue=revenue), format="json")
            self.assertEqual(put.status_code, 200)
        self.assertEqual(self.create(payload=prediction_payload(year=2021)).status_code, 201)

        self.assert_error(self.create(payload=prediction_payload(year=2022)), 403, "quota_exceeded")
        self.assertEqual(
            self.client_for(self.analyst).put(url, prediction_payload(year=2020), format="json").status_code, 200
        )
        self.assertEqual(PredictionUsage.objects.get(user=self.analyst).count, 2)

    def test_a_lowered_cap_reports_what_was_used(self):
        with override_settings(ACCUNODE_MAX_PREDICTIONS_PER_USER=3):
            for year in (2019, 2020, 2021):
                self.assertEqual(self.create(payload=prediction_payload(year=year)).status_code, 201)
        with override_settings(ACCUNODE_MAX_PREDICTIONS_PER_USER=2):
            error = self.assert_error(self.create(payload=prediction_payload(year=2022)), 403, "quota_exceeded")
        self.assertEqual(error["details"], {"limit": 2, "used": 3})

    def test_write_rate_limit_gives_retry_after(self):
        with override_settings(ACCUNODE_RATE_LIMITS={**_limits(), "prediction_write_user": "2/m"}):
            self.create(payload=prediction_payload(year=2020))
            self.create(payload=prediction_payload(year=2021))
            response = self.create(payload=prediction_payload(year=2022))
        self.assert_error(response, 429, "rate_limited")
        self.assertGreaterEqual(int(response["Retry-After"]), 1)

    def test_unauthenticated_and_bad_token(self):
        self.assert_error(self.client.get(ANNUAL), 401, "not_authenticated")
        self.client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
        self.assert_error(self.client.get(ANNUAL), 401, "token_not_valid")


def _limits():
    from django.conf import settings

    return dict(settings.ACCUNODE_RATE_LIMITS)


class QuarterlyPredictionApiTests(OrgScopedAPITestCase):
    def post(self, year, quarter, **overrides):
        return self.client_for(self.analyst).post(
            QUARTERLY, prediction_payload(year=year, quarter=quarter, **overrides), format="json"
        )

    def test_quarter_labels_and_x4_without_history(self):
        response = self.post(2024, "Q2")
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(body["reporting_quarter"], "Q2")
        self.assertEqual(body["annualization"], "x4")
        self.assertEqual(len(body["model"]["components"]), 3)

    def test_ttm_when_three_previous_quarters_are_on_file(self):
        for year, quarter in ((2023, 3), (2023, 4), (2024, 1)):
            self.assertEqual(self.post(year, quarter).status_code, 201)
        body = self.post(2024, 2).json()
        self.assertEqual(body["annualization"], "ttm")
        self.assertEqual(self.post(2025, 4).json()["annualization"], "x4")

    def test_quarter_is_required_and_checked(self):
        client = self.client_for(self.analyst)
        payload = prediction_payload(year=2024)
        self.assert_error(client.post(QUARTERLY, payload, format="json"), 400, "validation_error")
        for bad in ("Q5", 0, 5, "first", True, 2.5):
            payload["reporting_quarter"] = bad
            self.assert_error(client.post(QUARTERLY, payload, format="json"), 400, "validation_error")
        payload["reporting_quarter"] = 3
        self.assertEqual(client.post(QUARTERLY, payload, format="json").json()["reporting_quarter"], "Q3")

    def test_same_year_other_quarter_is_not_a_duplicate_but_same_quarter_is(self):
        self.assertEqual(self.post(2024, 1).status_code, 201)
        self.assertEqual(self.post(2024, 2).status_code, 201)
        self.assert_error(self.post(2024, "Q2"), 409, "conflict")

    def test_reporting_quarter_filter(self):
        self.post(2024, 1)
        self.post(2024, 2)
        client = self.client_for(self.viewer)
        self.assertEqual(client.get(QUARTERLY, {"reporting_quarter": "Q2"}).json()["count"], 1)
        self.assertEqual(client.get(QUARTERLY, {"reporting_quarter": "2"}).json()["count"], 1)
        self.assert_error(client.get(QUARTERLY, {"reporting_quarter": "Q9"}), 400, "validation_error")

    @override_settings(ACCUNODE_ENABLE_QUARTERLY_PREDICTIONS=False)
    def test_switched_off_quarterly_is_404(self):
        self.assert_error(self.post(2024, 1), 404, "not_found")
        self.assert_error(self.client_for(self.viewer).get(QUARTERLY), 404, "not_found")
        self.assertEqual(Prediction.objects.count(), 0)


class StatsApiTests(OrgScopedAPITestCase):
    def test_stats_of_the_active_organization_only(self):
        analyst = self.client_for(self.analyst)
        with self.captureOnCommitCallbacks(execute=True):
            analyst.post(ANNUAL, prediction_payload(symbol="A1", year=2023), format="json")
            analyst.post(ANNUAL, prediction_payload(symbol="A1", year=2022), format="json")
            analyst.post(QUARTERLY, prediction_payload(symbol="A2", year=2023, quarter=1), format="json")
            self.client_for(self.other_analyst).post(ANNUAL, prediction_payload(symbol="Z", year=2023), format="json")
        body = self.client_for(self.viewer).get(STATS).json()
        self.assertEqual(body["companies"], 2)
        self.assertEqual(body["annual_predictions"], 2)
        self.assertEqual(body["quarterly_predictions"], 1)
        self.assertEqual(sum(body["by_risk_level"].values()), 1)
        latest = Prediction.objects.get(organization=self.org, kind="annual", reporting_year=2023)
        self.assertTrue(math.isclose(body["average_probability"], latest.probability))
        self.assertEqual(body["by_sector"][0]["sector"], "Industrials")

    def test_stats_are_invalidated_by_writes(self):
        viewer = self.client_for(self.viewer)
        self.assertEqual(viewer.get(STATS).json()["annual_predictions"], 0)
        with self.captureOnCommitCallbacks(execute=True):
            self.client_for(self.analyst).post(ANNUAL, prediction_payload(), format="json")
        self.assertEqual(viewer.get(STATS).json()["annual_predictions"], 1)
