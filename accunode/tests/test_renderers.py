"""The orjson renderer answers what DRF's JSONRenderer answers."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from accunode.api.renderers import OrjsonRenderer, render_json

SAMPLE = {
    "id": uuid.UUID("0192f0c2-7d4e-7000-8000-000000000001"),
    "created_at": dt.datetime(2026, 11, 26, 14, 5, 7, 123456, tzinfo=dt.UTC),
    "day": dt.date(2026, 11, 26),
    "amount": decimal.Decimal("12.50"),
    "message": gettext_lazy("Not found."),
    "floats": [0.0123, 1e-05, 100.0, -3.5, 1e20],
    "nested": {"ratios": {"x": None, "y": 0.47}, "flags": [True, False, None]},
    "text": "Zürich — \u00e9",
}


def drf(data, media_type=None) -> bytes:
    return JSONRenderer().render(data, media_type)


def test_the_same_document_as_drf():
    assert json.loads(render_json(SAMPLE)) == json.loads(drf(SAMPLE))


def test_times_are_written_as_drf_writes_them():
    body = json.loads(render_json(SAMPLE))

    assert body["created_at"] == "2026-11-26T14:05:07.123456Z"
    assert body["day"] == "2026-11-26"


@pytest.mark.parametrize(
    "data",
    [{1: "integer key"}, {"big": 10**20}],
    ids=["non-string keys", "integer beyond 64 bits"],
)
def test_what_orjson_cannot_encode_is_rendered_by_drf(data):
    assert render_json(data) == drf(data)


def test_line_separators_are_escaped_as_drf_escapes_them():
    data = {"name": "a\u2028b\u2029c"}

    assert render_json(data) == drf(data)
    assert b"\\u2028" in render_json(data)


def test_pretty_printing_is_drf_s():
    media_type = "application/json; indent=2"

    assert OrjsonRenderer().render(SAMPLE, media_type) == drf(SAMPLE, media_type)


def test_no_data_is_an_empty_body():
    assert render_json(None) == b""


def test_an_unknown_type_still_fails_as_it_does_with_drf():
    with pytest.raises(TypeError):
        render_json({"value": object()})
