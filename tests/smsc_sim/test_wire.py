"""wire.py writes the octets pdu.codec writes, and reads a submit_sm as pdu.codec decodes it."""

from __future__ import annotations

import pytest

from dispatcher.smsc_sim.receipts import ERROR_CODE_BY_STAT, build_receipt, receipt_date
from dispatcher.smsc_sim.wire import (
    address_octets,
    deliver_sm_header,
    message_id_response,
    read_submit_sm,
)
from pdu.codec import decode, encode
from pdu.constants import ESM_DELIVERY_RECEIPT
from pdu.pdus import DataSmResp, DeliverSm, SubmitSm, SubmitSmResp
from pdu.receipt import MESSAGE_STATE_BY_STAT
from pdu.submit_sm import encode_submit_sm
from pdu.tlv import Tag

SUBMITS = [
    {"source_addr": "Sender", "destination_addr": "79031234567", "short_message": b"hello"},
    {
        "service_type": "CMT",
        "source_addr_ton": 5,
        "source_addr_npi": 0,
        "source_addr": "MyShop",
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "destination_addr": "79030000001",
        "esm_class": 0x40,
        "protocol_id": 7,
        "priority_flag": 1,
        "schedule_delivery_time": "240101120000000+",
        "validity_period": "000001000000000R",
        "registered_delivery": 1,
        "replace_if_present_flag": 1,
        "data_coding": 8,
        "sm_default_msg_id": 3,
        "short_message": b"\x05\x00\x03\x2a\x02\x01" + "Ваш код".encode("utf-16-be"),
    },
    # octets that are NULs and high values inside short_message, an empty short_message
    {"destination_addr": "1", "short_message": bytes(range(256))[:255]},
    {"destination_addr": "\xe9t\xe9", "short_message": b""},
]


@pytest.mark.parametrize("fields", SUBMITS)
def test_read_submit_sm_reads_what_decode_reads(fields: dict[str, object]) -> None:
    frame = encode_submit_sm(sequence_number=7, **fields)  # type: ignore[arg-type]
    pdu = decode(frame)
    assert isinstance(pdu, SubmitSm)
    assert read_submit_sm(frame) == (
        address_octets(pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr),
        address_octets(pdu.dest_addr_ton, pdu.dest_addr_npi, pdu.destination_addr),
        pdu.destination_addr,
        pdu.esm_class,
        pdu.registered_delivery,
        pdu.data_coding,
        pdu.short_message,
    )


def test_read_submit_sm_leaves_tlvs_and_broken_frames_to_decode() -> None:
    frame = encode_submit_sm(
        destination_addr="7903", tlvs={Tag.MESSAGE_PAYLOAD: b"long text"}, sequence_number=1
    )
    assert read_submit_sm(frame) is None
    plain = encode_submit_sm(destination_addr="7903", short_message=b"hi", sequence_number=1)
    assert read_submit_sm(plain[:-1]) is None  # sm_length runs past the end
    assert read_submit_sm(plain[:30]) is None  # the body ends inside a C-octet string


def test_message_id_responses_are_the_codec_octets() -> None:
    for response in (SubmitSmResp, DataSmResp):
        expected = encode(response(message_id="0000002A", sequence_number=0x01020304))
        assert message_id_response(response.command_id, 0x01020304, "0000002A") == expected


@pytest.mark.parametrize("receipt_id", ["42", "0000002A", "7" * 64, "F" * 70])
def test_build_receipt_names_ids_of_any_length_as_the_codec_does(receipt_id: str) -> None:
    expected = encode(
        DeliverSm(
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="79031234567",
            dest_addr_ton=5,
            dest_addr_npi=0,
            destination_addr="MyShop",
            esm_class=ESM_DELIVERY_RECEIPT,
            short_message=(
                f"id:{receipt_id} sub:001 dlvrd:001 submit date:2311142213 "
                "done date:2311142214 stat:DELIVRD err:000 text:hi"
            ).encode(),
            tlvs={
                Tag.RECEIPTED_MESSAGE_ID: receipt_id.encode() + b"\x00",
                Tag.MESSAGE_STATE: bytes((MESSAGE_STATE_BY_STAT["DELIVRD"],)),
            },
            sequence_number=99,
        )
    )
    body = build_receipt(
        address_octets(1, 1, "79031234567"),
        address_octets(5, 0, "MyShop"),
        receipt_id,
        "DELIVRD",
        b"2311142213",
        b"2311142214",
        "hi",
        True,
    )
    assert deliver_sm_header(99, len(body)) + body == expected


@pytest.mark.parametrize("state", sorted(MESSAGE_STATE_BY_STAT))
@pytest.mark.parametrize("with_tlvs", [True, False])
def test_build_receipt_is_the_codec_deliver_sm_with_the_appendix_b_text(
    state: str, with_tlvs: bool
) -> None:
    submitted, done = 1_700_000_000.0, 1_700_000_075.5  # 2023-11-14 22:13 and 22:14 UTC
    assert (receipt_date(submitted), receipt_date(done)) == (b"2311142213", b"2311142214")
    error = ERROR_CODE_BY_STAT.get(state, 0)
    text = (
        f"id:0000002A sub:001 dlvrd:{'001' if state == 'DELIVRD' else '000'} "
        f"submit date:2311142213 done date:2311142214 stat:{state} err:{error:03d} "
        "text:Ваш код 1234"
    )
    tlvs = {
        Tag.RECEIPTED_MESSAGE_ID: b"0000002A\x00",
        Tag.MESSAGE_STATE: bytes((MESSAGE_STATE_BY_STAT[state],)),
    }
    if error:
        tlvs[Tag.NETWORK_ERROR_CODE] = b"\x03" + error.to_bytes(2, "big")
    expected = encode(
        DeliverSm(
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="79031234567",
            destination_addr="Sender",
            esm_class=ESM_DELIVERY_RECEIPT,
            short_message=text.encode("ascii", "replace"),
            tlvs=tlvs if with_tlvs else {},
            sequence_number=7,
        )
    )
    body = build_receipt(
        address_octets(1, 1, "79031234567"),
        address_octets(0, 0, "Sender"),
        "0000002A",
        state,
        receipt_date(submitted),
        receipt_date(done),
        "Ваш код 1234",
        with_tlvs,
    )
    assert deliver_sm_header(7, len(body)) + body == expected
