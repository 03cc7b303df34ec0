"""Companies in Django admin: tenant administrators see and edit only their organization's companies."""

from accunode.api.testing import AdminScopingTestMixin, OrgScopedAPITestCase
from companies.models import Company
from organizations.models import AuditEvent
from predictions.models import Prediction
from predictions.tests.factories import CompanyFactory


class CompanyAdminScopingTests(AdminScopingTestMixin, OrgScopedAPITestCase):
    def setUp(self):
        self.mine = CompanyFactory(organization=self.org, symbol="MINE", name="Mine Corp")
        self.theirs = CompanyFactory(organization=self.other_org, symbol="THEIRS", name="Theirs Corp")

    def test_org_admin_sees_only_own_companies(self):
        client = self.admin_client_for(self.admin)
        self.assert_admin_changelist_scoped(client, Company, visible=[self.mine], hidden=[self.theirs], search="THEIRS")

    def test_other_organizations_company_is_unreachable(self):
        client = self.admin_client_for(self.admin)
        self.assert_admin_object_unreachable(client, self.theirs, change_data={"name": "Hacked", "symbol": "HACK"})

    def test_autocomplete_from_predictions_is_scoped(self):
        client = self.admin_client_for(self.admin)
        self.assert_admin_autocomplete_scoped(
            client, Prediction, "company", visible=[self.mine], hidden=[self.theirs], term="Corp"
        )

    def test_org_admin_can_edit_own_company(self):
        client = self.admin_client_for(self.admin)
        response = client.post(
            self.admin_url(self.mine, "change", self.mine.pk),
            {"organization": str(self.org.pk), "symbol": "MINE", "name": "Renamed", "sector": "", "country": ""},
        )
        self.assertEqual(response.status_code, 302, response.content[:500])
        self.mine.refresh_from_db()
        self.assertEqual(self.mine.name, "Renamed")

    def test_org_admin_cannot_move_a_company_into_another_organization(self):
        client = self.admin_client_for(self.admin)
        change_url = self.admin_url(self.mine, "change", self.mine.pk)
        self.assertNotIn("organization", client.get(change_url).context["adminform"].form.fields)  # shown read-only
        client.post(
            change_url,
            {"organization": str(self.other_org.pk), "symbol": "MINE", "name": "Moved", "sector": "", "country": ""},
        )
        self.mine.refresh_from_db()
        self.assertEqual(self.mine.organization, self.org)

    def test_the_organization_is_chosen_when_a_company_is_added(self):
        client = self.admin_client_for(self.admin)
        form = client.get(self.admin_url(self.mine, "add")).context["adminform"].form

        self.assertEqual(list(form.fields["organization"].queryset), [self.org])

    def test_analyst_and_viewer_with_staff_access_are_denied(self):
        self.assert_admin_model_denied(self.admin_client_for(self.analyst), Company)
        self.assert_admin_model_denied(self.admin_client_for(self.viewer), Company)

    def test_superuser_sees_everything(self):
        from accounts.tests.factories import UserFactory

        superuser = UserFactory(is_staff=True, is_superuser=True)
        client = self.admin_client_for(superuser)
        self.assert_admin_changelist_scoped(client, Company, visible=[self.mine, self.theirs])


class CompanyAdminThroughServicesTests(AdminScopingTestMixin, OrgScopedAPITestCase):
    def setUp(self):
        self.mine = CompanyFactory(organization=self.org, symbol="MINE", name="Mine Corp")
        self.other = CompanyFactory(organization=self.org, symbol="TAKEN", name="Taken Corp")

    def form(self, **overrides):
        return {
            "organization": str(self.org.pk),
            "symbol": "MINE",
            "name": "Mine Corp",
            "sector": "",
            "country": "",
        } | (overrides)

    def test_edit_is_audited(self):
        client = self.admin_client_for(self.admin)
        response = client.post(self.admin_url(self.mine, "change", self.mine.pk), self.form(name="Renamed"))
        self.assertEqual(response.status_code, 302)
        event = AuditEvent.objects.get(object_id=str(self.mine.pk), action="update")
        self.assertEqual(event.changes["name"], {"from": "Mine Corp", "to": "Renamed"})

    def test_symbol_taken_in_another_case_is_a_form_error_not_a_crash(self):
        client = self.admin_client_for(self.admin)
        response = client.post(self.admin_url(self.mine, "change", self.mine.pk), self.form(symbol="taken"))
        self.assertEqual(response.status_code, 200)
        self.mine.refresh_from_db()
        self.assertEqual(self.mine.symbol, "MINE")

    def test_add_goes_through_the_service(self):
        client = self.admin_client_for(self.admin)
        response = client.post(self.admin_url(Company, "add"), self.form(symbol="newco", name="New Co"))
        self.assertEqual(response.status_code, 302, response.content[:500])
        company = Company.objects.get(organization=self.org, symbol="NEWCO")
        self.assertEqual(company.created_by, self.admin)
        self.assertTrue(AuditEvent.objects.filter(object_id=str(company.pk), action="create").exists())

    def test_delete_is_audited(self):
        client = self.admin_client_for(self.admin)
        client.post(self.admin_url(self.mine, "delete", self.mine.pk), {"post": "yes"})
        self.assertFalse(Company.objects.filter(pk=self.mine.pk).exists())
        self.assertTrue(AuditEvent.objects.filter(object_id=str(self.mine.pk), action="delete").exists())
