"""Predictions in Django admin, scoped to the tenant administrator's organizations. Read-only: predictions
are made and re-scored through the services (API, dashboards, bulk jobs), never edited by hand."""

from django.contrib import admin

from organizations.scoping import ReadOnlyOrgScopedAdmin

from . import bulk, services
from .choices import BulkJobStatus
from .models import BulkJob, Prediction


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyOrgScopedAdmin):
    list_display = ["company", "kind", "reporting_year", "reporting_quarter", "probability", "risk_level", "rating"]
    list_filter = ["kind", "risk_level", "source"]
    search_fields = ["company__symbol", "company__name"]
    list_select_related = ["company", "organization"]
    autocomplete_fields = ["company"]
    date_hierarchy = "created_at"

    def delete_model(self, request, obj):
        services.prediction_delete(prediction=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for prediction in queryset:
            services.prediction_delete(prediction=prediction, actor=request.user)


@admin.register(BulkJob)
class BulkJobAdmin(ReadOnlyOrgScopedAdmin):
    """Bulk jobs, read-only: they are created by uploads and the import command, and run by the pipeline."""

    list_display = ["file_name", "kind", "status", "total_rows", "succeeded_rows", "failed_rows", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["file_name"]
    list_select_related = ["organization", "created_by"]
    date_hierarchy = "created_at"

    def has_delete_permission(self, request, obj=None):
        # A queued or running job is still being worked on: cancel it (API) before deleting its record.
        if obj is not None and obj.status in (BulkJobStatus.QUEUED, BulkJobStatus.RUNNING):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        bulk.bulk_job_delete(job=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for job in queryset:
            bulk.bulk_job_delete(job=job, actor=request.user)
