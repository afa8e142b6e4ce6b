import json
import logging
from datetime import UTC, datetime

_FIELDS = ("request_id", "method", "path", "status", "duration_ms", "user_id", "client")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers (production)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in _FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
