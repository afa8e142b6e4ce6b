from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts.custom_fields import KEY_PATTERN
from contacts.models import BulkAction, FieldType
from contacts.selectors import contact_to_dict
from contacts.services import (
    EMAIL_MAX_LENGTH,
    LINE_MAX_LENGTH,
    NAME_MAX_LENGTH,
    NOTES_MAX_LENGTH,
    TAG_MAX_LENGTH,
    TAGS_MAX,
)
from crm.http.fields import StrictBooleanField, StrictCharField, TimestampField
from crm.phones import MAX_RAW_LENGTH, InvalidPhone, phone_normalize


class ContactSerializer(serializers.Serializer):
    """Output shape of a contact (rendered by contacts.selectors.contact_to_dict)."""

    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    phone = serializers.CharField(read_only=True)
    phone_normalized = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True, help_text="Lower-case; empty when not known.")
    company = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    notes = serializers.CharField(read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    custom_fields = serializers.DictField(
        read_only=True, help_text="Custom field key -> value, for the active definitions."
    )
    lists = serializers.ListField(
        child=serializers.UUIDField(), read_only=True, help_text="The lists it belongs to."
    )
    created_by = serializers.UUIDField(read_only=True)
    created_by_name = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    version = serializers.IntegerField(read_only=True)

    def to_representation(self, instance):
        return contact_to_dict(instance)


class ContactWithCallsSerializer(ContactSerializer):
    """A contact as the REST endpoints answer it: with its calls summed up, computed on read
    (never a new version; the sync feed does not carry them)."""

    call_count = serializers.IntegerField(read_only=True)
    last_call_at = serializers.DateTimeField(read_only=True, allow_null=True)
    dnc = serializers.BooleanField(
        read_only=True, help_text="Its number is on an active do-not-call entry now."
    )


class ContactWriteResultSerializer(ContactWithCallsSerializer):
    result = serializers.ChoiceField(choices=["created", "existing", "replaced"], read_only=True)


# Some character that is not a space, and no control characters.
_NAME_PATTERN = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"


# Lengths and characters are checked by the service, so that every path (API, sync, import)
# says the same; the schema states the service's rules for client generators.
@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": NAME_MAX_LENGTH,
        "pattern": _NAME_PATTERN,
        "description": f"At most {NAME_MAX_LENGTH} characters (runs of spaces count as one), "
        "no control characters.",
    }
)
class ContactNameField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(trim_whitespace=False, max_length=10_000, **kwargs)


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_RAW_LENGTH,
        "description": "Any common way of writing a number; without +country code it is read "
        "in PHONE_DEFAULT_REGION. Must be a valid number (E.164 after normalisation).",
    }
)
class ContactPhoneField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=10_000, **kwargs)


@extend_schema_field(
    {
        "type": "array",
        "maxItems": TAGS_MAX,
        "items": {"type": "string", "minLength": 1, "maxLength": TAG_MAX_LENGTH},
        "description": f"At most {TAGS_MAX} tags of 1-{TAG_MAX_LENGTH} characters, unique "
        "without regard to case (the first spelling is kept).",
    }
)
class TagsField(serializers.ListField):
    """Tags as input; the service trims, de-duplicates and checks them."""

    def __init__(self, **kwargs):
        super().__init__(child=StrictCharField(allow_blank=True, max_length=10_000), **kwargs)


class ContactDetailsSerializer(serializers.Serializer):
    """The optional text fields of a contact, as input: empty clears one, leaving it out keeps
    it. The service checks them (every path says the same); the schema states the rules."""

    email = StrictCharField(
        required=False, allow_blank=True, max_length=EMAIL_MAX_LENGTH,
        help_text="A valid address (stored lower-case), or empty.",
    )  # fmt: skip
    company = StrictCharField(required=False, allow_blank=True, max_length=LINE_MAX_LENGTH)
    title = StrictCharField(required=False, allow_blank=True, max_length=LINE_MAX_LENGTH)
    notes = StrictCharField(
        required=False, allow_blank=True, max_length=NOTES_MAX_LENGTH, trim_whitespace=False
    )
    tags = TagsField(required=False, help_text="Replaces the contact's tags.")
    custom_fields = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        required=False,
        help_text="Custom field key -> value (text, number, date as YYYY-MM-DD, bool, or one of "
        "the choices). Only the keys named change; null clears one. An unknown or inactive key "
        "or a bad value is a field error under custom_fields.<key>.",
    )


class ContactCreateSerializer(ContactDetailsSerializer):
    name = ContactNameField()
    phone = ContactPhoneField()
    created_at = TimestampField(required=False, allow_null=True)


class TagEditsSerializer(serializers.Serializer):
    """Set operations on the tags the server holds now: they never conflict."""

    tags_add = TagsField(required=False)
    tags_remove = TagsField(required=False)


class ContactUpdateSerializer(TagEditsSerializer, ContactDetailsSerializer):
    name = ContactNameField()
    phone = ContactPhoneField()
    base_version = serializers.IntegerField(
        required=False,
        min_value=0,
        help_text="The version the edit was made against. If the contact changed since, the "
        "edit is still applied unless a field it changes was changed after it: then 409 "
        "conflict with details.conflicting_fields and details.contact.",
    )


