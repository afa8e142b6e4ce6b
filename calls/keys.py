"""A call's identity: what makes an upload of the same call again a duplicate."""

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class CallKey:
    """A call's identity among one user's calls (the contract): ``(device_id, client_call_id)``
    when the phone sends a call id, otherwise ``(phone_normalized, started_at, direction)``.
    Both forms are unique constraints of the database (calls/models.py). Built the same way
    from an upload and from a stored row, so the two compare equal."""

    device_id: str
    client_call_id: str
    phone_normalized: str
    started_at: datetime | None
    direction: str

    # What of a call the key is made of (a stored row needs these read back, no more).
    FIELDS: ClassVar[tuple[str, ...]] = (
        "device_id",
        "client_call_id",
        "phone_normalized",
        "started_at",
        "direction",
    )

    @classmethod
    def of(cls, call) -> "CallKey":
        """The key of anything with a call's attributes (an upload's row, a stored row)."""
        if call.client_call_id:
            return cls(call.device_id, call.client_call_id, "", None, "")
        return cls("", "", call.phone_normalized, call.started_at, call.direction)

    @property
    def by_client(self) -> bool:
        return bool(self.client_call_id)
