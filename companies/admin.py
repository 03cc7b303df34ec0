"""Companies in Django admin, scoped to the tenant administrator's organizations."""

from django import forms
from django.contrib import admin

from organizations.scoping import OrgScopedAdmin

from . import services
from .models import Company
from .selectors import company_find_by_symbol
from .services import UPDATABLE_FIELDS


class CompanyAdminForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = ["organization", "symbol", "name", "sector", "country"]

    def clean_symbol(self):
        # Normalized before the unique (organization, symbol) check, exactly as the service stores it.
        return services.normalize_symbol(self.cleaned_data["symbol"])

    def clean(self):
        # On the change form the organization is read-only, so the form's own unique check leaves it out.
        cleaned = super().clean()
        symbol = cleaned.get("symbol")
        if "organization" not in self.fields and symbol:
            clash = company_find_by_symbol(organization=self.instance.organization, symbol=symbol)
            if clash is not None and clash.pk != self.instance.pk:
                self.add_error("symbol", "A company with this symbol already exists in this organization.")
        return cleaned


@admin.register(Company)
class CompanyAdmin(OrgScopedAdmin):
    form = CompanyAdminForm
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

    def get_readonly_fields(self, request, obj=None):
        # A company does not move between organizations (its predictions and audit trail stay where they are).
        return [*self.readonly_fields, "organization"] if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        """Through the services, so admin edits are audited and invalidate cached reads like API edits."""
        if change:
            changes = {field: form.cleaned_data[field] for field in form.changed_data if field in UPDATABLE_FIELDS}
            services.company_update(company=Company.objects.get(pk=obj.pk), actor=request.user, **changes)
            obj.refresh_from_db()
        else:
            created = services.company_create(
                organization=obj.organization,
                symbol=obj.symbol,
                name=obj.name,
                sector=obj.sector,
                country=obj.country,
                created_by=request.user,
            )
            obj.pk = created.pk

    def delete_model(self, request, obj):
        services.company_delete(company=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for company in queryset:
            services.company_delete(company=company, actor=request.user)
