"""message_id normalisation: ids written in different bases, with leading zeros or in another
case, meet after each side is normalised with the mode that describes it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdu.message_id import MODES, message_id_normalizer, normalize_message_id


def test_hex_resp_meets_decimal_receipt() -> None:
    # jookies/jasmin#1129: "Got a DLR for an unknown message id: 00B8BE19 (coded:B8BE19)".
    resp = normalize_message_id("0000B8BE19", "hex")
    receipt = normalize_message_id("12107289", "decimal")
    assert resp == receipt == "12107289"


def test_auto_tells_the_bases_apart_when_letters_show_hex() -> None:
    assert normalize_message_id("0000B8BE19") == normalize_message_id("12107289")


def test_leading_zeros_in_decimal() -> None:
    assert normalize_message_id("000123", "decimal") == normalize_message_id("123", "decimal")
    assert normalize_message_id("0", "decimal") == "0"


def test_hex_case_and_prefix() -> None:
    assert normalize_message_id("b8be19", "hex") == normalize_message_id("0xB8BE19", "hex")


def test_strip_zeros_and_casefold_do_only_that() -> None:
    assert normalize_message_id("00b8BE19", "strip_zeros") == "b8BE19"
    assert normalize_message_id("000", "strip_zeros") == "0"
    assert normalize_message_id("AbC-12", "casefold") == "abc-12"


def test_as_is_keeps_everything() -> None:
    assert normalize_message_id(" 00Ab\x00", "as_is") == " 00Ab\x00"


def test_whitespace_and_nul_are_trimmed() -> None:
    assert normalize_message_id(" 0123\x00", "decimal") == "123"


@pytest.mark.parametrize("mode", ["hex", "decimal", "auto"])
def test_non_numeric_ids_fall_back_to_casefold(mode: str) -> None:
    uuid = "5F3B1972-AAAA-4BBB-8CCC-000000000001"
    assert normalize_message_id(uuid, mode) == uuid.casefold()
    assert normalize_message_id("SAR-GW01+79160000000-5f3b1972-2-1", mode) == (
        "sar-gw01+79160000000-5f3b1972-2-1"
    )


def test_overlong_digit_strings_are_not_converted() -> None:
    long_id = "1" * 5000  # int() of this many digits would raise in Python 3.11
    assert normalize_message_id(long_id, "decimal") == long_id
    assert normalize_message_id(long_id, "hex") == long_id


def test_unknown_mode_raises_value_error() -> None:
    with pytest.raises(ValueError, match="mode"):
        normalize_message_id("1", "octal")
    with pytest.raises(ValueError, match="mode"):
        message_id_normalizer("octal")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("as_is", " 00B8be19\x00"), ("casefold", "00b8be19"), ("strip_zeros", "B8be19"),
     ("decimal", "00b8be19"), ("hex", "12107289"), ("auto", "12107289")],
)
def test_a_normalizer_is_its_mode_chosen_once(mode: str, expected: str) -> None:
    assert message_id_normalizer(mode)(" 00B8be19\x00") == expected


@given(st.integers(0, 2**64), st.integers(0, 6), st.booleans())
def test_any_number_meets_itself_across_bases(number: int, zeros: int, upper: bool) -> None:
    hex_id = "0" * zeros + (f"{number:X}" if upper else f"{number:x}")
    decimal_id = "0" * zeros + str(number)
    assert normalize_message_id(hex_id, "hex") == normalize_message_id(decimal_id, "decimal")


@given(st.text(max_size=80), st.sampled_from(sorted(MODES)))
def test_never_raises_for_a_known_mode(raw: str, mode: str) -> None:
    assert isinstance(normalize_message_id(raw, mode), str)
