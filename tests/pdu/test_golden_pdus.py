"""Golden vectors written by hand from the SMPP 3.4 layouts (specification §4), one or more per
PDU type: `encode` must give exactly these octets and `decode` must give back the dataclass.

Each vector is spelled field by field: the header as four hex words (command_length counted
by hand), one-octet integers in hex, C-octet strings as byte literals with their NUL.
"""

from __future__ import annotations

import pytest

from pdu.codec import decode, encode
from pdu.pdus import (
    PDU_CLASSES,
    AlertNotification,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    CancelSm,
    CancelSmResp,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    DestAddress,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    Pdu,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    ReplaceSmResp,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    UnknownPdu,
    UnsuccessSme,
)


def frame(*parts: str | bytes) -> bytes:
    """Hex strings (spaces allowed) and byte literals, in wire order."""
    return b"".join(bytes.fromhex(p) if isinstance(p, str) else p for p in parts)


GOLDEN: list[tuple[str, Pdu, bytes]] = [
    (
        "bind_transmitter",
        BindTransmitter(
            system_id="SMPP3TEST",
            password="secret08",
            system_type="SUBMIT1",
            interface_version=0x34,
            addr_ton=1,
            addr_npi=1,
            address_range="",
            sequence_number=1,
        ),
        frame(
            "0000002F 00000002 00000000 00000001",
            b"SMPP3TEST\0",  # system_id
            b"secret08\0",  # password
            b"SUBMIT1\0",  # system_type
            "34 01 01",  # interface_version, addr_ton, addr_npi
            b"\0",  # address_range
        ),
    ),
    (
        "bind_transmitter_resp with sc_interface_version",
        BindTransmitterResp(system_id="SMSC", tlvs={0x0210: b"\x34"}, sequence_number=1),
        frame(
            "0000001A 80000002 00000000 00000001",
            b"SMSC\0",
            "0210 0001 34",  # TLV sc_interface_version
        ),
    ),
    (
        "bind_receiver",
        BindReceiver(system_id="rx", password="pw", sequence_number=2),
        frame("0000001B 00000001 00000000 00000002", b"rx\0", b"pw\0", b"\0", "34 00 00", b"\0"),
    ),
    (
        "bind_receiver_resp",
        BindReceiverResp(system_id="SMSC", sequence_number=2),
        frame("00000015 80000001 00000000 00000002", b"SMSC\0"),
    ),
    (
        "bind_transceiver with credentials longer than SMPP 3.4's 15/8",
        BindTransceiver(
            system_id="devino_client_account",
            password="p@ss-w0rd-12",
            sequence_number=3,
        ),
        frame(
            "00000038 00000009 00000000 00000003",
            b"devino_client_account\0",
            b"p@ss-w0rd-12\0",
            b"\0",
            "34 00 00",
            b"\0",
        ),
    ),
    (
        "bind_transceiver_resp",
        BindTransceiverResp(system_id="SMSC", sequence_number=3),
        frame("00000015 80000009 00000000 00000003", b"SMSC\0"),
    ),
    (
        "outbind",
        Outbind(system_id="SMSC", password="pw", sequence_number=4),
        frame("00000018 0000000B 00000000 00000004", b"SMSC\0", b"pw\0"),
    ),
    ("unbind", Unbind(sequence_number=5), frame("00000010 00000006 00000000 00000005")),
    ("unbind_resp", UnbindResp(sequence_number=5), frame("00000010 80000006 00000000 00000005")),
    (
        "generic_nack with ESME_RINVCMDID",
        GenericNack(sequence_number=6, command_status=0x03),
        frame("00000010 80000000 00000003 00000006"),
    ),
    (
        "enquire_link",
        EnquireLink(sequence_number=0x7FFFFFFF),
        frame("00000010 00000015 00000000 7FFFFFFF"),
    ),
    (
        "enquire_link_resp",
        EnquireLinkResp(sequence_number=0x7FFFFFFF),
        frame("00000010 80000015 00000000 7FFFFFFF"),
    ),
    (
        "submit_sm with Devino's TON/NPI and a relative validity",
        SubmitSm(
            source_addr_ton=5,
            source_addr_npi=1,
            source_addr="DEVINO",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="79031234567",
            validity_period="000000010000000R",
            registered_delivery=1,
            short_message=b"Hello",
            sequence_number=7,
        ),
        frame(
            "00000047 00000004 00000000 00000007",
            b"\0",  # service_type
            "05 01",
            b"DEVINO\0",
            "01 01",
            b"79031234567\0",
            "00 00 00",  # esm_class, protocol_id, priority_flag
            b"\0",  # schedule_delivery_time
            b"000000010000000R\0",  # validity_period
            "01 00 00 00",  # registered_delivery, replace_if_present, data_coding, default_msg
            "05",  # sm_length
            b"Hello",
        ),
    ),
    (
        "submit_sm in UCS-2 with SAR TLVs",
        SubmitSm(
            source_addr_ton=5,
            source_addr_npi=1,
            source_addr="DEVINO",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="79031234567",
            registered_delivery=1,
            data_coding=8,
            short_message="Пр".encode("utf-16-be"),
            tlvs={0x020C: b"\x12\x34", 0x020E: b"\x02", 0x020F: b"\x01"},
            sequence_number=8,
        ),
        frame(
            "00000046 00000004 00000000 00000008",
            b"\0",
            "05 01",
            b"DEVINO\0",
            "01 01",
            b"79031234567\0",
            "00 00 00",
            b"\0",
            b"\0",
            "01 00 08 00",
            "04",
            "041F 0440",  # П р
            "020C 0002 1234",  # sar_msg_ref_num
            "020E 0001 02",  # sar_total_segments
            "020F 0001 01",  # sar_segment_seqnum
        ),
    ),
    (
        "submit_sm_resp",
        SubmitSmResp(message_id="5A3F0C1B", sequence_number=7),
        frame("00000019 80000004 00000000 00000007", b"5A3F0C1B\0"),
    ),
    (
        "submit_multi to an SME and a distribution list",
        SubmitMulti(
            source_addr_ton=5,
            source_addr_npi=1,
            source_addr="DEVINO",
            dest_addresses=[
                DestAddress.sme(1, 1, "79031234567"),
                DestAddress.distribution_list("friends"),
            ],
            registered_delivery=1,
            short_message=b"Hi",
            sequence_number=9,
        ),
        frame(
            "0000003F 00000021 00000000 00000009",
            b"\0",
            "05 01",
            b"DEVINO\0",
            "02",  # number_of_dests
            "01 01 01",  # dest_flag SME, ton, npi
            b"79031234567\0",
            "02",  # dest_flag distribution list
            b"friends\0",
            "00 00 00",
            b"\0",
            b"\0",
            "01 00 00 00",
            "02",
            b"Hi",
        ),
    ),
    (
        "submit_multi_resp with an unsuccessful SME",
        SubmitMultiResp(
            message_id="42",
            unsuccess_smes=[UnsuccessSme(1, 1, "79990000000", 0x0B)],
            sequence_number=9,
        ),
        frame(
            "00000026 80000021 00000000 00000009",
            b"42\0",
            "01",  # no_unsuccess
            "01 01",
            b"79990000000\0",
            "0000000B",  # error_status_code ESME_RINVDSTADR
        ),
    ),
    (
        "deliver_sm carrying a delivery receipt",
        DeliverSm(
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="79031234567",
            dest_addr_ton=5,
            destination_addr="DEVINO",
            esm_class=0x04,
            short_message=b"id:123 stat:DELIVRD err:000",
            tlvs={0x001E: b"123\0", 0x0427: b"\x02"},
            sequence_number=10,
        ),
        frame(
            "0000005A 00000005 00000000 0000000A",
            b"\0",
            "01 01",
            b"79031234567\0",
            "05 00",
            b"DEVINO\0",
            "04 00 00",  # esm_class: SMSC delivery receipt
            b"\0",
            b"\0",
            "00 00 00 00",
            "1B",
            b"id:123 stat:DELIVRD err:000",
            "001E 0004",  # receipted_message_id
            b"123\0",
            "0427 0001 02",  # message_state DELIVERED
        ),
    ),
    (
        "deliver_sm_resp",
        DeliverSmResp(sequence_number=10),
        frame("00000011 80000005 00000000 0000000A", b"\0"),
    ),
    (
        "data_sm with message_payload",
        DataSm(
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="79031234567",
            dest_addr_ton=5,
            destination_addr="DEVINO",
            data_coding=8,
            tlvs={0x0424: "Пр".encode("utf-16-be")},
            sequence_number=11,
        ),
        frame(
            "00000033 00000103 00000000 0000000B",
            b"\0",
            "01 01",
            b"79031234567\0",
            "05 00",
            b"DEVINO\0",
            "00 00 08",  # esm_class, registered_delivery, data_coding
            "0424 0004 041F 0440",
        ),
    ),
    (
        "data_sm_resp",
        DataSmResp(message_id="7", sequence_number=11),
        frame("00000012 80000103 00000000 0000000B", b"7\0"),
    ),
    (
        "query_sm",
        QuerySm(
            message_id="123",
            source_addr_ton=5,
            source_addr_npi=1,
            source_addr="DEVINO",
            sequence_number=12,
        ),
        frame("0000001D 00000003 00000000 0000000C", b"123\0", "05 01", b"DEVINO\0"),
    ),
    (
        "query_sm_resp",
        QuerySmResp(
            message_id="123",
            final_date="240101120000000+",
            message_state=2,
            error_code=0,
            sequence_number=12,
        ),
        frame(
            "00000027 80000003 00000000 0000000C",
            b"123\0",
            b"240101120000000+\0",
            "02 00",
        ),
    ),
    (
        "cancel_sm",
        CancelSm(
            message_id="123",
            source_addr_ton=5,
            source_addr_npi=1,
            source_addr="DEVINO",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="79031234567",
            sequence_number=13,
        ),
        frame(
            "0000002C 00000008 00000000 0000000D",
            b"\0",
            b"123\0",
            "05 01",
            b"DEVINO\0",
            "01 01",
            b"79031234567\0",
        ),
    ),
    (
        "cancel_sm_resp",
        CancelSmResp(sequence_number=13),
        frame("00000010 80000008 00000000 0000000D"),
    ),
    (
        "replace_sm",
        ReplaceSm(
            message_id="123",
            source_addr_ton=5,
            source_addr_npi=1,
            source_addr="DEVINO",
            registered_delivery=1,
            short_message=b"New",
            sequence_number=14,
        ),
        frame(
            "00000025 00000007 00000000 0000000E",
            b"123\0",
            "05 01",
            b"DEVINO\0",
            b"\0",
            b"\0",
            "01 00",  # registered_delivery, sm_default_msg_id
            "03",
            b"New",
        ),
    ),
    (
        "replace_sm_resp",
        ReplaceSmResp(sequence_number=14),
        frame("00000010 80000007 00000000 0000000E"),
    ),
    (
        "alert_notification",
        AlertNotification(
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="79031234567",
            esme_addr_ton=5,
            esme_addr="DEVINO",
            tlvs={0x0422: b"\x00"},
            sequence_number=15,
        ),
        frame(
            "0000002C 00000102 00000000 0000000F",
            "01 01",
            b"79031234567\0",
            "05 00",
            b"DEVINO\0",
            "0422 0001 00",  # ms_availability_status available
        ),
    ),
    (
        "a command id SMPP 3.4 does not define",
        UnknownPdu(0x00010203, b"\x01\x02\x03", sequence_number=16),
        frame("00000013 00010203 00000000 00000010", "01 02 03"),
    ),
]


@pytest.mark.parametrize(
    ("pdu", "wire"), [(p, w) for _, p, w in GOLDEN], ids=[n for n, _, _ in GOLDEN]
)
def test_encode_gives_the_golden_octets(pdu: Pdu, wire: bytes) -> None:
    assert encode(pdu).hex(" ") == wire.hex(" ")


@pytest.mark.parametrize(
    ("pdu", "wire"), [(p, w) for _, p, w in GOLDEN], ids=[n for n, _, _ in GOLDEN]
)
def test_decode_gives_back_the_dataclass(pdu: Pdu, wire: bytes) -> None:
    decoded = decode(wire)
    assert type(decoded) is type(pdu)
    assert decoded == pdu


def test_every_pdu_type_has_a_golden_vector() -> None:
    covered = {type(p) for _, p, _ in GOLDEN}
    assert covered == set(PDU_CLASSES.values()) | {UnknownPdu}
