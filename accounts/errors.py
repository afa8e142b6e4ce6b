from enum import StrEnum

from crm.http.errors import ApiError


class UserErrorCode(StrEnum):
    CANNOT_DEMOTE_SELF = "cannot_demote_self"
    CANNOT_DELETE_SELF = "cannot_delete_self"


class CannotLockSelfOut(ApiError):
    """An administrator tried to deactivate themself or change their own role. ``errors``
    maps the offending fields to messages (the admin shows them on the fields)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(
            code=UserErrorCode.CANNOT_DEMOTE_SELF,
            message="Administrators cannot deactivate themselves or change their own role.",
            details={field: [message] for field, message in errors.items()},
        )
        self.errors = errors


class CannotDeleteSelf(ApiError):
    def __init__(self):
        super().__init__(
            code=UserErrorCode.CANNOT_DELETE_SELF,
            message="Administrators cannot delete themselves.",
        )


class EmailTaken(ApiError):
    """Raised when the database's unique email refuses a user that the serializer's check let
    through (two creates of one address at the same moment)."""

    def __init__(self):
        super().__init__(
            code="validation_error",
            message="Invalid input: email: A user with this email already exists.",
            details={"email": ["A user with this email already exists."]},
        )
