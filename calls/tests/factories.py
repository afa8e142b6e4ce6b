import itertools
from datetime import UTC, datetime, timedelta

from calls.services import call_logs_ingest
from calls.validation import CallInput

_seq = itertools.count()
BASE = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def call_payload(**overrides) -> dict:
    """One call as the phone sends it (JSON-ready)."""
    n = next(_seq)
    payload = {
        "phone": "+1 202 555 0100",
        "direction": "outgoing",
        "started_at": (BASE + timedelta(minutes=n)).isoformat(),
        "duration_seconds": 60,
        "device_id": "pixel-1",
        "client_call_id": f"c{n}",
    }
    payload.update(overrides)
    return payload


def make_call(*, user, **overrides):
    payload = call_payload(**overrides)
    call = CallInput(
        phone=payload["phone"],
        direction=payload["direction"],
        started_at=datetime.fromisoformat(payload["started_at"]),
        duration_seconds=payload["duration_seconds"],
        device_id=payload["device_id"],
        client_call_id=payload["client_call_id"],
    )
    result = call_logs_ingest(user=user, calls=[call])
    from calls.models import CallLog

    return CallLog.objects.get(pk=result.results[0]["id"])
