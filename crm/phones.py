"""Phone numbers are normalised here, once, at the edge. Everything else compares E.164."""

import functools
import string

import phonenumbers
from django.conf import settings
from phonenumbers import NumberParseException

MAX_RAW_LENGTH = 64
_ALLOWED = set("0123456789+-().,/#*; \t") | set(string.ascii_letters)


class InvalidPhone(ValueError):
    """The number cannot be stored as a contact's number; the message says why."""


_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: (
        "Unknown country code; write the number with +<country code>."
    ),
    NumberParseException.NOT_A_NUMBER: "This is not a phone number.",
    NumberParseException.TOO_SHORT_AFTER_IDD: "Too short after the international prefix.",
    NumberParseException.TOO_SHORT_NSN: "Too short to be a phone number.",
    NumberParseException.TOO_LONG: "Too long to be a phone number.",
}


_LENGTH_REASONS = {
    phonenumbers.ValidationResult.TOO_SHORT: "Too short for a number of this country.",
    phonenumbers.ValidationResult.TOO_LONG: "Too long for a number of this country.",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "Unknown country code.",
}


def _prepare(raw: str) -> str:
    text = raw.strip()
    # "00" is the international prefix in most of the world; phonenumbers only knows it when
    # the default region uses it, so spell it as "+" ourselves.
    if text.startswith("00"):
        text = "+" + text[2:]
    return text


def phone_normalize(raw: str, *, region: str | None = None) -> str:
    """Return the E.164 form of ``raw`` or raise InvalidPhone with a reason.

    National numbers are read in ``region`` (default: settings.PHONE_DEFAULT_REGION). Spaces,
    dashes, dots, brackets and extensions ("ext. 12", "x12") are accepted; the extension is not
    part of the stored number.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPhone("A phone number is required.")
    if len(raw) > MAX_RAW_LENGTH:  # before the cache: only short strings are kept in it
        raise InvalidPhone(f"At most {MAX_RAW_LENGTH} characters.")
    number, reason = _normalize(raw, region or settings.PHONE_DEFAULT_REGION)
    if reason:
        raise InvalidPhone(reason)
    return number


@functools.lru_cache(maxsize=200_000)
def _normalize(raw: str, region: str) -> tuple[str, str]:
    """(E.164, "") or ("", reason). Memoised: an import checks every number, then imports it,
    and a phone's call log repeats the same few numbers over and over."""
    try:
        return _parse(raw, region), ""
    except InvalidPhone as exc:
        return "", str(exc)


def _parse(raw: str, region: str) -> str:
    if "\x00" in raw:
        raise InvalidPhone("This is not a phone number.")
    stray = set(raw) - _ALLOWED
    if stray:
        # phonenumbers digs a number out of any text ('=HYPERLINK("…","202…")'); we keep only
        # what people write in a number: digits, separators, letters of vanity numbers and
        # extensions.
        raise InvalidPhone(f"Unexpected characters: {' '.join(sorted(stray))[:20]}")
    try:
        number = phonenumbers.parse(_prepare(raw), region)
    except NumberParseException as exc:
        raise InvalidPhone(_PARSE_REASONS.get(exc.error_type, "Not a phone number.")) from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise InvalidPhone(
            _LENGTH_REASONS.get(possible, "Wrong number of digits for this country.")
        )
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("Not a valid number in its country's numbering plan.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_normalize_or_blank(raw: str | None) -> str:
    """For call logs: private, unknown and short-code callers are kept, with no E.164 form."""
    try:
        return phone_normalize(raw or "")
    except InvalidPhone:
        return ""


def phone_digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())
