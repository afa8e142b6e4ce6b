"""The shapes of the imports endpoints (the answers are built by jobs/selectors.py)."""

from rest_framework import serializers

from jobs.models import ImportKind, ImportPhase, ImportStatus


class ImportCreateSerializer(serializers.Serializer):
    """multipart/form-data."""

    file = serializers.FileField(
        help_text="CSV (UTF-8), XLSX, vCard (.vcf, contacts) or the XML call log of SMS Backup "
        "& Restore (.xml, calls); at most 100 MB."
    )
    kind = serializers.ChoiceField(choices=ImportKind.choices)
    list = serializers.CharField(
        required=False, allow_blank=True,
        help_text="contacts: a contact list the imported rows are added to (optional); "
        "dnc: the do-not-call list the numbers go on (required).",
    )  # fmt: skip
    dry_run = serializers.BooleanField(
        required=False, default=False,
        help_text="Count what the import would do (created, existing, replaced, invalid) and "
        "list the refused rows; nothing is saved.",
    )  # fmt: skip
    skip_invalid = serializers.BooleanField(
        required=False, default=False,
        help_text="Import the valid rows and report the others. Default: one invalid row and "
        "nothing is imported.",
    )  # fmt: skip
    user = serializers.CharField(
        required=False, allow_blank=True, max_length=254,
        help_text="calls: whose calls they are (email or id; default: you).",
    )  # fmt: skip
    device_id = serializers.CharField(
        required=False, allow_blank=True, max_length=128,
        help_text="calls: the device they were made on, for rows without a device_id.",
    )  # fmt: skip

    mapping = serializers.JSONField(
        required=False, binary=True,
        help_text='A JSON object, header -> field ("name", "phone", "email", "company", '
        '"title", "notes", "tags", "created_at", "owner_email", "custom_fields.<key>", "ignore"; '
        'dnc and calls: their columns). Without it, a file not in our columns waits in '
        "needs_mapping with a proposal.",
    )  # fmt: skip
    mapping_name = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="A saved mapping's name."
    )


class ImportMappingRequestSerializer(serializers.Serializer):
    mapping = serializers.DictField(child=serializers.CharField())
    save_as = serializers.CharField(
        required=False, allow_blank=True, max_length=100,
        help_text="Save the mapping under this name (replacing one of the same name and kind).",
    )  # fmt: skip


class ImportMappingSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=ImportKind.choices)
    mapping = serializers.DictField(child=serializers.CharField())
    updated_at = serializers.DateTimeField()


class ImportJobSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=ImportKind.choices)
    filename = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")
    status = serializers.ChoiceField(choices=ImportStatus.choices)
    phase = serializers.ChoiceField(
        choices=["queued", *(p for p in ImportPhase.values if p)],
        help_text="checking: every row is checked before any is imported; importing.",
    )  # fmt: skip
    progress = serializers.IntegerField(help_text="0-100, over both phases.")
    total_rows = serializers.IntegerField(allow_null=True, help_text="Known once the job runs.")
    processed_rows = serializers.IntegerField(help_text="Rows done in the current phase.")
    created = serializers.IntegerField()
    existing = serializers.IntegerField()
    replaced = serializers.IntegerField()
    invalid = serializers.IntegerField()
    dry_run = serializers.BooleanField()
    skip_invalid = serializers.BooleanField()
    list = serializers.UUIDField(allow_null=True)
    user = serializers.UUIDField(allow_null=True, help_text="calls: whose calls.")
    device_id = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField(), help_text="The file's header.")
    mapping = serializers.DictField(
        child=serializers.CharField(), allow_null=True,
        help_text="header -> field: proposed (needs_mapping) or as confirmed; null for a file "
        "in our own columns.",
    )  # fmt: skip
    ignored_columns = serializers.ListField(
        child=serializers.CharField(), help_text="The columns the import leaves out."
    )
    error = serializers.CharField(help_text="Why it failed (empty otherwise).")
    cancel_requested = serializers.BooleanField()
    created_by = serializers.UUIDField()
    created_by_email = serializers.EmailField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    undo_until = serializers.DateTimeField(allow_null=True)
    undone_at = serializers.DateTimeField(allow_null=True)
    undo = serializers.DictField(
        allow_null=True,
        help_text="After an undo: deleted, restored, removed_from_list, left (changed since, "
        "left as they are) and left_ids.",
    )  # fmt: skip


class ImportTemplateQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ImportKind.choices, required=False, default="contacts")
