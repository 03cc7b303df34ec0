"""Companies in Django admin, scoped to the tenant administrator's organizations."""

from django.contrib import admin

from organizations.scoping import OrgScopedAdmin

from .models import Company


@admin.register(Company)
class CompanyAdmin(OrgScopedAdmin):
    list_display = ["symbol", "name", "sector", "country", "latest_annual_risk_level", "prediction_count", "created_at"]
    list_filter = ["latest_annual_risk_level", "sector"]
    search_fields = ["symbol", "name"]
    list_select_related = ["organization"]
    readonly_fields = [
        "created_by",
        "created_at",
        "updated_at",
        "prediction_count",
        "latest_annual_probability",
        "latest_annual_risk_level",
        "latest_quarterly_probability",
        "latest_quarterly_risk_level",
    ]
    fields = ["organization", "symbol", "name", "sector", "country", *readonly_fields]
