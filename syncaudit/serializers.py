import base64
import binascii

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from calls.serializers import CallSerializer, CallUploadSerializer
from contacts.serializers import (
    ContactDetailsSerializer,
    ContactListFeedSerializer,
    ContactNameField,
    ContactPhoneField,
    ContactSerializer,
    TagEditsSerializer,
)
from crm.http.schema import CURSOR_PATTERN
from crm.outbound import outbound_url_problem
from dnc.serializers import DncFeedEntrySerializer
from syncaudit.models import Device, PushSubscription, SyncRecord
from syncaudit.selectors import FEED_LIMIT_DEFAULT, FEED_LIMIT_MAX


class FeedQuerySerializer(serializers.Serializer):
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    limit = serializers.IntegerField(required=False, min_value=1, default=FEED_LIMIT_DEFAULT)

    def validate_limit(self, value: int) -> int:
        return min(value, FEED_LIMIT_MAX)


class SyncDeviceSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=128)
    platform = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    app_version = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


# --- documentation of the sync answers and pushes (the views validate by hand: a bad pushed
# item is that item's error, not the request's) ----------------------------------------------


class TombstoneSerializer(serializers.Serializer):
    """A deleted record (contact, list) in a feed."""

    id = serializers.UUIDField()
    deleted = serializers.ChoiceField(choices=[True], help_text="Always true.")
    version = serializers.IntegerField()


def _changes(component_name: str, record) -> PolymorphicProxySerializer:
    """A feed's changes: records and tombstones (a field instance belongs to one serializer,
    so each use builds its own)."""
    return PolymorphicProxySerializer(
        component_name=component_name,
        serializers=[record, TombstoneSerializer],
        resource_type_field_name=None,
        many=True,
    )


def _contact_changes() -> PolymorphicProxySerializer:
    return _changes("ContactChange", ContactSerializer)


CURSOR_HELP = "Opaque and signed; send back exactly what the server gave."


class ContactFeedPageSerializer(serializers.Serializer):
    changes = _contact_changes()
    cursor = serializers.CharField(help_text=CURSOR_HELP)
    has_more = serializers.BooleanField()


class ListFeedPageSerializer(serializers.Serializer):
    changes = _changes("ListChange", ContactListFeedSerializer)
    cursor = serializers.CharField(help_text=CURSOR_HELP)
    has_more = serializers.BooleanField()


class DncFeedPageSerializer(serializers.Serializer):
    changes = _changes("DncChange", DncFeedEntrySerializer)
    cursor = serializers.CharField(help_text=CURSOR_HELP)
    has_more = serializers.BooleanField()


class CallFeedPageSerializer(serializers.Serializer):
    changes = CallSerializer(many=True)
    cursor = serializers.CharField(help_text=CURSOR_HELP)
    has_more = serializers.BooleanField()


class SyncNewContactSerializer(ContactDetailsSerializer):
    client_id = serializers.CharField(required=False, help_text="Echoed in the item's result.")
    name = ContactNameField()
    phone = ContactPhoneField()
    created_at = serializers.DateTimeField(required=False, allow_null=True)


class SyncContactEditSerializer(TagEditsSerializer, ContactDetailsSerializer):
    id = serializers.UUIDField()
    base_version = serializers.IntegerField(min_value=0)
    client_id = serializers.CharField(required=False)
    name = ContactNameField(required=False)
    phone = ContactPhoneField(required=False)


class SyncContactDeleteSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    base_version = serializers.IntegerField(min_value=0)
    client_id = serializers.CharField(required=False)
    deleted = serializers.ChoiceField(choices=[True])


@extend_schema_field(
    {"type": "string", "nullable": True, "maxLength": 4000, "pattern": CURSOR_PATTERN,
     "description": CURSOR_HELP}
)  # fmt: skip
class _CursorField(serializers.CharField):
    pass


class SyncSerializer(serializers.Serializer):
    device = SyncDeviceSerializer()
    cursor = _CursorField(required=False, allow_blank=True, allow_null=True)
    limit = serializers.IntegerField(required=False, min_value=1, default=FEED_LIMIT_DEFAULT)
    contacts = PolymorphicProxySerializer(
        component_name="SyncContactItem",
        serializers=[
            SyncNewContactSerializer,
            SyncContactEditSerializer,
            SyncContactDeleteSerializer,
        ],
        resource_type_field_name=None,
        many=True,
        required=False,
    )
    calls = CallUploadSerializer(many=True, required=False)


class SyncContactResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    result = serializers.ChoiceField(
        choices=["created", "existing", "replaced", "updated", "deleted", "conflict", "error"]
    )
    id = serializers.CharField(required=False, help_text="The server id (absent for errors).")
    client_id = serializers.JSONField(required=False, help_text="As the item sent it.")
    contact = ContactSerializer(required=False)
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class SyncContactsAnswerSerializer(serializers.Serializer):
    results = SyncContactResultSerializer(many=True)
    changes = _contact_changes()
    cursor = serializers.CharField(help_text=CURSOR_HELP)
    has_more = serializers.BooleanField()


class SyncCallsAnswerSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    errors = serializers.DictField(
        child=serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
        help_text="Field errors of each skipped call, by its index.",
    )


class SyncRequestSerializer(serializers.Serializer):
    device = SyncDeviceSerializer()
    cursor = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=4000
    )
    limit = serializers.IntegerField(required=False, min_value=1, default=FEED_LIMIT_DEFAULT)
    contacts = serializers.ListField(child=serializers.JSONField(), required=False, default=list)
    calls = serializers.ListField(child=serializers.JSONField(), required=False, default=list)


class SyncResponseSerializer(serializers.Serializer):
    contacts = SyncContactsAnswerSerializer()
    calls = SyncCallsAnswerSerializer()
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
            "revoked_at",
            "push",
        ]

    push = serializers.SerializerMethodField(help_text="Has a Web Push endpoint.")

    def get_push(self, device) -> bool:
        try:
            return device.push is not None
        except PushSubscription.DoesNotExist:
            return False


def _base64url_bytes(value: str, size: int, name: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, binascii.Error):
        raise serializers.ValidationError(f"{name} must be base64url.") from None
    if len(raw) != size:
        raise serializers.ValidationError(f"{name} must be {size} bytes (base64url).")
    return value


class PushKeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(
        max_length=200, help_text="The subscription's P-256 public key (65 bytes, base64url)."
    )
    auth = serializers.CharField(
        max_length=100, help_text="The subscription's auth secret (16 bytes, base64url)."
    )

    def validate_p256dh(self, value):
        return _base64url_bytes(value, 65, "p256dh")

    def validate_auth(self, value):
        return _base64url_bytes(value, 16, "auth")


class PushSubscriptionInSerializer(serializers.Serializer):
    endpoint = serializers.URLField(
        max_length=2000, help_text="The push endpoint URL the distributor gave (http or https)."
    )
    keys = PushKeysSerializer()

    def validate_endpoint(self, value):
        problem = outbound_url_problem(value, resolve=False)
        if problem:
            raise serializers.ValidationError(f"Not a usable push endpoint: {problem}.")
        return value


class PushSubscriptionSerializer(serializers.ModelSerializer):
    device = serializers.UUIDField(source="device_id")

    class Meta:
        model = PushSubscription
        fields = ["device", "endpoint", "created_at", "last_sent_at"]


class SyncRecordSerializer(serializers.ModelSerializer):
    user = serializers.UUIDField(source="user_id")
    user_email = serializers.EmailField(source="user.email")
    device = serializers.CharField(source="device_ref")

    class Meta:
        model = SyncRecord
        exclude = ["device_ref"]
