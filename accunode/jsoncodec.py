"""JSON decoding for documents read back from the database: orjson, with the standard library as the fallback.

A list page decodes some 200 stored documents (statements, ratios, drivers, model components); orjson does that
several times faster than ``json.loads``. It reads numbers the standard library would read as integers beyond 64 bits
as floats, and it refuses what ``json.loads`` accepts beyond the JSON grammar (``NaN``, ``Infinity``, numbers too large
for a double): those documents go to ``json.loads``, so anything stored stays readable.
"""

from __future__ import annotations

import json

import orjson


def loads(document: str | bytes | bytearray | memoryview):
    try:
        return orjson.loads(document)
    except orjson.JSONDecodeError:
        return json.loads(bytes(document) if isinstance(document, memoryview) else document)
