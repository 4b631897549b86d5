"""pdu.receipt_frame.receipt_outcome_from_frame (the daemon's receipt path) against the general
way, decode + receipt_outcome_from_pdu: whenever it answers, the same outcome; it answers for
every deliver_sm receipt in the Appendix B layout; it leaves alone every frame that decode
refuses, and every other kind of frame."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from pdu.codec import decode, encode
from pdu.constants import ESM_DELIVERY_RECEIPT
from pdu.errors import PDUError
from pdu.pdus import DataSm, DeliverSm
from pdu.receipt import receipt_outcome_from_pdu
from pdu.receipt_frame import APPENDIX_B_OUTCOME, ReceiptOutcome, receipt_outcome_from_frame
from pdu.text import decode_text
from pdu.tlv import Tag
from tests.pdu.test_receipt_reference import (
    ascii_word,
    day_and_time,
    padded_text,
    receipt_like_pdus,
    tlv_values,
    word,
)

SIMULATOR_RECEIPT = DeliverSm(
    source_addr="79031234567",
    destination_addr="Shop",
    esm_class=ESM_DELIVERY_RECEIPT,
    short_message=b"id:0001A2B3 sub:001 dlvrd:001 submit date:2611230830 "
    b"done date:2611230831 stat:UNDELIV err:001 text:Your code is 4711",
    tlvs={Tag.RECEIPTED_MESSAGE_ID: b"1A2B3\x00", Tag.MESSAGE_STATE: b"\x05"},
    sequence_number=9,
)


def general_way(frame: bytes) -> ReceiptOutcome | None:
    pdu = decode(frame)
    assert isinstance(pdu, DeliverSm | DataSm)
    return receipt_outcome_from_pdu(pdu)


@settings(max_examples=300)
@given(receipt_like_pdus)
def test_any_pdu_it_reads_gives_what_the_general_way_gives(pdu: DeliverSm | DataSm) -> None:
    frame = encode(pdu)
    outcome = receipt_outcome_from_frame(frame)
    general = general_way(frame)
    if outcome is not None:
        assert outcome == general and type(outcome) is ReceiptOutcome
    if isinstance(pdu, DataSm):
        assert outcome is None  # only deliver_sm is read here


@settings(max_examples=200)
@given(
    st.tuples(
        ascii_word | word, ascii_word, ascii_word, day_and_time | word, day_and_time | word,
        ascii_word | word, ascii_word | word,
    ),
    padded_text,
    tlv_values,
    st.booleans(),
)
def test_every_appendix_b_receipt_is_read_from_its_frame(
    values: tuple[str, ...], text: str, tlvs: dict[int, bytes], in_payload: bool
) -> None:
    message_id, sub, dlvrd, submit, done, stat, error = values
    written = (
        f"id:{message_id} sub:{sub} dlvrd:{dlvrd} submit date:{submit} done date:{done} "
        f"stat:{stat} err:{error} text:{text}"
    ).encode()[:255]
    if in_payload:
        pdu = DeliverSm(esm_class=ESM_DELIVERY_RECEIPT, tlvs={**tlvs, Tag.MESSAGE_PAYLOAD: written})
    else:
        pdu = DeliverSm(esm_class=ESM_DELIVERY_RECEIPT, short_message=written, tlvs=tlvs)
    frame = encode(pdu)
    outcome = receipt_outcome_from_frame(frame)
    assert outcome is None or outcome == general_way(frame)
    standard = APPENDIX_B_OUTCOME.fullmatch(decode_text(written, 0)) is not None
    assert (outcome is not None) == standard


def test_the_simulators_receipt_is_read_from_its_frame() -> None:
    outcome = receipt_outcome_from_frame(encode(SIMULATOR_RECEIPT))
    # the TLVs win over the text: id 1A2B3, message_state 5 (UNDELIVERABLE)
    assert outcome == ReceiptOutcome("1A2B3", "UNDELIV", "001", "Your code is 4711")


def test_a_frame_decode_refuses_is_left_to_it() -> None:
    frame = encode(SIMULATOR_RECEIPT)
    refused = 0
    for size in range(len(frame)):
        # every cut of the frame, its command_length saying so
        cut = struct.pack(">I", size) + frame[4:size] if size >= 4 else frame[:size]
        try:
            general = general_way(cut)
        except PDUError:
            refused += 1
            assert receipt_outcome_from_frame(cut) is None, size
            continue
        outcome = receipt_outcome_from_frame(cut)
        assert outcome is None or outcome == general, size
    assert refused > 0
    # a command_length that disagrees with the frame: decode refuses it too
    wrong_length = struct.pack(">I", len(frame) + 1) + frame[4:]
    assert receipt_outcome_from_frame(wrong_length) is None


def test_other_frames_are_left_to_the_general_way() -> None:
    mo = DeliverSm(source_addr="79031234567", destination_addr="Shop", short_message=b"STOP")
    scanned = DeliverSm(esm_class=ESM_DELIVERY_RECEIPT, short_message=b"ID:7 STAT:DELIVRD")
    data_sm = DataSm(esm_class=ESM_DELIVERY_RECEIPT, tlvs=dict(SIMULATOR_RECEIPT.tlvs))
    for pdu in (mo, scanned, data_sm):
        assert receipt_outcome_from_frame(encode(pdu)) is None
    # the general way reads the two receipts (the scanner, the TLVs)
    assert general_way(encode(scanned)) == ReceiptOutcome("7", "DELIVRD", None, None)
    assert general_way(encode(data_sm)) == ReceiptOutcome("1A2B3", "UNDELIV", None, None)
