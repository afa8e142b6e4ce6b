from rest_framework import serializers

from calls.models import Direction
from calls.selectors import call_to_dict
from calls.validation import DURATION_MAX, KEY_MAX_LENGTH
from crm.phones import MAX_RAW_LENGTH


class CallSerializer(serializers.Serializer):
    """Output shape of a call (rendered by calls.selectors.call_to_dict)."""

    id = serializers.UUIDField(read_only=True)
    user = serializers.UUIDField(read_only=True)
    contact = serializers.UUIDField(read_only=True, allow_null=True)
    phone = serializers.CharField(read_only=True)
    phone_normalized = serializers.CharField(read_only=True)
    direction = serializers.ChoiceField(choices=Direction.choices, read_only=True)
    started_at = serializers.DateTimeField(read_only=True)
    duration_seconds = serializers.IntegerField(read_only=True)
    device_id = serializers.CharField(read_only=True)
    client_call_id = serializers.CharField(read_only=True)
    version = serializers.IntegerField(read_only=True)

    def to_representation(self, instance):
        return call_to_dict(instance)


class CallWithDncSerializer(CallSerializer):
    """A call as REST answers it."""

    dnc = serializers.BooleanField(
        read_only=True,
        help_text="Its number was on an active do-not-call entry when the call started "
        "(computed on read; the calls feed does not carry it).",
    )


class CallUploadSerializer(serializers.Serializer):
    """Documentation of one uploaded call; validation itself is calls.validation."""

    phone = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX_RAW_LENGTH,
        help_text="As the phone shows it; empty or left out for a private number.",
    )  # fmt: skip
    direction = serializers.ChoiceField(choices=Direction.choices)
    started_at = serializers.DateTimeField(help_text="With a timezone; not in the future.")
    duration_seconds = serializers.IntegerField(min_value=0, max_value=DURATION_MAX, default=0)
    device_id = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=KEY_MAX_LENGTH
    )
    client_call_id = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=KEY_MAX_LENGTH
    )


class CallUploadItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["created", "duplicate"])


class CallUploadResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    results = CallUploadItemResultSerializer(many=True)
