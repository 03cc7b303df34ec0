"""The OpenAPI document: valid OpenAPI 3.0, and truthful about descriptions, headers, cached reads and switches."""

from __future__ import annotations

import inspect

import pytest
from django.test import override_settings
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from accunode.api.caching import CachedReadMixin
from organizations.scoping import OrgScopedAPIMixin

CACHED_READS = [
    ("/api/v1/companies/", "get"),
    ("/api/v1/companies/{id}/", "get"),
    ("/api/v1/predictions/annual/", "get"),
    ("/api/v1/predictions/annual/{id}/", "get"),
    ("/api/v1/predictions/quarterly/", "get"),
    ("/api/v1/predictions/quarterly/{id}/", "get"),
]


def build_schema() -> dict:
    with GENERATOR_STATS.silence():
        return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture(scope="module")
def schema():
    return build_schema()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_the_document_is_valid_openapi(schema):
    validate_schema(schema)  # raises on any violation of the OpenAPI 3.0 meta-schema


def test_no_operation_is_described_by_a_mixin_s_docstring(schema):
    internal = {inspect.cleandoc(mixin.__doc__) for mixin in (OrgScopedAPIMixin, CachedReadMixin)}

    described_internally = [
        (path, method) for path, method, operation in operations(schema) if operation.get("description") in internal
    ]

    assert described_internally == []


def test_every_response_names_its_request_id_and_every_429_its_retry_after(schema):
    for path, method, operation in operations(schema):
        if path.startswith(("/api/v1/schema", "/api/v1/docs", "/api/v1/health")):
            continue
        for status, response in operation["responses"].items():
            assert "X-Request-ID" in response.get("headers", {}), (path, method, status)
            if status == "429":
                assert "Retry-After" in response["headers"], (path, method)


@pytest.mark.parametrize(("path", "method"), CACHED_READS)
def test_cached_reads_document_their_etag_and_304(schema, path, method):
    responses = schema["paths"][path][method]["responses"]

    assert "304" in responses
    assert "ETag" in responses["200"]["headers"]


def test_quarters_are_documented_as_the_api_takes_and_answers_them(schema):
    parameters = schema["paths"]["/api/v1/predictions/quarterly/"]["get"]["parameters"]
    quarter_filter = next(parameter for parameter in parameters if parameter["name"] == "reporting_quarter")
    output = schema["components"]["schemas"]["PredictionOutput"]["properties"]["reporting_quarter"]
    output_enum = schema["components"]["schemas"][output["allOf"][0]["$ref"].rsplit("/", 1)[1]]["enum"]

    assert set(quarter_filter["schema"]["enum"]) == {"Q1", "Q2", "Q3", "Q4", "1", "2", "3", "4"}
    assert output_enum == ["Q1", "Q2", "Q3", "Q4"] and output["nullable"] is True


@override_settings(ACCUNODE_ENABLE_QUARTERLY_PREDICTIONS=False, ACCUNODE_ENABLE_BULK_UPLOAD=False)
def test_switched_off_endpoints_are_not_documented():
    paths = set(build_schema()["paths"])

    assert not [path for path in paths if path.startswith(("/api/v1/predictions/quarterly/", "/api/v1/jobs/"))]
    assert "/api/v1/predictions/bulk-upload/" not in paths
    assert "/api/v1/predictions/annual/" in paths
