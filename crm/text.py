"""Text that can be stored: what PostgreSQL's UTF-8 text refuses, refused at the edge."""

import re

# A JSON string may carry "\ud800" (half of a UTF-16 pair): valid JSON, but no character,
# and UTF-8 cannot encode it. PostgreSQL text cannot hold NUL either.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_is_storable(value: str) -> bool:
    return _UNSTORABLE.search(value) is None


def text_storable(value: str) -> str:
    """``value`` with what cannot be stored replaced (for records of what a client sent)."""
    return _UNSTORABLE.sub("\ufffd", value)


def duration_text(seconds: int) -> str:
    """1386 -> "23 min 6 s"; 7322 -> "2 h 2 min"; 0 -> "0 s"."""
    hours, rest = divmod(int(seconds or 0), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"
