from enum import StrEnum

from crm.http.errors import ApiError, FieldsInvalid


class ContactErrorCode(StrEnum):
    DUPLICATE_PHONE = "duplicate_phone"
    CONFLICT = "conflict"
    CONTACT_DELETED = "contact_deleted"
    INVALID_ROWS = "invalid_rows"


class ContactInvalid(FieldsInvalid):
    """Field errors of one contact."""


class ContactBatchInvalid(ApiError):
    """Some rows of a batch are invalid; nothing was written. ``errors`` maps index -> fields."""

    def __init__(self, errors: dict[int, dict[str, list[str]]]):
        super().__init__(
            code=ContactErrorCode.INVALID_ROWS,
            message=f"{len(errors)} invalid row(s); nothing was saved.",
            details={"items": {str(i): e for i, e in errors.items()}},
        )
        self.errors = errors


class DuplicatePhone(ApiError):
    def __init__(self, existing, contact_data: dict):
        super().__init__(
            code=ContactErrorCode.DUPLICATE_PHONE,
            message="Another contact already has this phone number.",
            status_code=409,
            details={"contact": contact_data},
        )
        self.existing = existing


class VersionConflict(ApiError):
    """A stale edit touched fields someone else changed after its base_version: ``details``
    name them and hold the server's row."""

    def __init__(self, current, conflicting_fields: list[str], contact_data: dict):
        fields = ", ".join(conflicting_fields)
        super().__init__(
            code=ContactErrorCode.CONFLICT,
            message=f"Changed on the server since base_version: {fields}.",
            status_code=409,
            details={
                "conflicting_fields": conflicting_fields,
                "contact": contact_data,
                "version": current.version,
            },
        )
        self.current = current
        self.conflicting_fields = conflicting_fields


class ContactGone(ApiError):
    def __init__(self, contact):
        super().__init__(
            code=ContactErrorCode.CONTACT_DELETED,
            message="This contact has been deleted.",
            status_code=404,
        )
        self.contact = contact
