"""Request body parsing."""

import codecs
import re

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser
from rest_framework.utils import json

from crm.text import text_is_storable

# A \uD800-\uDFFF escape: half of a UTF-16 pair, which may stand alone in a JSON string.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(value) -> bool:
    if isinstance(value, str):
        return not text_is_storable(value.replace("\x00", ""))
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


class JSONParser(DRFJSONParser):
    """DRF's JSON parser, with two more kinds of malformed body refused as 400s:

    - nesting deeper than Python's parser can follow (``[[[…]]]`` a thousand deep), which
      would be a RecursionError;
    - a lone surrogate (``"\\ud800"``): legal JSON syntax but no character, which no UTF-8
      text column can store. Only bodies that spell such an escape are searched for one
      (a surrogate pair, an emoji, is one character and passes)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            text = codecs.decode(raw, encoding)
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        except ValueError as exc:  # includes UnicodeDecodeError
            raise ParseError(f"JSON parse error - {exc}") from None
        if _SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(data):
            raise ParseError("JSON parse error - a string holds a lone UTF-16 surrogate.")
        return data
