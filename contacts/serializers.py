from rest_framework import serializers

from contacts.selectors import contact_to_dict
from crm.http.fields import TimestampField


class ContactSerializer(serializers.Serializer):
    """Output shape of a contact (rendered by contacts.selectors.contact_to_dict)."""

    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    phone = serializers.CharField(read_only=True)
    phone_normalized = serializers.CharField(read_only=True)
    created_by = serializers.UUIDField(read_only=True)
    created_by_name = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    version = serializers.IntegerField(read_only=True)

    def to_representation(self, instance):
        return contact_to_dict(instance)


class ContactWriteResultSerializer(ContactSerializer):
    result = serializers.ChoiceField(choices=["created", "existing", "replaced"], read_only=True)


class ContactCreateSerializer(serializers.Serializer):
    # Lengths are checked by the service so that every path (API, sync, import) says the same.
    name = serializers.CharField(trim_whitespace=False, max_length=10_000)
    phone = serializers.CharField(max_length=10_000)
    created_at = TimestampField(required=False, allow_null=True)


class ContactUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(trim_whitespace=False, max_length=10_000)
    phone = serializers.CharField(max_length=10_000)
    base_version = serializers.IntegerField(
        required=False,
        min_value=0,
        help_text="Optional optimistic lock: 409 version_conflict if the contact changed since.",
    )
