from rest_framework import serializers

from syncaudit.models import Device, SyncRecord
from syncaudit.selectors import FEED_LIMIT_DEFAULT, FEED_LIMIT_MAX


class FeedQuerySerializer(serializers.Serializer):
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    limit = serializers.IntegerField(required=False, min_value=1, default=FEED_LIMIT_DEFAULT)

    def validate_limit(self, value: int) -> int:
        return min(value, FEED_LIMIT_MAX)


class FeedPageSerializer(serializers.Serializer):
    changes = serializers.ListField(child=serializers.DictField())
    cursor = serializers.CharField()
    has_more = serializers.BooleanField()


class SyncDeviceSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=128)
    platform = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    app_version = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class SyncRequestSerializer(serializers.Serializer):
    device = SyncDeviceSerializer()
    cursor = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=4000
    )
    limit = serializers.IntegerField(required=False, min_value=1, default=FEED_LIMIT_DEFAULT)
    contacts = serializers.ListField(child=serializers.JSONField(), required=False, default=list)
    calls = serializers.ListField(child=serializers.JSONField(), required=False, default=list)


class SyncResponseSerializer(serializers.Serializer):
    contacts = serializers.DictField()
    calls = serializers.DictField()
    audit_id = serializers.UUIDField()


class DeviceSerializer(serializers.ModelSerializer):
    user = serializers.UUIDField(source="user_id")
    user_email = serializers.EmailField(source="user.email")
    user_name = serializers.CharField(source="user.name")

    class Meta:
        model = Device
        fields = [
            "id",
            "device_id",
            "user",
            "user_email",
            "user_name",
            "platform",
            "app_version",
            "first_seen",
            "last_sync_at",
            "last_cursor",
        ]


class SyncRecordSerializer(serializers.ModelSerializer):
    user = serializers.UUIDField(source="user_id")
    user_email = serializers.EmailField(source="user.email")
    device = serializers.CharField(source="device_ref")

    class Meta:
        model = SyncRecord
        exclude = ["device_ref"]
