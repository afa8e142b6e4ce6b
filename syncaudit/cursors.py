"""Opaque, signed sync cursors.

A cursor names a feed, the epoch it was issued in and a position (version, last id). A
position with no id means "everything up to and including this version". While a full initial
sync is being paged, the cursor also carries the high-water mark ``h`` taken when it began:
tombstones at or below it are skipped (the phone never had those contacts).
The signature makes a tampered or foreign cursor a clean 400 instead of a wrong answer.
"""

from dataclasses import dataclass

from django.core import signing

from syncaudit.errors import InvalidCursor

_SALT = "crm.sync.cursor.v1"


@dataclass(frozen=True)
class Cursor:
    feed: str
    epoch: int
    version: int
    last_id: str | None = None
    high_water: int = 0  # > 0 only while a full sync is being paged

    def encode(self) -> str:
        payload = {"f": self.feed, "e": self.epoch, "v": self.version}
        if self.last_id:
            payload["i"] = self.last_id
        if self.high_water:
            payload["h"] = self.high_water
        return signing.dumps(payload, salt=_SALT, compress=True)


def cursor_decode(raw: str, *, feed: str) -> Cursor:
    try:
        payload = signing.loads(raw, salt=_SALT)
        cursor = Cursor(
            feed=payload["f"],
            epoch=int(payload["e"]),
            version=int(payload["v"]),
            last_id=payload.get("i"),
            high_water=int(payload.get("h", 0)),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvalidCursor() from None
    if cursor.feed != feed:
        raise InvalidCursor(f"This cursor belongs to the {cursor.feed} feed, not {feed}.")
    return cursor
