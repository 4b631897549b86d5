"""split_text / count_parts: the per-part limits of the Devino seed, the UDH and SAR layouts,
boundaries that must not cut an escape or a surrogate pair, and property tests that the parts
re-join to the text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdu.constants import ESM_UDHI, DataCoding
from pdu.gsm7 import BASIC_TABLE, EXTENSION_TABLE, header_septets, unpack_septets
from pdu.segmentation import MessagePart, count_parts, split_text
from pdu.text import decode_text
from pdu.tlv import Tag

GSM_BASIC = [c for code, c in enumerate(BASIC_TABLE) if code != 0x1B]
GSM_EXTENSION = list(EXTENSION_TABLE.values())
CYRILLIC = [chr(c) for c in range(0x0410, 0x0450)] + [" ", ",", "."]
EMOJI = ["😀", "👍", "🎉", "🚀", "\U0001f9ea"]

alphabets = st.sampled_from(
    [
        GSM_BASIC + GSM_EXTENSION,
        GSM_EXTENSION,
        CYRILLIC,
        EMOJI,
        CYRILLIC + EMOJI,
        GSM_BASIC + GSM_EXTENSION + CYRILLIC + EMOJI,
    ]
)
# Draw the length first: left alone, hypothesis prefers short texts that never need splitting.
texts = st.tuples(alphabets, st.integers(0, 700)).flatmap(
    lambda drawn: st.text(alphabet=drawn[0], min_size=drawn[1], max_size=drawn[1])
)
split_methods = st.sampled_from(["udh", "udh16", "sar"])

UDH_LENGTH = {"udh": 6, "udh16": 7}
PART_SEPTETS = {"udh": 153, "udh16": 152, "sar": 153}
PART_UCS2_UNITS = {"udh": 67, "udh16": 66, "sar": 67}


def payload_of(part: MessagePart, method: str) -> bytes:
    """The text octets of one part as a receiver sees them (UDH removed)."""
    if part.total > 1 and method in UDH_LENGTH:
        return part.short_message[UDH_LENGTH[method] :]
    return part.short_message


def rejoin(parts: list[MessagePart], method: str) -> str:
    return "".join(decode_text(payload_of(part, method), part.data_coding) for part in parts)


@settings(max_examples=150, deadline=None)
@given(texts, split_methods, st.integers(0, 0xFFFF))
def test_parts_rejoin_and_respect_limits(text: str, method: str, reference: int) -> None:
    parts = split_text(text, method=method, reference=reference)
    assert rejoin(parts, method) == text
    assert count_parts(text, method=method) == len(parts)
    total = len(parts)
    for index, part in enumerate(parts, 1):
        assert (part.number, part.total) == (index, total)
        payload = payload_of(part, method)
        if part.data_coding == DataCoding.UCS2:
            assert len(part.short_message) <= 140
            units = len(payload) // 2
            limit = 70 if total == 1 else PART_UCS2_UNITS[method]
        else:
            assert part.data_coding == DataCoding.SMSC_DEFAULT
            # Unpacked GSM: one septet per octet; on the air the UDH, its fill bits and the
            # septets must fit the 1120 bits of one SMS.
            units = len(payload)
            limit = 160 if total == 1 else PART_SEPTETS[method]
            header_bits = 7 * header_septets(UDH_LENGTH.get(method, 6)) if total > 1 else 0
            assert header_bits + 7 * units <= 1120
        assert units <= limit
        if index < total:  # full, or one unit short because a pair moved to the next part
            assert units >= limit - 1
        _assert_concat_fields(part, method, reference, index, total)


def _assert_concat_fields(
    part: MessagePart, method: str, reference: int, index: int, total: int
) -> None:
    if total == 1:
        assert part.esm_class == 0
        assert part.tlvs == {}
    elif method == "udh":
        assert part.esm_class == ESM_UDHI
        assert part.short_message[:6] == bytes((5, 0, 3, reference & 0xFF, total, index))
    elif method == "udh16":
        assert part.esm_class == ESM_UDHI
        header = bytes((6, 8, 4, reference >> 8, reference & 0xFF, total, index))
        assert part.short_message[:7] == header
    else:
        assert part.esm_class == 0
        assert part.tlvs == {
            Tag.SAR_MSG_REF_NUM: reference.to_bytes(2, "big"),
            Tag.SAR_TOTAL_SEGMENTS: bytes((total,)),
            Tag.SAR_SEGMENT_SEQNUM: bytes((index,)),
        }


# Without CR: a part ending in a real CR on an octet boundary gains TS 23.038's second CR
# (tested in test_gsm7_alphabet), which would make the re-joined text differ on purpose.
GSM_WITHOUT_CR = [c for c in GSM_BASIC + GSM_EXTENSION if c != "\r"]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 700).flatmap(
        lambda size: st.text(alphabet=GSM_WITHOUT_CR, min_size=size, max_size=size)
    ),
    split_methods,
)
def test_packed_parts_rejoin_and_fit_140_octets(text: str, method: str) -> None:
    parts = split_text(text, method=method, coding="gsm7_packed")
    pieces = []
    for part in parts:
        assert len(part.short_message) <= 140
        if part.total > 1 and method in UDH_LENGTH:
            skip = header_septets(UDH_LENGTH[method])
            septets = unpack_septets(part.short_message)[skip:]
        else:
            septets = unpack_septets(part.short_message)
        pieces.append(septets)
    assert "".join(decode_text(piece, 0) for piece in pieces) == text


def test_160_gsm_characters_are_one_part_and_161_are_two() -> None:
    assert len(split_text("a" * 160)) == 1
    parts = split_text("a" * 161)
    assert [len(p.short_message) for p in parts] == [6 + 153, 6 + 8]


def test_extension_characters_count_double_for_the_single_part_limit() -> None:
    assert count_parts("€" * 80) == 1
    assert count_parts("€" * 81) == 2


def test_70_ucs2_characters_are_one_part_and_71_are_two() -> None:
    assert len(split_text("Ж" * 70)) == 1
    parts = split_text("Ж" * 71)
    assert [len(p.short_message) for p in parts] == [6 + 134, 6 + 8]


def test_cyrillic_67_per_part() -> None:
    parts = split_text("Ж" * 134)
    assert [len(p.short_message) for p in parts] == [140, 140]
    assert count_parts("Ж" * 135) == 3


@pytest.mark.parametrize("character", ["€", "{", "|", "\f"])
def test_escape_pair_at_the_boundary_moves_whole_to_the_next_part(character: str) -> None:
    parts = split_text("a" * 152 + character + "b" * 20)
    first, second = (payload_of(p, "udh") for p in parts)
    assert first == b"a" * 152
    assert second[:2] == b"\x1b" + bytes(
        (next(k for k, v in EXTENSION_TABLE.items() if v == character),)
    )
    assert decode_text(second, 0) == character + "b" * 20


def test_emoji_at_the_boundary_moves_whole_to_the_next_part() -> None:
    parts = split_text("Ж" * 66 + "😀" + "Ж" * 10)
    first, second = (payload_of(p, "udh") for p in parts)
    assert len(first) == 132  # 66 units: the pair does not fit in the 67th
    assert second[:4] == "😀".encode("utf-16-be")


def test_six_byte_udh_layout_and_esm_class() -> None:
    parts = split_text("x" * 300, reference=0x1A7)
    assert [p.short_message[:6].hex() for p in parts] == ["050003a70201", "050003a70202"]
    assert all(p.esm_class == 0x40 for p in parts)


def test_seven_byte_udh_layout() -> None:
    parts = split_text("x" * 300, method="udh16", reference=0x1234)
    assert [p.short_message[:7].hex() for p in parts] == ["06080412340201", "06080412340202"]
    assert [len(p.short_message) for p in parts] == [7 + 152, 7 + 148]


def test_sar_parts_carry_text_only() -> None:
    parts = split_text("x" * 200, method="sar", reference=0xBEEF)
    assert [p.short_message for p in parts] == [b"x" * 153, b"x" * 47]
    assert parts[1].tlvs[Tag.SAR_MSG_REF_NUM] == b"\xbe\xef"


def test_payload_method_sends_one_part_in_message_payload() -> None:
    text = "Ж" * 500
    (part,) = split_text(text, method="payload")
    assert part.short_message == b""
    assert part.esm_class == 0
    assert part.tlvs == {Tag.MESSAGE_PAYLOAD: text.encode("utf-16-be")}
    assert part.data_coding == DataCoding.UCS2
    assert count_parts(text, method="payload") == 1


def test_a_text_that_fits_one_sms_is_one_plain_part_for_every_method() -> None:
    for method in ("udh", "udh16", "sar", "payload"):
        assert split_text("hello", method=method) == [MessagePart(b"hello", 0, 0, {}, 1, 1)]


def test_packed_udh_text_starts_after_one_fill_bit() -> None:
    (first, _) = split_text("h" * 200, coding="gsm7_packed")
    assert first.short_message[:6].hex() == "050003000201"
    assert first.short_message[6] == (0x68 << 1) & 0xFF  # 'h' shifted past the fill bit
    assert len(first.short_message) == 140


def test_latin1_limits() -> None:
    assert count_parts("é" * 140, coding="latin1") == 1
    parts = split_text("é" * 141, coding="latin1")
    assert [len(p.short_message) for p in parts] == [6 + 134, 6 + 7]
    assert parts[0].data_coding == DataCoding.LATIN1


def test_more_parts_than_allowed_raise_value_error() -> None:
    with pytest.raises(ValueError, match="parts"):
        split_text("a" * (153 * 3 + 1), max_parts=3)
    assert len(split_text("a" * (153 * 3), max_parts=3)) == 3
    with pytest.raises(ValueError, match="parts"):
        split_text("a" * 10_000_000)  # refused before cutting


def test_unknown_method_or_coding_raise_value_error() -> None:
    with pytest.raises(ValueError, match="method"):
        split_text("hi", method="smsc")
    with pytest.raises(ValueError, match="coding"):
        split_text("hi", coding="koi8-r")
    with pytest.raises(ValueError):
        split_text("Ж", coding="gsm7")


def test_empty_text_is_one_empty_part() -> None:
    assert split_text("") == [MessagePart(b"", 0, 0, {}, 1, 1)]


@given(texts, split_methods)
def test_auto_coding_splits_as_the_coding_it_chose(text: str, method: str) -> None:
    auto = split_text(text, method=method)
    chosen = "gsm7" if auto[0].data_coding == DataCoding.SMSC_DEFAULT else "ucs2"
    assert auto == split_text(text, method=method, coding=chosen)
    assert all(type(part) is MessagePart for part in auto)
