"""Company API: CRUD, search/filters/ordering, roles, tenancy, envelope, caching."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accunode.api.testing import OrgScopedAPITestCase
from companies.models import Company
from organizations.models import AuditEvent
from predictions.tests.factories import CompanyFactory

URL = "/api/v1/companies/"


class CompanyApiTests(OrgScopedAPITestCase):
    def setUp(self):
        self.acme = CompanyFactory(organization=self.org, symbol="ACME", name="Acme Corp", sector="Industrials")
        self.beta = CompanyFactory(organization=self.org, symbol="BETA", name="Beta Foods", sector="Food")
        self.rival = CompanyFactory(organization=self.other_org, symbol="RIVL", name="Rival Inc")

    def detail(self, company):
        return f"{URL}{company.pk}/"

    def test_list_shows_only_own_organization(self):
        response = self.client_for(self.viewer).get(URL)
        self.assertEqual(response.status_code, 200)
        symbols = {row["symbol"] for row in response.json()["results"]}
        self.assertEqual(symbols, {"ACME", "BETA"})
        self.assertEqual(response.json()["count"], 2)

    def test_search_filter_and_ordering(self):
        client = self.client_for(self.viewer)
        self.assertEqual([r["symbol"] for r in client.get(URL, {"search": "acm"}).json()["results"]], ["ACME"])
        self.assertEqual([r["symbol"] for r in client.get(URL, {"search": "foods"}).json()["results"]], ["BETA"])
        self.assertEqual([r["symbol"] for r in client.get(URL, {"sector": "food"}).json()["results"]], ["BETA"])
        ordered = client.get(URL, {"ordering": "-symbol"}).json()["results"]
        self.assertEqual([r["symbol"] for r in ordered], ["BETA", "ACME"])

    def test_companies_without_a_prediction_come_last_in_either_probability_order(self):
        Company.objects.filter(symbol="ACME").update(latest_annual_probability=0.2)
        Company.objects.filter(symbol="BETA").update(latest_annual_probability=0.01)
        CompanyFactory(organization=self.org, symbol="NONE")  # no prediction yet: no probability
        client = self.client_for(self.viewer)

        for ordering, expected in (
            ("latest_probability", ["BETA", "ACME", "NONE"]),
            ("-latest_probability", ["ACME", "BETA", "NONE"]),
        ):
            rows = client.get(URL, {"ordering": ordering}).json()["results"]
            self.assertEqual([row["symbol"] for row in rows], expected, ordering)

    def test_bad_filter_value_is_a_validation_error(self):
        response = self.client_for(self.viewer).get(URL, {"risk_level": "SUPER"})
        self.assert_error(response, 400, "validation_error")

    def test_create_stores_symbol_upper_case_and_audits(self):
        response = self.client_for(self.analyst).post(URL, {"symbol": "gmma", "name": "Gamma"}, format="json")
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(body["symbol"], "GMMA")
        self.assertIsNone(body["latest_annual"])
        self.assertEqual(body["prediction_count"], 0)
        company = Company.objects.get(pk=body["id"])
        self.assertEqual(company.organization, self.org)
        self.assertTrue(AuditEvent.objects.filter(object_id=str(company.pk), action="create").exists())

    def test_duplicate_symbol_is_409_with_existing_id(self):
        response = self.client_for(self.analyst).post(URL, {"symbol": "acme", "name": "Other"}, format="json")
        error = self.assert_error(response, 409, "conflict")
        self.assertEqual(error["details"]["existing_id"], str(self.acme.pk))

    def test_same_symbol_in_another_organization_is_fine(self):
        response = self.client_for(self.analyst).post(URL, {"symbol": "RIVL", "name": "Ours"}, format="json")
        self.assertEqual(response.status_code, 201)

    def test_viewer_cannot_create(self):
        response = self.client_for(self.viewer).post(URL, {"symbol": "NEW", "name": "New"}, format="json")
        self.assert_error(response, 403, "permission_denied")
        self.assertFalse(Company.objects.filter(symbol="NEW").exists())

    def test_bad_input_is_400_and_stores_nothing(self):
        client = self.client_for(self.analyst)
        for payload in (
            {"symbol": "", "name": "x"},
            {"symbol": "X" * 21, "name": "x"},
            {"symbol": "OK", "name": ""},
            {"symbol": 12, "name": "x", "unknown": 1},
            {"symbol": "OK", "name": "x", "is_staff": True},
            {"symbol": 123, "name": "x"},  # numbers are not text (DRF would store "123")
            {"symbol": "OK", "name": 7},
            {"symbol": "OK", "name": "x", "sector": 1.5},
            ["not", "an", "object"],
        ):
            response = client.post(URL, payload, format="json")
            self.assert_error(response, 400, "validation_error")
        response = client.post(URL, "{not json", content_type="application/json")
        self.assert_error(response, 400, "validation_error")
        self.assertEqual(Company.objects.count(), 3)

    def test_a_number_where_text_belongs_names_the_field(self):
        response = self.client_for(self.analyst).post(URL, {"symbol": 123, "name": "x"}, format="json")

        error = self.assert_error(response, 400, "validation_error")
        self.assertEqual(error["details"], {"symbol": ["Not a valid string."]})

    def test_patch_updates_and_analyst_allowed(self):
        response = self.client_for(self.analyst).patch(self.detail(self.acme), {"name": "Acme Holdings"}, format="json")
        self.assertEqual(response.status_code, 200, response.content)
        self.acme.refresh_from_db()
        self.assertEqual(self.acme.name, "Acme Holdings")

    def test_patch_symbol_to_taken_one_is_409(self):
        response = self.client_for(self.analyst).patch(self.detail(self.acme), {"symbol": "beta"}, format="json")
        self.assert_error(response, 409, "conflict")
        self.acme.refresh_from_db()
        self.assertEqual(self.acme.symbol, "ACME")

    def test_only_admin_deletes(self):
        self.assert_error(self.client_for(self.analyst).delete(self.detail(self.acme)), 403, "permission_denied")
        self.assertEqual(self.client_for(self.admin).delete(self.detail(self.acme)).status_code, 204)
        self.assertFalse(Company.objects.filter(pk=self.acme.pk).exists())

    def test_other_organizations_company_is_404_and_unchanged(self):
        self.assert_cross_organization_404(
            self.detail(self.rival), methods=("get", "patch", "delete"), data={"name": "Hacked"}
        )
        self.rival.refresh_from_db()
        self.assertEqual(self.rival.name, "Rival Inc")

    def test_put_is_not_allowed(self):
        response = self.client_for(self.analyst).put(
            self.detail(self.acme), {"symbol": "A", "name": "B"}, format="json"
        )
        self.assert_error(response, 405, "method_not_allowed")
        self.assertIn("Allow", response)

    def test_retrieve_has_etag_and_304(self):
        client = self.client_for(self.viewer)
        first = client.get(self.detail(self.acme))
        self.assertEqual(first.status_code, 200)
        self.assertIn("annual_predictions", first.json())
        etag = first["ETag"]
        second = client.get(self.detail(self.acme), HTTP_IF_NONE_MATCH=etag)
        self.assertEqual(second.status_code, 304)
        with self.captureOnCommitCallbacks(execute=True):
            self.client_for(self.analyst).patch(self.detail(self.acme), {"name": "Renamed"}, format="json")
        third = client.get(self.detail(self.acme), HTTP_IF_NONE_MATCH=etag)
        self.assertEqual(third.status_code, 200)
        self.assertEqual(third.json()["name"], "Renamed")

    def test_list_query_count_is_bounded(self):
        for index in range(30):
            CompanyFactory(organization=self.org, symbol=f"C{index}")
        client = self.client_for(self.viewer)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, {"page_size": 50})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(response.json()["results"]), 32)
        self.assertLessEqual(len(queries), 6)

    def test_pagination_caps_page_size(self):
        for index in range(5):
            CompanyFactory(organization=self.org, symbol=f"P{index}")
        body = self.client_for(self.viewer).get(URL, {"page_size": 1000}).json()
        self.assertEqual(body["count"], 7)
        response = self.client_for(self.viewer).get(URL, {"page": 99})
        self.assert_error(response, 404, "not_found")
