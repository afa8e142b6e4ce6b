from enum import StrEnum

from crm.http.errors import ApiError


class ImportErrorCode(StrEnum):
    JOB_FINISHED = "job_finished"
    NOT_UNDOABLE = "not_undoable"
    UNDO_EXPIRED = "undo_expired"


class ImportInvalid(ApiError):
    """The upload cannot become a job: ``details`` is ``{"field": ["msg", ...]}``."""

    def __init__(self, errors: dict[str, list[str]]):
        field, messages = next(iter(errors.items()))
        super().__init__(
            code="validation_error", message=f"Invalid input: {field}: {messages[0]}",
            details=errors,
        )  # fmt: skip
        self.errors = errors


class ImportRefused(ApiError):
    """The job cannot do that now (409): cancel a finished job, undo a dry run..."""

    def __init__(self, code: ImportErrorCode, message: str):
        super().__init__(code=code, message=message, status_code=409)
