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


# Deeper than any body of this API (a sync push is four levels), far below what Python's own
# recursion (json.dumps in a serializer's JSONField, say) could not follow.
MAX_DEPTH = 64


def _check(data, *, strings: bool) -> None:
    """Walk the parsed body without recursion: refuse nesting deeper than MAX_DEPTH and, when
    ``strings``, lone surrogates in any key or value (a call batch is thousands of items: only
    containers go on the stack)."""
    stack = [(data, 1)]
    push = stack.append
    while stack:
        container, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ParseError("JSON parse error - nested too deeply.")
        if type(container) is dict:
            if strings and any(_lone_surrogate(key) for key in container):
                raise ParseError(_SURROGATE_MESSAGE)
            values = container.values()
        else:
            values = container
        deeper = depth + 1
        for value in values:
            kind = type(value)  # json.loads makes exactly dict, list, str, int, float, bool, None
            if kind is dict or kind is list:
                push((value, deeper))
            elif strings and kind is str and _lone_surrogate(value):
                raise ParseError(_SURROGATE_MESSAGE)


def _lone_surrogate(text: str) -> bool:
    return not text_is_storable(text.replace("\x00", ""))


_SURROGATE_MESSAGE = "JSON parse error - a string holds a lone UTF-16 surrogate."


class JSONParser(DRFJSONParser):
    """DRF's JSON parser, with two more kinds of malformed body refused as 400s:

    - nesting deeper than MAX_DEPTH (``[[[…]]]`` a thousand deep would be a RecursionError
      in the parser, a few hundred in whatever walks the data next);
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
        if isinstance(data, dict | list):
            _check(data, strings=_SURROGATE_ESCAPE.search(raw) is not None)
        return data
