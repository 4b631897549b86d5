"""encode_text's coding choice and forced codings; decode_text over every data_coding octet."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdu.constants import DataCoding
from pdu.gsm7 import encode_gsm7, is_gsm7, unpack_septets
from pdu.text import decode_text, encode_text


def test_auto_picks_unpacked_gsm_for_gsm_text() -> None:
    assert encode_text("Code 1234 {ok} €") == (
        DataCoding.SMSC_DEFAULT, b"Code 1234 \x1b\x28ok\x1b\x29 \x1b\x65"
    )


def test_auto_picks_ucs2_when_one_character_is_not_gsm() -> None:
    assert encode_text("Код 1234") == (DataCoding.UCS2, "Код 1234".encode("utf-16-be"))


def test_ucs2_writes_surrogate_pairs_for_emoji() -> None:
    assert encode_text("😀", "ucs2") == (DataCoding.UCS2, b"\xd8\x3d\xde\x00")


def test_forced_latin1_uses_data_coding_3() -> None:
    assert encode_text("café", "latin1") == (DataCoding.LATIN1, b"caf\xe9")


def test_forced_packed_gsm() -> None:
    encoded = encode_text("hellohello", "gsm7_packed")
    assert encoded == (DataCoding.SMSC_DEFAULT, bytes.fromhex("e8329bfd4697d9ec37"))


@pytest.mark.parametrize(
    ("text", "coding"), [("Код", "gsm7"), ("€", "latin1"), ("Код", "gsm7_packed")]
)
def test_forced_coding_that_cannot_carry_the_text_raises_value_error(
    text: str, coding: str
) -> None:
    with pytest.raises(ValueError):
        encode_text(text, coding)


def test_unknown_coding_raises_value_error() -> None:
    with pytest.raises(ValueError, match="unknown text coding"):
        encode_text("hi", "utf-8")


# ASCII with the characters GSM lacks (`) or keeps in its extension table ({ ^ |), control
# characters, Latin-1 letters GSM has and has not, Greek, Cyrillic and an emoji.
mixed_text = st.text(
    st.sampled_from(list("Hi 0@$_`{^|\x00\x1b\n\r\téüçÆΩЖ€😀")) | st.characters(max_codepoint=127),
    max_size=80,
)


@given(mixed_text)
def test_auto_picks_what_the_alphabet_test_says(text: str) -> None:
    expected = (
        (DataCoding.SMSC_DEFAULT, encode_gsm7(text))
        if is_gsm7(text)
        else (DataCoding.UCS2, text.encode("utf-16-be"))
    )
    assert encode_text(text) == expected


@given(st.text(max_size=200))
def test_auto_round_trips_any_text(text: str) -> None:
    data_coding, data = encode_text(text)
    assert decode_text(data, data_coding) == text


@pytest.mark.parametrize(
    ("data", "data_coding", "text"),
    [
        (b"\x00\x02", 0x00, "@$"),  # DCS 0 is GSM: 0x00 is '@', not NUL
        (b"caf\xe9", 0x00, "café"),  # octets above 0x7F under DCS 0: the SMSC sent Latin-1
        (b"abc", 0x01, "abc"),
        (b"caf\xe9", 0x03, "café"),
        (b"\xff\x00", 0x04, "\xff\x00"),  # binary: Latin-1 keeps every octet
        ("Привет".encode("iso8859_5"), 0x06, "Привет"),
        ("Привет".encode("utf-16-be"), 0x08, "Привет"),
        (b"Hi", 0x08, "\u4869"),  # octets that read as ASCII are still UCS-2 under 8
        (b"Hi", 0xE0, "\u4869"),
        (b"Hi\x00", 0xF1, "Hi@"),  # message class 1, GSM alphabet
        (b"Hi\x00", 0xF0, "Hi@"),  # flash, GSM alphabet
        (b"\x01\x02", 0xF5, "\x01\x02"),  # message class group, 8-bit data
        (b"Hi", 0x10, "Hi"),  # general group with class: GSM
        ("Ж".encode("utf-16-be"), 0x18, "Ж"),  # general group with class: UCS-2 (flash UCS-2)
        ("Ж".encode("utf-16-be"), 0xE0, "Ж"),  # message waiting group, UCS-2
        (b"\x01\x02", 0x0F, "\x01\x02"),  # reserved: Latin-1
        (b"\x01\x02", 0x37, "\x01\x02"),  # compressed: Latin-1
    ],
)
def test_decode_by_data_coding(data: bytes, data_coding: int, text: str) -> None:
    assert decode_text(data, data_coding) == text


def test_damaged_ucs2_shows_replacement_characters() -> None:
    assert decode_text(b"\x04\x16\x00", 0x08) == "Ж\ufffd"  # odd length
    assert decode_text(b"\xd8\x3d\x00\x41", 0x08) == "\ufffdA"  # lone high surrogate


@given(st.binary(max_size=300), st.integers(0, 255))
def test_decode_never_raises(data: bytes, data_coding: int) -> None:
    assert isinstance(decode_text(data, data_coding), str)


def test_packed_text_decodes_after_unpacking() -> None:
    data_coding, packed = encode_text("hellohello", "gsm7_packed")
    assert decode_text(unpack_septets(packed), data_coding) == "hellohello"


def test_every_coding_gives_a_plain_data_coding_and_octets_pair() -> None:
    # a plain tuple, the cheapest result to build (pdu/text.py encode_text)
    for coding, text in (
        ("auto", "Hello"), ("auto", "Привет"), ("auto", "café"), ("auto", "a`b"),
        ("ucs2", "x"), ("gsm7", "{"), ("gsm7_packed", "hi"), ("latin1", "é"),
    ):
        encoded = encode_text(text, coding)
        assert type(encoded) is tuple and len(encoded) == 2
        assert type(encoded[0]) is int and type(encoded[1]) is bytes
