"""pdu.receipt against the reader as first written (tests/pdu/receipt_reference.py): the
one-match reader of the standard layout and the lenient scanner behind it must both say exactly
what the original one-regex reader said, for any text, date and TLV mix."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdu.codec import decode, encode
from pdu.constants import ESM_DELIVERY_RECEIPT, ESM_INTERMEDIATE_NOTIFICATION
from pdu.pdus import DataSm, DeliverSm
from pdu.receipt import _APPENDIX_B, Receipt, parse_receipt_text, receipt_from_pdu
from pdu.tlv import Tag
from tests.pdu import receipt_reference as reference

# Pieces receipts are made of, and the characters that trip key matching up: other
# whitespace, "_" inside keys, NUL padding, and the letters that IGNORECASE also matches
# (dotless i, dotted I, long s).
FRAGMENTS = [
    "id", "ID", "Id", "sub", "SUB", "dlvrd", "submit", "SUBMIT", "done", "date", "Date",
    "stat", "STAT", "err", "text", "Text", "TEXT", "ıd", "İD", "ſtat", "ſub", ":", ":", " ",
    " ", "  ", "\t", "\n", "\xa0", "\u2003", "_", "\x00", "0", "1", "24", "2401311259",
    "240131125959", "20240131125959", "DELIVRD", "delivered", "UNDELIV", "x", "é", "Ж",
]  # fmt: skip
KEYS = [
    "id", "ID", "ıd", "sub", "dlvrd", "submit date", "submit_date", "SubmitDate", "submit  date",
    "done date", "done_date", "stat", "Stat", "ſtat", "err", "text", "Text", "idea",
]  # fmt: skip
SEPARATORS = [":", ":", " :", ": ", "\t:\t", "\xa0:", "::"]
GAPS = [" ", " ", "", "\n", "\u2003", "  ", "\x00"]
# Key, separator, value, gap, again and again: repeated keys, empty values, keys glued on.
keyed = st.lists(
    st.tuples(
        st.sampled_from(KEYS),
        st.sampled_from(SEPARATORS),
        st.lists(st.sampled_from(FRAGMENTS), max_size=3).map("".join),
        st.sampled_from(GAPS),
    ).map("".join),
    max_size=12,
).map("".join)
receiptish = keyed | st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)
# A word as the standard layout has it: no whitespace, anything else (":" and keys included).
word = st.lists(
    st.sampled_from(["0", "1", "9", "a", "Z", ":", "id:", "stat", "ſ", "ı", "\x00", "é", "-"]),
    max_size=8,
).map("".join)
day_and_time = st.from_regex(r"[0-9]{10}|[0-9]{12}", fullmatch=True)
digit_words = st.from_regex(r"[0-9]{10}|[0-9]{12}|[0-9]{14}", fullmatch=True)
# Dates that exercise every range check, and digits of other scripts (\d reads them too).
EDGE_DATES = [
    "2401311259", "2402291200", "2302291200", "2400011200", "2413011200", "2401001200",
    "2401321200", "2401012400", "2401012360", "240101120060", "240101120059", "00000101000000",
    "99991231235959", "20240229000000", "20230229000000", "٢٤٠١٣١١٢٥٩", "２４０１３１１２５９",
    "²⁴⁰¹³¹¹²⁵⁹", "240131125", "24013112590", "2401311259599", "+240131125", "24-01-3112",
]  # fmt: skip


@settings(max_examples=250)
@given(receiptish | st.text(max_size=150))
def test_any_text_reads_as_the_reference_reads_it(text: str) -> None:
    assert parse_receipt_text(text) == reference.parse_receipt_text(text)


@settings(max_examples=150)
@given(
    st.tuples(word, word, word, day_and_time | word, day_and_time | word, word, word),
    st.sampled_from(["text", "Text", "TEXT", "txt"]),
    st.tuples(
        st.sampled_from(["", " ", " \t "]), st.text(max_size=30), st.sampled_from(["", "\x00"])
    ).map("".join),
)
def test_the_standard_layout_reads_as_the_reference_reads_it(
    values: tuple[str, ...], text_key: str, text: str
) -> None:
    message_id, sub, dlvrd, submit, done, stat, error = values
    receipt = (
        f"id:{message_id} sub:{sub} dlvrd:{dlvrd} submit date:{submit} done date:{done} "
        f"stat:{stat} err:{error} {text_key}:{text}"
    )
    assert parse_receipt_text(receipt) == reference.parse_receipt_text(receipt)


# Printable ASCII words, ":" and key names included: what the one-match reader takes.
ascii_word = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=10)
padded_text = st.tuples(
    st.sampled_from(["", " ", " \t "]), st.text(max_size=20), st.sampled_from(["", "\x00"])
).map("".join)


@settings(max_examples=150)
@given(
    st.tuples(ascii_word, ascii_word, ascii_word, day_and_time, day_and_time, ascii_word),
    ascii_word,
    padded_text,
)
def test_the_standard_layout_is_read_by_the_one_match_reader(
    values: tuple[str, ...], error: str, text: str
) -> None:
    message_id, sub, dlvrd, submit, done, stat = values
    receipt = (
        f"id:{message_id} sub:{sub} dlvrd:{dlvrd} submit date:{submit} done date:{done} "
        f"stat:{stat} err:{error} text:{text}"
    )
    assert _APPENDIX_B.fullmatch(receipt) is not None
    assert parse_receipt_text(receipt) == reference.parse_receipt_text(receipt)


@settings(max_examples=200)
@given(digit_words | st.sampled_from(EDGE_DATES))
def test_dates_read_as_the_reference_reads_them(date: str) -> None:
    standard = (
        f"id:1 sub:001 dlvrd:001 submit date:{date} done date:{date} stat:DELIVRD err:0 text:"
    )
    scanned = f"ID:1 submit_date:{date} DONE DATE : {date}  stat:DELIVRD"
    for text in (standard, scanned):
        receipt = parse_receipt_text(text)
        assert receipt == reference.parse_receipt_text(text)
        assert receipt is not None
        assert receipt.submit_date == reference.date(date)


tlv_values = st.fixed_dictionaries(
    {},
    optional={
        Tag.RECEIPTED_MESSAGE_ID: st.sampled_from([b"", b"\x00", b" B8BE19 \x00", b"ab\x00cd"])
        | st.binary(max_size=12),
        Tag.MESSAGE_STATE: st.sampled_from([b"", b"\x02", b"\x05", b"\x0c", b"\x00\x03"])
        | st.binary(max_size=10),
        Tag.NETWORK_ERROR_CODE: st.binary(max_size=3),
        Tag.MESSAGE_PAYLOAD: receiptish.map(lambda text: text.encode("utf-8")),
    },
)


def _round_tripped(
    esm_class: int, data_coding: int, text: str, tlvs: dict[int, bytes], as_data_sm: bool
) -> DeliverSm | DataSm:
    body = text.encode("utf-16-be" if data_coding == 8 else "utf-8")[:255]
    pdu = (
        DataSm(esm_class=esm_class, data_coding=data_coding, tlvs=tlvs)
        if as_data_sm
        else DeliverSm(esm_class=esm_class, data_coding=data_coding, short_message=body, tlvs=tlvs)
    )
    decoded = decode(encode(pdu))
    assert isinstance(decoded, DeliverSm | DataSm)
    return decoded


# deliver_sm and data_sm as the framer hands them over: receipts, near-receipts and MO
receipt_like_pdus = st.builds(
    _round_tripped,
    st.sampled_from([0, ESM_DELIVERY_RECEIPT, ESM_INTERMEDIATE_NOTIFICATION, 0x40, 0x44]),
    st.sampled_from([0, 1, 3, 8, 0xF0, 0x04]),
    receiptish | st.text(max_size=60),
    tlv_values,
    st.booleans(),
)


@settings(max_examples=150)
@given(receipt_like_pdus)
def test_receipts_from_pdus_read_as_the_reference_reads_them(pdu: DeliverSm | DataSm) -> None:
    assert receipt_from_pdu(pdu) == reference.receipt_from_pdu(pdu)


def test_a_receipt_read_on_the_hot_path_is_a_real_frozen_receipt() -> None:
    receipt = parse_receipt_text(
        "id:7 sub:001 dlvrd:001 submit date:2401311259 done date:2401311300 stat:DELIVRD "
        "err:0 text:"
    )
    built = Receipt(**{f.name: getattr(receipt, f.name) for f in dataclasses.fields(Receipt)})
    assert type(receipt) is Receipt
    assert receipt == built and hash(receipt) == hash(built) and repr(receipt) == repr(built)
    with pytest.raises(dataclasses.FrozenInstanceError):
        receipt.state = "REJECTD"  # type: ignore[misc]


@pytest.mark.parametrize(
    "message_state",
    [b"\x02", b"\x0c", b"\x00\x05", b"", b"\x01" * 9],  # known, unknown, wide, empty, too wide
)
def test_the_message_state_tlv_against_the_text_as_the_reference_has_it(
    message_state: bytes,
) -> None:
    pdu = DeliverSm(
        esm_class=ESM_DELIVERY_RECEIPT,
        short_message=b"id:1 stat:ACCEPTD",
        tlvs={Tag.MESSAGE_STATE: message_state},
    )
    assert receipt_from_pdu(pdu) == reference.receipt_from_pdu(pdu)
