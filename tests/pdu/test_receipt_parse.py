"""Delivery receipts: the Appendix B text in its real-world variants, and TLVs over text, on
deliver_sm / data_sm frames that went through pdu.codec."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdu.codec import decode, encode
from pdu.constants import ESM_DELIVERY_RECEIPT, ESM_INTERMEDIATE_NOTIFICATION, ESM_UDHI
from pdu.pdus import DataSm, DeliverSm
from pdu.receipt import (
    MESSAGE_STATE_BY_STAT,
    STAT_BY_MESSAGE_STATE,
    Receipt,
    is_receipt,
    parse_receipt_text,
    receipt_from_pdu,
)
from pdu.tlv import Tag

STANDARD = (
    "id:0123456789 sub:001 dlvrd:001 submit date:2401311259 done date:2402010001 "
    "stat:DELIVRD err:000 Text:Hello world"
)


def over_the_wire(pdu: DeliverSm | DataSm) -> DeliverSm | DataSm:
    decoded = decode(encode(pdu))
    assert isinstance(decoded, DeliverSm | DataSm)
    return decoded


def test_standard_text() -> None:
    assert parse_receipt_text(STANDARD) == Receipt(
        message_id="0123456789",
        state="DELIVRD",
        message_state=2,
        error="000",
        network_error_code=None,
        submit_date=datetime(2024, 1, 31, 12, 59),
        done_date=datetime(2024, 2, 1, 0, 1),
        sub="001",
        dlvrd="001",
        text="Hello world",
    )


def test_bytes_are_read_as_latin1() -> None:
    receipt = parse_receipt_text(STANDARD.encode())
    assert receipt is not None
    assert receipt.message_id == "0123456789"


def test_keys_in_upper_and_lower_case() -> None:
    receipt = parse_receipt_text("ID:ab12 SUB:1 DLVRD:1 SUBMIT DATE:2401010000 STAT:undeliv ERR:5")
    assert receipt is not None
    assert (receipt.message_id, receipt.state, receipt.message_state) == ("ab12", "UNDELIV", 5)
    assert receipt.submit_date == datetime(2024, 1, 1)


def test_twelve_digit_dates_carry_seconds() -> None:
    receipt = parse_receipt_text(
        "id:1 submit date:240131125959 done date:240201000130 stat:EXPIRED"
    )
    assert receipt is not None
    assert receipt.submit_date == datetime(2024, 1, 31, 12, 59, 59)
    assert receipt.done_date == datetime(2024, 2, 1, 0, 1, 30)
    assert receipt.message_state == 3


def test_alphanumeric_err_is_kept_as_written() -> None:
    receipt = parse_receipt_text("id:77 stat:UNDELIV err:0A1")  # int() raised here in aiosmpplib
    assert receipt is not None
    assert receipt.error == "0A1"


def test_missing_fields_are_none() -> None:
    receipt = parse_receipt_text("id:42 stat:DELIVRD")
    assert receipt == Receipt("42", "DELIVRD", 2, None, None, None, None, None, None, None)


def test_unreadable_dates_are_none_not_errors() -> None:
    receipt = parse_receipt_text("id:1 submit date:2413991261 done date:abc stat:DELIVRD")
    assert receipt is not None
    assert (receipt.submit_date, receipt.done_date) == (None, None)


@pytest.mark.parametrize("key", ["Text:", "text:", "TEXT :"])
def test_text_field_runs_to_the_end_and_hides_keys_inside_it(key: str) -> None:
    receipt = parse_receipt_text(f"id:9 stat:DELIVRD err:000 {key} id:evil stat:REJECTD")
    assert receipt is not None
    assert receipt.text == "id:evil stat:REJECTD"
    assert (receipt.message_id, receipt.state) == ("9", "DELIVRD")


def test_long_state_words_are_shortened_and_unknown_words_kept() -> None:
    delivered = parse_receipt_text("id:1 stat:DELIVERED")
    odd = parse_receipt_text("id:1 stat:Blocked")
    assert delivered is not None and odd is not None
    assert (delivered.state, delivered.message_state) == ("DELIVRD", 2)
    assert (odd.state, odd.message_state) == ("BLOCKED", None)


def test_submit_date_variants() -> None:
    receipt = parse_receipt_text("id:1 submit_date:2401010000 donedate:2401010001 stat:ACCEPTD")
    assert receipt is not None
    assert receipt.submit_date == datetime(2024, 1, 1, 0, 0)
    assert receipt.done_date == datetime(2024, 1, 1, 0, 1)


@pytest.mark.parametrize("garbage", ["", "hello there", "Your code is 1234", ":::", "idea: x"])
def test_text_without_id_or_stat_is_not_a_receipt(garbage: str) -> None:
    assert parse_receipt_text(garbage) is None


@given(st.text(max_size=300) | st.binary(max_size=300))
def test_parse_never_raises(text: str | bytes) -> None:
    result = parse_receipt_text(text)
    assert result is None or isinstance(result, Receipt)


def test_state_maps_are_inverse_and_follow_smpp_3_4() -> None:
    assert {STAT_BY_MESSAGE_STATE[n] for n in range(1, 9)} == {
        "ENROUTE", "DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD",
    }  # fmt: skip
    assert all(MESSAGE_STATE_BY_STAT[s] == n for n, s in STAT_BY_MESSAGE_STATE.items())


def test_is_receipt_reads_the_esm_class_type_bits() -> None:
    assert is_receipt(ESM_DELIVERY_RECEIPT)
    assert is_receipt(ESM_DELIVERY_RECEIPT | ESM_UDHI)
    assert is_receipt(ESM_INTERMEDIATE_NOTIFICATION)
    assert not is_receipt(0)
    assert not is_receipt(ESM_UDHI)


def test_receipt_from_deliver_sm_text() -> None:
    pdu = over_the_wire(DeliverSm(esm_class=ESM_DELIVERY_RECEIPT, short_message=STANDARD.encode()))
    receipt = receipt_from_pdu(pdu)
    assert receipt == parse_receipt_text(STANDARD)


def test_tlvs_win_over_text() -> None:
    pdu = over_the_wire(
        DeliverSm(
            esm_class=ESM_DELIVERY_RECEIPT,
            short_message=b"id:111 stat:DELIVRD err:000 text:hi",
            tlvs={
                Tag.RECEIPTED_MESSAGE_ID: b"B8BE19\x00",
                Tag.MESSAGE_STATE: bytes((5,)),
                Tag.NETWORK_ERROR_CODE: b"\x03\x00\x0d",
            },
        )
    )
    receipt = receipt_from_pdu(pdu)
    assert receipt is not None
    assert (receipt.message_id, receipt.state, receipt.message_state) == ("B8BE19", "UNDELIV", 5)
    assert receipt.network_error_code == b"\x03\x00\x0d"
    assert (receipt.error, receipt.text) == ("000", "hi")  # the text fills in the rest


def test_data_sm_receipt_with_tlvs_only() -> None:
    pdu = over_the_wire(
        DataSm(
            esm_class=ESM_DELIVERY_RECEIPT,
            tlvs={Tag.RECEIPTED_MESSAGE_ID: b"abc\x00", Tag.MESSAGE_STATE: b"\x02"},
        )
    )
    assert receipt_from_pdu(pdu) == Receipt(
        "abc", "DELIVRD", 2, None, None, None, None, None, None, None
    )


def test_receipt_text_in_ucs2_is_decoded_by_its_data_coding() -> None:
    pdu = over_the_wire(
        DeliverSm(
            esm_class=ESM_DELIVERY_RECEIPT,
            data_coding=8,
            short_message="id:5 stat:REJECTD".encode("utf-16-be"),
        )
    )
    receipt = receipt_from_pdu(pdu)
    assert receipt is not None
    assert (receipt.message_id, receipt.state) == ("5", "REJECTD")


def test_mo_message_that_looks_like_a_receipt_is_not_one() -> None:
    pdu = over_the_wire(DeliverSm(short_message=b"id:1 stat:DELIVRD"))
    assert receipt_from_pdu(pdu) is None


def test_receipt_esm_class_with_unreadable_body_and_no_tlvs_is_none() -> None:
    pdu = over_the_wire(DeliverSm(esm_class=ESM_DELIVERY_RECEIPT, short_message=b"\xff\xfe junk"))
    assert receipt_from_pdu(pdu) is None
