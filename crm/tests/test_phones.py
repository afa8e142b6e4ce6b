import random

import phonenumbers
import pytest

from crm.phones import (
    InvalidPhone,
    phone_normalize,
    phone_normalize_many,
    phone_normalize_or_blank,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 202-234-5678", "US", "+12022345678"),
        ("(202) 234.5678", "US", "+12022345678"),
        ("202 234 5678 ext. 12", "US", "+12022345678"),
        ("202-234-5678 x12", "US", "+12022345678"),
        ("001 202 234 5678", "DE", "+12022345678"),
        ("0151 1234 5678", "DE", "+4915112345678"),
        ("+49 (0)151 1234-5678", "US", "+4915112345678"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("0033 6 12 34 56 78", "US", "+33612345678"),
        ("98123 45678", "IN", "+919812345678"),
        ("(11) 98765-4321", "BR", "+5511987654321"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("  +44 20 7946 0018  ", "US", "+442079460018"),
    ],
)
def test_it_normalises_to_e164(raw, region, expected):
    assert phone_normalize(raw, region=region) == expected


def test_it_uses_the_default_region_setting(settings):
    settings.PHONE_DEFAULT_REGION = "FR"
    assert phone_normalize("06 12 34 56 78") == "+33612345678"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "required"),
        ("   ", "required"),
        ("hello", "not a phone number"),
        ("12", "short"),
        ("+999 1234 5678", "country code"),
        ("+1 202 234 56789012", "too long"),
        ("+1 555 555 5555", "valid"),
        ("+1 202 234 5678\x00", "not a phone number"),
        ("1" * 65, "64"),
    ],
)
def test_it_says_why_a_number_is_refused(raw, reason):
    with pytest.raises(InvalidPhone) as exc:
        phone_normalize(raw, region="US")
    assert reason.lower() in str(exc.value).lower()


@pytest.mark.parametrize("raw", ["", "Private", "*86", "12345", None])
def test_call_numbers_that_cannot_be_normalised_become_blank(raw):
    assert phone_normalize_or_blank(raw) == ""


@pytest.mark.parametrize(
    "raw", ['=HYPERLINK("http://x","202-234-5678")', "<b>2022345678</b>", "202@234.5678"]
)
def test_it_refuses_text_that_only_contains_a_number(raw):
    with pytest.raises(InvalidPhone, match="Unexpected characters"):
        phone_normalize(raw, region="US")


def test_vanity_numbers_and_extensions_are_fine():
    assert phone_normalize("1-800-FLOWERS", region="US") == "+18003569377"
    assert phone_normalize("+1 202 234 5678 ext. 12", region="US") == "+12022345678"


# --- phone_normalize_many: the same answers, fast for E.164 ----------------------------------


def _answer(raw):
    try:
        return phone_normalize(raw), ""
    except InvalidPhone as exc:
        return "", str(exc)


def _numbers_of_every_country(count: int, seed: int) -> list[str]:
    """E.164-shaped strings for every country code: each region's example numbers with a few
    digits changed, cut or lengthened (valid and invalid ones near the patterns), and random
    digits."""
    rng = random.Random(seed)
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    types = list(phonenumbers.PhoneNumberType.values())
    numbers = []
    while len(numbers) < count:
        code = rng.choice(codes)
        region = rng.choice(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code])
        if rng.random() < 0.6:
            example = (
                phonenumbers.example_number_for_non_geo_entity(code)
                if region == "001"
                else phonenumbers.example_number_for_type(region, rng.choice(types))
            )
            if example is None:
                continue
            digits = list(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
            for _ in range(rng.randrange(4)):
                digits[rng.randrange(len(str(code)) + 1, len(digits))] = str(rng.randrange(10))
            text = "".join(digits)
            text = text[:-1] if rng.random() < 0.1 else text
            text = text + str(rng.randrange(10)) if rng.random() < 0.1 else text
        else:
            length = rng.randrange(4, 14)
            text = f"+{code}" + "".join(str(rng.randrange(10)) for _ in range(length))
        numbers.append(text)
    return numbers


def _written_by_people(numbers: list[str], seed: int) -> list[str]:
    """The same numbers with the separators people type: spaces, dashes, dots, brackets."""
    rng = random.Random(seed)
    written = []
    for number in numbers:
        digits = list(number)
        for _ in range(rng.randrange(1, 4)):
            digits.insert(rng.randrange(1, len(digits) + 1), rng.choice([" ", "-", ".", "(", ")"]))
        written.append("".join(digits))
    return written


def test_many_numbers_get_the_answers_phone_normalize_gives():
    numbers = _numbers_of_every_country(40_000, seed=2026)
    numbers += _written_by_people(numbers[:20_000], seed=7)
    answers = phone_normalize_many(numbers)
    expected = [_answer(raw) for raw in numbers]
    assert sum(1 for number, _ in expected if number) > 10_000  # valid ones are well covered
    assert [
        (raw, got, want) for raw, got, want in zip(numbers, answers, expected, strict=True)
        if got != want
    ] == []  # fmt: skip


@pytest.mark.parametrize(
    "raw",
    [
        "+12025550143",
        " +1 202 555 0143 ",
        "(202) 555-0143",
        "+1 268 464 1234",  # Antigua
        "+441624756789",
        "+447624123456",  # Isle of Man under +44
        "+4402079460958",
        "+390612345678",
        "+78005553535",
        "+77172123456",  # KZ under +7
        "+80012345678",
        "+8823122345",
        "+12345",
        "+1202555014",
        "+120255501430",
        "",
        "0044 20 7946 0958",
        "+1 202 555 0143 ext 7",
        "=HYPERLINK(1)",
        "+0123456789",
    ],
)
def test_the_edges_of_the_fast_path(raw):
    assert phone_normalize_many([raw]) == [_answer(raw)]
