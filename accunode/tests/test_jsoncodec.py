"""Stored JSON documents decode with orjson, and with the standard library where orjson refuses them."""

from __future__ import annotations

import math

import pytest

from accunode import jsoncodec


@pytest.mark.parametrize("document", ['{"a": [1, 2.5, null]}', b'{"a": [1, 2.5, null]}'])
def test_a_json_document_decodes(document):
    assert jsoncodec.loads(document) == {"a": [1, 2.5, None]}


def test_bytes_from_the_driver_decode():
    assert jsoncodec.loads(memoryview(b'{"revenue": 1.5}')) == {"revenue": 1.5}


@pytest.mark.parametrize("document", ['{"x": NaN}', b'{"x": Infinity}', memoryview(b'{"x": 1e400}')])
def test_what_orjson_refuses_but_python_reads_still_decodes(document):
    assert math.isnan(jsoncodec.loads(document)["x"]) or math.isinf(jsoncodec.loads(document)["x"])


def test_malformed_text_is_still_an_error():
    with pytest.raises(ValueError):
        jsoncodec.loads("{not json")
