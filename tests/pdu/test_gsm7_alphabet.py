"""GSM 03.38: our tables against aiosmpplib 0.7.4's as an independent oracle, septet counts,
escapes, damaged input, and packing (including the CR padding rule)."""

from __future__ import annotations

import pytest
from aiosmpplib.codec import (
    GSM_BASIC_DECODE_MAP,
    GSM_EXTENDED_DECODE_MAP,
    GSM7BitCodec,
    GSM7BitPackedCodec,
)
from hypothesis import given
from hypothesis import strategies as st

from pdu.gsm7 import (
    BASIC_TABLE,
    EXTENSION_TABLE,
    decode_gsm7,
    encode_gsm7,
    header_septets,
    is_gsm7,
    pack_septets,
    septet_count,
    unpack_septets,
)

GSM_CHARACTERS = sorted(set(GSM_BASIC_DECODE_MAP.values()) | set(GSM_EXTENDED_DECODE_MAP.values()))
gsm_text = st.text(alphabet=GSM_CHARACTERS, max_size=400)
septets = st.binary(max_size=300).map(lambda data: bytes(octet & 0x7F for octet in data))


def test_basic_table_matches_aiosmpplib() -> None:
    ours = {code: char for code, char in enumerate(BASIC_TABLE) if code != 0x1B}
    assert ours == GSM_BASIC_DECODE_MAP


def test_extension_table_matches_aiosmpplib() -> None:
    assert EXTENSION_TABLE == GSM_EXTENDED_DECODE_MAP


@given(gsm_text)
def test_unpacked_encoding_matches_aiosmpplib_and_round_trips(text: str) -> None:
    encoded = encode_gsm7(text)
    assert encoded == GSM7BitCodec().encode(text)[0]
    assert decode_gsm7(encoded) == text
    assert septet_count(text) == len(encoded)
    assert is_gsm7(text)


def test_extension_characters_cost_two_septets() -> None:
    assert encode_gsm7("€") == b"\x1b\x65"
    assert encode_gsm7("{a}") == b"\x1b\x28a\x1b\x29"
    assert septet_count("a€[]") == 7
    assert septet_count("") == 0


def test_at_sign_is_code_zero_and_dollar_is_two() -> None:
    assert encode_gsm7("@$_") == b"\x00\x02\x11"


@pytest.mark.parametrize("text", ["Привет", "emoji 😀", "tab\there", "`", "ç", "a\x00b", "\x1b"])
def test_characters_outside_the_alphabet_are_refused(text: str) -> None:
    assert not is_gsm7(text)
    with pytest.raises(ValueError, match=r"not in the GSM 03\.38 alphabet"):
        encode_gsm7(text)
    with pytest.raises(ValueError):
        septet_count(text)


def test_error_names_the_character_and_its_index() -> None:
    with pytest.raises(ValueError, match=r"'ж' \(U\+0436\) at index 3"):
        encode_gsm7("abcж")


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"a\x1b\x41b", "aAb"),  # ESC + a code missing from the extension table: basic char
        (b"a\x1b\x1bb", "a b"),  # ESC ESC: escape to another table, shown as a space
        (b"ab\x1b", "ab"),  # a trailing lone ESC is dropped
        (b"\x1b\x1b\x28", " ("),  # the second ESC is the first one's code, not a new escape
        (b"\x80a\x1b\x65", "\ufffda€"),  # octets above 0x7F are not septets
    ],
)
def test_damaged_unpacked_input_decodes_without_raising(data: bytes, text: str) -> None:
    assert decode_gsm7(data) == text


@given(st.binary(max_size=300))
def test_decode_never_raises(data: bytes) -> None:
    assert isinstance(decode_gsm7(data), str)


# ASCII-looking septets next to the ones where GSM and ASCII part ('@' is 0x00, '$' is 0x02,
# 0x24 is '¤', 0x40 is '¡', 0x5B-0x60 and 0x7B-0x7F are letters with diacritics).
ascii_looking = st.binary(max_size=200).map(
    lambda data: bytes(b"Hi 09:.-\r\n\x00\x02\x24\x40\x5b\x60\x7b\x7f"[o % 18] for o in data)
)


@given(ascii_looking | septets)
def test_decoding_reads_every_septet_by_the_basic_table(data: bytes) -> None:
    # The shortcut that lets the ASCII codec read septets must agree with the table itself.
    expected = "".join(BASIC_TABLE[octet] for octet in data if octet != 0x1B)
    if 0x1B not in data:
        assert decode_gsm7(data) == expected


def test_packing_known_vector() -> None:
    # "hellohello" is the classic 3GPP example: E8 32 9B FD 46 97 D9 EC 37.
    assert pack_septets(encode_gsm7("hellohello")).hex() == "e8329bfd4697d9ec37"
    assert unpack_septets(bytes.fromhex("e8329bfd4697d9ec37")) == encode_gsm7("hellohello")


def test_seven_characters_do_not_gain_an_at_sign() -> None:
    packed = pack_septets(encode_gsm7("1234567"))
    assert packed.hex() == "31d98c56b3dd1a"  # 7 octets: the 7 spare bits hold CR, not '@'
    assert decode_gsm7(unpack_septets(packed)) == "1234567"
    assert unpack_septets(packed, count=7) == encode_gsm7("1234567")
    # aiosmpplib pads with zero bits, which any receiver reads as a final '@' (anchors §1.7 #13).
    assert GSM7BitPackedCodec().encode("1234567")[0].hex() == "31d98c56b3dd00"


def test_a_real_trailing_cr_on_an_octet_boundary_is_doubled_not_lost() -> None:
    text = "1234567\r"  # 8 septets fill 7 octets exactly; the receiver strips one final CR
    packed = pack_septets(encode_gsm7(text))
    assert len(packed) == 8
    assert decode_gsm7(unpack_septets(packed)).startswith(text)


@given(septets)
def test_pack_unpack_round_trip_with_count(data: bytes) -> None:
    packed = pack_septets(data)
    doubled_cr = len(data) % 8 == 0 and data.endswith(b"\r")
    assert len(packed) == (len(data) * 7 + 7) // 8 + doubled_cr
    assert unpack_septets(packed, count=len(data)) == data


@given(septets)
def test_pack_unpack_round_trip_without_count(data: bytes) -> None:
    unpacked = unpack_septets(pack_septets(data))
    if data.endswith(b"\r") and len(data) % 8 == 0:
        assert unpacked == data + b"\r"  # TS 23.038's doubled CR
    else:
        assert unpacked == data


def test_packed_length_is_seven_eighths() -> None:
    assert len(pack_septets(b"a" * 160)) == 140
    assert len(pack_septets(b"a" * 8)) == 7
    assert pack_septets(b"") == b""
    assert unpack_septets(b"") == b""


def test_unpack_count_larger_than_data_stops_at_the_data() -> None:
    assert unpack_septets(pack_septets(b"abc"), count=50) == b"abc"


def test_header_septets_include_fill_bits() -> None:
    assert header_septets(6) == 7  # 48 bits + 1 fill bit
    assert header_septets(7) == 8  # 56 bits, no fill