class ContactLookupSerializer(serializers.Serializer):
    phone = StrictCharField(max_length=MAX_RAW_LENGTH, help_text="A number in any format.")

    def validate_phone(self, value: str) -> str:
        """The number as E.164, normalised like every input (crm.phones)."""
        try:
            return phone_normalize(value)
        except InvalidPhone as exc:
            raise serializers.ValidationError(str(exc)) from None


class ContactFieldSerializer(serializers.Serializer):
    """A custom field definition (contacts/custom_fields.py checks what is written)."""

    key = serializers.RegexField(
        KEY_PATTERN.pattern,
        max_length=50,
        help_text="A lower-case letter, then lower-case letters, digits or _; immutable.",
    )
    label = StrictCharField(max_length=100)
    type = serializers.ChoiceField(choices=[t.value for t in FieldType])
    choices = serializers.ListField(
        child=StrictCharField(max_length=100), required=False, max_length=200,
        help_text="The values of a choice field (unique without regard to case).",
    )  # fmt: skip
    active = StrictBooleanField(
        required=False, default=True, help_text="Inactive: values are kept but not shown."
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class ContactFieldUpdateSerializer(serializers.Serializer):
    label = StrictCharField(max_length=100, required=False)
    choices = serializers.ListField(
        child=StrictCharField(max_length=100), required=False, max_length=200
    )
    active = StrictBooleanField(required=False)
    key = serializers.CharField(required=False, help_text="Immutable: must be the field's own.")
    type = serializers.CharField(required=False, help_text="Immutable: must be the field's own.")


class ContactListFeedSerializer(serializers.Serializer):
    """A contact list as the lists feed carries it."""

    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    created_by = serializers.UUIDField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    version = serializers.IntegerField(read_only=True)


class ContactListSerializer(ContactListFeedSerializer):
    """A contact list as REST answers it: with its live members counted."""

    contact_count = serializers.IntegerField(read_only=True)


class ContactListWriteSerializer(serializers.Serializer):
    name = StrictCharField(
        max_length=200, help_text="Unique without regard to case; one line of 1-200 characters."
    )
    description = StrictCharField(
        required=False, allow_blank=True, max_length=2000, trim_whitespace=False
    )


class ContactIdsSerializer(serializers.Serializer):
    contact_ids = serializers.ListField(
        child=serializers.UUIDField(), max_length=10_000,
        help_text="At most 10,000 contact ids.",
    )  # fmt: skip


class MembersAddedSerializer(serializers.Serializer):
    added = serializers.IntegerField(help_text="Put on the list by this request.")
    already = serializers.IntegerField(help_text="On the list before.")


class MembersRemovedSerializer(serializers.Serializer):
    removed = serializers.IntegerField()


class BulkDataSerializer(serializers.Serializer):
    tags = TagsField(required=False, help_text="add_tags, remove_tags.")
    list = serializers.UUIDField(required=False, help_text="add_to_list, remove_from_list.")
    owner = serializers.UUIDField(required=False, help_text="set_owner: an active user's id.")


class BulkRequestSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=[a.value for a in BulkAction])
    contact_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=10_000,
        help_text="The contacts (at most 10,000); or name them by filter.",
    )  # fmt: skip
    filter = serializers.DictField(
        required=False,
        help_text="The list endpoint's query parameters (tag as a list of strings, search, "
        "list, company, has_calls, created_by, updated_since): every live contact "
        "GET /contacts would list with them (at most 100,000).",
    )
    data = BulkDataSerializer(required=False)


class BulkResultSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The operation's id (for its undo).")
    action = serializers.CharField()
    processed = serializers.IntegerField()
    succeeded = serializers.IntegerField(help_text="Contacts now as asked (some were already).")
    failed = serializers.IntegerField()
    errors = serializers.DictField(
        child=serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
        help_text="Contact id -> field errors.",
    )


class ContactStatsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Live contacts.")
    created_last_7_days = serializers.IntegerField()
    with_calls = serializers.IntegerField(help_text="Live contacts with at least one call.")
    dnc = serializers.IntegerField(help_text="Live contacts whose number is blocked now.")
    by_tag = serializers.DictField(
        child=serializers.IntegerField(), help_text="Tag -> live contacts carrying it."
    )
    by_list = serializers.DictField(
        child=serializers.IntegerField(), help_text="List id -> live contacts on it."
    )


class ScrubRequestSerializer(serializers.Serializer):
    lists = serializers.ListField(
        child=serializers.UUIDField(), min_length=1, max_length=100,
        help_text="Contact lists to scrub.",
    )  # fmt: skip
    dnc_lists = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=100,
        help_text="The DNC lists to scrub against (default: every active one).",
    )  # fmt: skip
    clean_list_name = StrictCharField(
        required=False, max_length=200,
        help_text="Put the clean contacts on a new contact list of this name (managers, admins).",
    )  # fmt: skip


class ScrubResultSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    blocked = serializers.IntegerField()
    clean = serializers.IntegerField()
    clean_list = serializers.UUIDField(allow_null=True)
