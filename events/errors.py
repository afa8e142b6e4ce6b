from enum import StrEnum

from django.conf import settings

from crm.http.errors import ApiError


class EventErrorCode(StrEnum):
    TOO_MANY_STREAMS = "too_many_streams"


class TooManyStreams(ApiError):
    wait = 15  # DRF answers Retry-After from it: about one heartbeat

    def __init__(self):
        limit = settings.EVENTS_MAX_STREAMS_PER_USER
        super().__init__(
            code=EventErrorCode.TOO_MANY_STREAMS,
            message=f"At most {limit} open event streams per user; close one first.",
            status_code=429,
            details={"limit": limit},
        )
