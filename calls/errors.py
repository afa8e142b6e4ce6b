from enum import StrEnum

from crm.http.errors import ApiError, PayloadTooLarge


class CallErrorCode(StrEnum):
    INVALID_ITEMS = "validation_error"


class CallBatchInvalid(ApiError):
    def __init__(self, errors: dict[int, dict]):
        super().__init__(
            code=CallErrorCode.INVALID_ITEMS,
            message=f"{len(errors)} invalid call(s) in the batch; nothing was stored.",
            details={"items": {str(i): e for i, e in errors.items()}},
        )
        self.errors = errors


class CallBatchTooLarge(PayloadTooLarge):
    def __init__(self, size: int, limit: int):
        super().__init__(
            message=f"A batch holds at most {limit} calls; this one has {size}.",
            details={"limit": limit, "size": size},
        )
