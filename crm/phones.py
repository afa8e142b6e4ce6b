"""Phone numbers are normalised here, once, at the edge. Everything else compares E.164."""

import functools
import re
import string
from collections.abc import Iterable

import phonenumbers
from django.conf import settings
from phonenumbers import NumberParseException, phonenumberutil

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


# --- many numbers at once ----------------------------------------------------------------
# A do-not-call registry is millions of numbers, nearly all written in E.164 already, each
# parsed once: phone_normalize spends some 30-50 µs on every one of them (phonenumbers' parse,
# then up to ten patterns of each region of the country code, one Python call apiece), more
# than writing the row costs. phone_normalize_many reads an E.164-shaped number with the very
# same metadata, its patterns compiled once per country code and length into one expression,
# and takes every other input (any other shape, a national prefix to strip, an invalid
# number: everything with a reason to give) through phone_normalize. A "+" number written
# with spaces, dashes, dots or brackets is read as its digits, as phonenumbers reads it.
# Same answers: the test compares the two on 60,000 numbers of every country code, half of
# them written with separators.

_E164_SHAPE = re.compile(r"\+[1-9][0-9]{5,16}")
_SEPARATORS = str.maketrans("", "", " -.()")  # "+1 (202) 555-0143" is +12025550143
_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
          "voicemail", "fixed_line", "mobile")  # fmt: skip


def _matching(desc, length: int) -> str | None:
    """The pattern of ``desc`` for a number of ``length`` digits, as _is_number_matching_desc
    uses it; None where it cannot match."""
    if desc is None or not desc.national_number_pattern:
        return None
    if desc.possible_length and length not in desc.possible_length:
        return None
    return desc.national_number_pattern


@functools.lru_cache(maxsize=4096)
def _type_known(code: int, region: str, length: int):
    """fullmatch of "_number_type_helper(number, region's metadata) != UNKNOWN" for numbers of
    ``length`` digits: the general pattern, then any of the types' (mobile is only looked at
    when its pattern differs from fixed_line's, as there)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    if metadata is None:
        return None
    general = _matching(metadata.general_desc, length)
    names = _TYPES[:-1] if metadata.same_mobile_and_fixed_line_pattern else _TYPES
    types = [p for name in names if (p := _matching(getattr(metadata, name), length))]
    if general is None or not types:
        return None
    union = "|".join(f"(?:{p})" for p in types)
    return re.compile(f"(?=(?:{general})$)(?:{union})").fullmatch


@functools.lru_cache(maxsize=1024)
def _country(code: int):
    """What a +<code> number needs: its main region's metadata (for the length test and the
    national prefix parse would strip) and its regions with their leading digits, in the
    order region_code_for_number tries them."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code)
    if not regions:
        return None
    main = phonenumbers.region_code_for_country_code(code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, main)
    prefix = metadata.national_prefix_for_parsing
    single = regions[0] if len(regions) == 1 else None
    leading = []
    for region in regions:
        region_metadata = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
        if region_metadata is None:
            continue
        digits = region_metadata.leading_digits
        leading.append((region, re.compile(digits).match if digits is not None else None))
    return metadata, (re.compile(prefix).match if prefix else None), single, leading


def _valid_e164(text: str) -> bool:
    """True when phone_normalize would answer ``text`` itself (an E.164-shaped string)."""
    digits = text[1:]
    code, national = phonenumberutil._extract_country_code(digits)
    if not code or not national or national[0] == "0":
        return False  # leading zeros: parse keeps them apart; let it
    country = _country(code)
    if country is None:
        return False
    metadata, strips_prefix, single, regions = country
    if strips_prefix is not None and strips_prefix(national):
        return False  # parse would try stripping a national prefix
    if phonenumberutil._test_number_length(national, metadata) != _IS_POSSIBLE:
        return False
    length = len(national)
    region = single
    if region is None:  # region_code_for_number: the first whose leading digits, or type, fit
        region = None
        for name, leading in regions:
            if leading is not None:
                if leading(national):
                    region = name
                    break
            elif (known := _type_known(code, name, length)) is not None and known(national):
                region = name
                break
        if region is None:
            return False
    if region != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY and (
        phonenumbers.country_code_for_valid_region(region) != code
    ):
        return False
    known = _type_known(code, region, length)
    return known is not None and known(national) is not None


_IS_POSSIBLE = phonenumbers.ValidationResult.IS_POSSIBLE


def phone_normalize_many(raws: Iterable[str]) -> list[tuple[str, str]]:
    """(E.164, "") or ("", reason) for each of ``raws``, as phone_normalize would answer
    them (see above), for files of millions of numbers."""
    answers = []
    region = settings.PHONE_DEFAULT_REGION
    for raw in raws:
        text = raw.strip() if isinstance(raw, str) else ""
        if text and text[0] == "+":
            compact = text if _E164_SHAPE.fullmatch(text) else text.translate(_SEPARATORS)
            if _E164_SHAPE.fullmatch(compact) and _valid_e164(compact):
                answers.append((compact, ""))
                continue
        try:
            answers.append((phone_normalize(raw, region=region), ""))
        except InvalidPhone as exc:
            answers.append(("", str(exc)))
    return answers


@functools.lru_cache(maxsize=10_000)
def phone_display(e164: str) -> str:
    """An E.164 number as people read it, with its country: "+1 202-555-0143 (US)"."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    region = phonenumbers.region_code_for_number(number) or ""
    text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return f"{text} ({region})" if region and region != "001" else text
