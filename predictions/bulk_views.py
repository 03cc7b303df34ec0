"""Bulk scoring API: upload a file (→ a job), list and follow jobs, cancel one, download its results.

Thin doors into ``predictions.bulk``; every view goes through ``OrgScopedAPIMixin`` (another organization's job
is 404) and answers 404 when ``ACCUNODE_ENABLE_BULK_UPLOAD`` is off.
"""

from __future__ import annotations

from django.conf import settings
from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accunode.api.exceptions import Conflict, NotFound, ValidationFailed
from accunode.api.ratelimit import enforce_rate_limit
from accunode.api.schema import error_responses
from accunode.api.streaming import streaming_content_for
from accunode.logging import request_id_var
from organizations.choices import Role
from organizations.scoping import OrgScopedAPIMixin

from . import bulk
from .choices import OnDuplicate, PredictionKind
from .models import BulkJob
from .serializers import UserReferenceSerializer

# Multipart framing around the file: boundaries, part headers and the small form fields.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class BulkUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True, help_text="CSV (UTF-8, with or without BOM) or XLSX; columns as in API.md."
    )
    kind = serializers.ChoiceField(choices=PredictionKind.choices)
    on_duplicate = serializers.ChoiceField(choices=OnDuplicate.choices, default=OnDuplicate.SKIP, required=False)


class BulkJobErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="1-based data row of the file.")
    field = serializers.CharField()
    message = serializers.CharField()


class BulkJobSerializer(serializers.ModelSerializer):
    """The job of API.md "Bulk scoring"."""

    errors = BulkJobErrorSerializer(many=True, help_text="The first 100 row errors.")
    created_by = UserReferenceSerializer(allow_null=True)
    results_url = serializers.SerializerMethodField()

    class Meta:
        model = BulkJob
        fields = [
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
        ]
        read_only_fields = fields

    def get_results_url(self, job: BulkJob) -> str:
        return reverse("bulk-job-results", args=[job.pk])


class BulkJobEnvelopeSerializer(serializers.Serializer):
    job = BulkJobSerializer()


def _bulk_switch() -> None:
    if not settings.ACCUNODE_ENABLE_BULK_UPLOAD:
        raise NotFound("Bulk upload is switched off.")


class BulkUploadView(OrgScopedAPIMixin, APIView):
    """``POST /api/v1/predictions/bulk-upload/`` → 202 with the queued job and its ``Location``."""

    parser_classes = [MultiPartParser, FormParser]

    def initial(self, request, *args, **kwargs):
        _bulk_switch()
        super().initial(request, *args, **kwargs)  # authentication, organization, analyst role
        # Before the body is read: a declared size over the limit is refused without receiving the file.
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > bulk.max_upload_bytes() + MULTIPART_OVERHEAD_BYTES:
            bulk.check_upload_size(declared)
        enforce_rate_limit(request, limit_name="bulk_upload_user", value=str(request.user.pk))

    @extend_schema(
        summary="Upload a CSV/XLSX file to score in the background",
        request={"multipart/form-data": BulkUploadInputSerializer},
        responses={
            202: BulkJobEnvelopeSerializer,
            **error_responses(400, 401, 403, 404, 413, 415, 429, 503),
        },
    )
    def post(self, request):
        payload = BulkUploadInputSerializer(data=request.data)
        if not payload.is_valid():
            raise ValidationFailed("The upload has invalid fields.", details=payload.errors)
        data = payload.validated_data
        if data["kind"] == PredictionKind.QUARTERLY and not settings.ACCUNODE_ENABLE_QUARTERLY_PREDICTIONS:
            raise ValidationFailed(details={"kind": ["Quarterly predictions are switched off."]})
        upload = data["file"]
        job = bulk.bulk_job_create(
            organization=request.organization,
            created_by=request.user,
            kind=data["kind"],
            on_duplicate=data.get("on_duplicate") or OnDuplicate.SKIP,
            upload=upload,
            file_name=upload.name,
            content_type=getattr(upload, "content_type", None),
            request_id=request_id_var.get(),
        )
        bulk.bulk_job_enqueue(job)
        job.refresh_from_db()
        location = reverse("bulk-job-detail", args=[job.pk])
        return Response(
            {"job": BulkJobSerializer(job).data}, status=status.HTTP_202_ACCEPTED, headers={"Location": location}
        )


@extend_schema_view(
    list=extend_schema(
        summary="Bulk jobs of the organization, newest first",
        responses={200: BulkJobSerializer(many=True), **error_responses(401, 403, 404, 429)},
    ),
    retrieve=extend_schema(
        summary="A bulk job and its progress", responses={200: BulkJobSerializer, **error_responses(401, 403, 404)}
    ),
)
class BulkJobViewSet(OrgScopedAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Bulk scoring jobs of the active organization: progress, cancellation and the results file. Every member
    may read them; cancelling takes an analyst."""

    queryset = BulkJob.objects.select_related("created_by")
    serializer_class = BulkJobSerializer
    filter_backends: list = []
    action_roles = {"cancel": Role.ANALYST, "results": Role.VIEWER}

    def initial(self, request, *args, **kwargs):
        _bulk_switch()
        super().initial(request, *args, **kwargs)

    def get_queryset(self):
        return super().get_queryset().order_by("-created_at")

    @extend_schema(
        summary="Cancel a queued or running job (between chunks; committed rows stay)",
        request=None,
        responses={200: BulkJobEnvelopeSerializer, **error_responses(401, 403, 404, 409, 429)},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        job = bulk.bulk_job_cancel(job=self.get_object())
        job.refresh_from_db()
        return Response({"job": BulkJobSerializer(job).data})

    @extend_schema(
        summary="Results CSV: the input columns, then probability, risk_level, rating, status, error",
        responses={
            (200, "text/csv"): OpenApiResponse(response=OpenApiTypes.BINARY, description="The results file."),
            **error_responses(401, 403, 404, 409),
        },
    )
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        job = self.get_object()
        if not job.is_finished:
            raise Conflict("The job has not ended yet; its results are available once it does.")
        stem = job.file_name.rsplit(".", 1)[0] or "bulk"
        safe_stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem)[:80]
        response = StreamingHttpResponse(
            streaming_content_for(request, bulk.iter_results_csv(job)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{safe_stem}-results.csv"'
        return response
