"""Serializer building blocks: strict input (unknown fields and loose types are 400s) and cheap field copies."""

from __future__ import annotations

import copy
import math

from rest_framework import serializers


class ShallowFieldCopiesMixin:
    """A serializer instance's fields as shallow copies of the declared ones; nested serializers are still deep copies.

    DRF deep-copies every declared field for every serializer instance, which re-runs each field's ``__init__`` (choice
    maps, validators, error messages): the largest single cost of serializing a prediction, and much of the cyclic
    garbage a request leaves for the garbage collector. A plain field is not changed by use once built: ``bind`` gives
    the copy its own name and parent, and the validators, choices and error messages it shares with the declared field
    are only read. A nested serializer keeps per-instance state (data, errors), so it is copied whole."""

    def get_fields(self):
        return {
            name: copy.deepcopy(field) if isinstance(field, serializers.BaseSerializer) else copy.copy(field)
            for name, field in self._declared_fields.items()
        }


NOT_A_STRING = "Not a valid string."


class TextInputSerializer(ShallowFieldCopiesMixin, serializers.Serializer):
    """Refuses numbers where text is expected: DRF's ``CharField`` (and ``EmailField``, ``RegexField``, …) turns
    ``123`` into ``"123"``; here it is a 400 naming the field."""

    def input_errors(self, data: dict) -> dict[str, list[str]]:
        return {
            name: [NOT_A_STRING]
            for name, field in self.fields.items()
            if isinstance(field, serializers.CharField)
            and data.get(name) is not None
            and not isinstance(data[name], str)
        }

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = self.input_errors(data)
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictInputSerializer(TextInputSerializer):
    """Also rejects fields the endpoint does not take, instead of silently ignoring them."""

    def input_errors(self, data: dict) -> dict[str, list[str]]:
        unknown = {name: ["Unknown field."] for name in sorted(set(data) - set(self.fields))}
        return {**unknown, **super().input_errors(data)}


class StrictIntegerField(serializers.IntegerField):
    """An integer given as a JSON number: no strings, booleans or fractional floats."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        if isinstance(data, float) and (not math.isfinite(data) or not data.is_integer()):
            self.fail("invalid")
        return super().to_internal_value(int(data))
