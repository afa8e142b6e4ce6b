"""Validation of uploaded call items, shared by POST /calls and POST /sync.

Hand-written rather than a DRF serializer per item: a batch holds up to 5,000 calls and this
runs in a fraction of the time, with the same messages (see calls/serializers.py for the
documented shape)."""

import math
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from calls.models import Direction
from crm.phones import MAX_RAW_LENGTH
from crm.text import text_is_storable
from crm.timestamps import timestamp_not_future, timestamp_parse

DIRECTIONS = frozenset(Direction.values)
KEY_MAX_LENGTH = 128
DURATION_MAX = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class CallInput:
    phone: str
    direction: str
    started_at: datetime
    duration_seconds: int
    device_id: str
    client_call_id: str


def _text(item: dict, key: str, max_length: int, errors: dict) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[key] = ["Must be a string."]
        return ""
    if len(value) > max_length:
        errors[key] = [f"At most {max_length} characters."]
        return ""
    if not text_is_storable(value):
        errors[key] = ["Must be text without NUL characters or lone surrogates."]
        return ""
    return value.strip()


def call_validate(item, *, user, now: datetime | None = None) -> tuple[CallInput | None, dict]:
    """Return (clean call, {}) or (None, {"field": ["msg"]})."""
    if not isinstance(item, dict):
        return None, {"non_field_errors": ["Each call must be a JSON object."]}
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}

    for key in ("user", "user_id"):
        if key in item and item[key] is not None and str(item[key]) != str(user.pk):
            errors[key] = ["Calls are always uploaded as the authenticated user."]

    phone = _text(item, "phone", MAX_RAW_LENGTH, errors)
    device_id = _text(item, "device_id", KEY_MAX_LENGTH, errors)
    client_call_id = _text(item, "client_call_id", KEY_MAX_LENGTH, errors)

    direction = item.get("direction")
    if not isinstance(direction, str) or direction not in DIRECTIONS:
        errors["direction"] = [
            "This field is required."
            if direction is None
            else f'"{direction}" is not one of ' + ", ".join(sorted(DIRECTIONS)) + "."
        ]

    started_raw = item.get("started_at")
    started_at = None
    if started_raw is None:
        errors["started_at"] = ["This field is required."]
    else:
        try:
            started_at = timestamp_not_future(timestamp_parse(started_raw), now=now)
        except ValueError as exc:
            errors["started_at"] = [str(exc)]

    duration = item.get("duration_seconds", 0)
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        errors["duration_seconds"] = ["Must be a whole number of seconds."]
    elif (
        not math.isfinite(duration)  # 1e400 reads as infinity
        or duration != int(duration)
        or not 0 <= duration <= DURATION_MAX
    ):
        errors["duration_seconds"] = [f"Must be a whole number from 0 to {DURATION_MAX}."]

    if errors:
        return None, errors
    return (
        CallInput(
            phone=phone,
            direction=direction,
            started_at=started_at,
            duration_seconds=int(duration),
            device_id=device_id,
            client_call_id=client_call_id,
        ),
        {},
    )
