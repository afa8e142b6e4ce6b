from enum import StrEnum

from crm.http.errors import ApiError, FieldsInvalid


class ImportErrorCode(StrEnum):
    JOB_FINISHED = "job_finished"
    NOT_WAITING = "job_not_waiting"
    NOT_UNDOABLE = "not_undoable"
    UNDO_EXPIRED = "undo_expired"


class ImportInvalid(FieldsInvalid):
    """The upload cannot become a job."""


class ImportRefused(ApiError):
    """The job cannot do that now (409): cancel a finished job, undo a dry run..."""

    def __init__(self, code: ImportErrorCode, message: str):
        super().__init__(code=code, message=message, status_code=409)
