from enum import StrEnum

from crm.http.errors import ApiError


class SyncErrorCode(StrEnum):
    INVALID_CURSOR = "invalid_cursor"
    CURSOR_EXPIRED = "cursor_expired"


class InvalidCursor(ApiError):
    def __init__(self, message: str = "This cursor is not valid; do a full sync without one."):
        super().__init__(code=SyncErrorCode.INVALID_CURSOR, message=message, status_code=400)


class CursorExpired(ApiError):
    def __init__(self, message: str):
        super().__init__(code=SyncErrorCode.CURSOR_EXPIRED, message=message, status_code=410)
