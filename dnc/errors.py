from crm.http.errors import ApiError


class DncInvalid(ApiError):
    """Field errors of one DNC list or entry: ``details`` is ``{"field": ["msg", ...]}``."""

    def __init__(self, errors: dict[str, list[str]]):
        field, messages = next(iter(errors.items()))
        super().__init__(
            code="validation_error", message=f"Invalid input: {field}: {messages[0]}",
            details=errors,
        )  # fmt: skip
        self.errors = errors


class DncBatchInvalid(ApiError):
    """Some entries of a batch are invalid; nothing was stored."""

    def __init__(self, errors: dict[int, dict[str, list[str]]]):
        super().__init__(
            code="validation_error",
            message=f"{len(errors)} invalid entry(ies); nothing was saved.",
            details={"items": {str(i): e for i, e in errors.items()}},
        )
        self.errors = errors
