"""Serializer fields shared by the apps' input serializers."""

from rest_framework import serializers

from crm.timestamps import timestamp_parse


class TimestampField(serializers.DateTimeField):
    """A client's ISO 8601 timestamp, read by crm.timestamps (a timezone is required: DRF's
    own field would quietly take a time without one as UTC)."""

    def to_internal_value(self, value):
        try:
            return timestamp_parse(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class StrictCharField(serializers.CharField):
    """Text, and only text: DRF's CharField turns a number into its digits (``"name": 42``
    would become a contact called "42"); a client that sends a number has a bug to hear of."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false: DRF's BooleanField also takes 0, 1, "yes" and "on", which the
    schema (type boolean) does not promise and a client should not rely on."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data
