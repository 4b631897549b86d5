"""pdu.receipt.receipt_outcome_from_pdu (the daemon's reader) against receipt_from_pdu: the
same id, state, err and text for any PDU, and its one-match layout taking exactly the texts
the full one takes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pdu.constants import ESM_DELIVERY_RECEIPT
from pdu.pdus import DataSm, DeliverSm
from pdu.receipt import _APPENDIX_B, ReceiptOutcome, receipt_from_pdu, receipt_outcome_from_pdu
from pdu.receipt_frame import APPENDIX_B_OUTCOME
from pdu.tlv import Tag
from tests.pdu.test_receipt_reference import (
    ascii_word,
    day_and_time,
    padded_text,
    receipt_like_pdus,
    tlv_values,
    word,
)


def outcome_of(pdu: DeliverSm | DataSm) -> ReceiptOutcome | None:
    receipt = receipt_from_pdu(pdu)
    if receipt is None:
        return None
    return ReceiptOutcome(receipt.message_id, receipt.state, receipt.error, receipt.text)


@settings(max_examples=200)
@given(receipt_like_pdus)
def test_any_pdu_gives_the_fields_receipt_from_pdu_gives(pdu: DeliverSm | DataSm) -> None:
    assert receipt_outcome_from_pdu(pdu) == outcome_of(pdu)


@settings(max_examples=200)
@given(
    st.tuples(
        ascii_word | word, ascii_word, ascii_word, day_and_time | word, day_and_time | word,
        ascii_word | word, ascii_word | word,
    ),
    st.sampled_from(["text", "Text", "TEXT"]),
    padded_text,
    tlv_values,
)
def test_the_standard_layout_gives_the_fields_receipt_from_pdu_gives(
    values: tuple[str, ...], text_key: str, text: str, tlvs: dict[int, bytes]
) -> None:
    message_id, sub, dlvrd, submit, done, stat, error = values
    receipt = (
        f"id:{message_id} sub:{sub} dlvrd:{dlvrd} submit date:{submit} done date:{done} "
        f"stat:{stat} err:{error} {text_key}:{text}"
    )
    assert (_APPENDIX_B.fullmatch(receipt) is None) == (
        APPENDIX_B_OUTCOME.fullmatch(receipt) is None
    )
    pdu = DeliverSm(
        esm_class=ESM_DELIVERY_RECEIPT, short_message=receipt.encode("utf-8")[:255], tlvs=tlvs
    )
    assert receipt_outcome_from_pdu(pdu) == outcome_of(pdu)


def test_the_simulators_receipt_reads_from_its_tlvs_and_text() -> None:
    pdu = DeliverSm(
        esm_class=ESM_DELIVERY_RECEIPT,
        short_message=b"id:0001A2B3 sub:001 dlvrd:000 submit date:2611230830 "
        b"done date:2611230831 stat:UNDELIV err:001 text:Your code is 4711",
        tlvs={Tag.RECEIPTED_MESSAGE_ID: b"1A2B3\x00", Tag.MESSAGE_STATE: b"\x05"},
    )
    outcome = receipt_outcome_from_pdu(pdu)
    assert outcome == ReceiptOutcome("1A2B3", "UNDELIV", "001", "Your code is 4711")
    assert type(outcome) is ReceiptOutcome and outcome.text == "Your code is 4711"
    assert receipt_outcome_from_pdu(DeliverSm(short_message=b"id:1 stat:DELIVRD")) is None
