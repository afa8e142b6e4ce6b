import pytest

from crm.phones import InvalidPhone, phone_normalize, phone_normalize_or_blank


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
