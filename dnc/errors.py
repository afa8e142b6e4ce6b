from crm.http.errors import ApiError, FieldsInvalid


class DncInvalid(FieldsInvalid):
    """Field errors of one DNC list or entry."""


class DncBatchInvalid(ApiError):
    """Some entries of a batch are invalid; nothing was stored."""

    def __init__(self, errors: dict[int, dict[str, list[str]]]):
        super().__init__(
            code="validation_error",
            message=f"{len(errors)} invalid entry(ies); nothing was saved.",
            details={"items": {str(i): e for i, e in errors.items()}},
        )
        self.errors = errors
