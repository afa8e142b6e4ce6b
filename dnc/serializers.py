from rest_framework import serializers

from crm.http.fields import StrictBooleanField, StrictCharField, TimestampField
from crm.phones import MAX_RAW_LENGTH
from dnc.models import DncListType


class DncListSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = StrictCharField(max_length=200)
    type = serializers.ChoiceField(choices=DncListType.values)
    description = StrictCharField(required=False, allow_blank=True, max_length=2000)
    source = StrictCharField(required=False, allow_blank=True, max_length=200)
    active = StrictBooleanField(required=False, help_text="Inactive lists block nothing.")
    entry_count = serializers.IntegerField(
        read_only=True,
        help_text="Its entries not removed or expired (they block while the list is active).",
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class DncEntryInputSerializer(serializers.Serializer):
    list = serializers.UUIDField()
    phone = StrictCharField(max_length=MAX_RAW_LENGTH, help_text="Any format; stored as E.164.")
    reason = StrictCharField(required=False, allow_blank=True, max_length=200)
    source = StrictCharField(required=False, allow_blank=True, max_length=200)
    notes = StrictCharField(required=False, allow_blank=True, max_length=2000)
    expires_at = TimestampField(required=False, allow_null=True, help_text="In the future.")


class DncEntrySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    list = serializers.UUIDField()
    phone = serializers.CharField()
    phone_normalized = serializers.CharField()
    reason = serializers.CharField()
    source = serializers.CharField()
    notes = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    added_by = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    active = serializers.BooleanField(help_text="Blocks now: list active, not expired.")


class DncBatchResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    existing = serializers.IntegerField()


class DncCheckQuerySerializer(serializers.Serializer):
    phone = StrictCharField(max_length=MAX_RAW_LENGTH, help_text="A number in any format.")


class DncCheckEntrySerializer(serializers.Serializer):
    list = serializers.UUIDField()
    reason = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)


class DncCheckSerializer(serializers.Serializer):
    phone_normalized = serializers.CharField()
    blocked = serializers.BooleanField()
    entries = DncCheckEntrySerializer(many=True)


class DncFeedEntrySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    phone_normalized = serializers.CharField()
    list = serializers.UUIDField()
    expires_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField()
