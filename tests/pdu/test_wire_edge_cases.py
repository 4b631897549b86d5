"""What real SMSCs send that parsers choke on (specs/smpp-anchors.md §3 item 10, §1.7), and the
errors the codec gives for input it cannot read or values it cannot write."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from pdu.codec import decode, encode, peek_header
from pdu.constants import (
    CommandId,
    CommandStatus,
    command_name,
    is_response,
    status_description,
    status_name,
)
from pdu.errors import PDUError
from pdu.pdus import (
    AlertNotification,
    BindReceiverResp,
    BindTransceiver,
    BindTransmitter,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    DestAddress,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    QuerySm,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    UnknownPdu,
    UnsuccessSme,
    response_to,
)


def header(length: int, command_id: int, status: int = 0, sequence: int = 1) -> bytes:
    return struct.pack(">IIII", length, command_id, status, sequence)


def with_header(command_id: int, body: bytes, status: int = 0, sequence: int = 1) -> bytes:
    return header(16 + len(body), command_id, status, sequence) + body


# --- tolerance: values nobody listed --------------------------------------------------------


def test_vendor_command_status_0x401_on_a_submit_sm_resp_is_kept_as_a_number() -> None:
    pdu = decode(with_header(CommandId.SUBMIT_SM_RESP, b"", status=0x401, sequence=77))
    assert pdu == SubmitSmResp(message_id="", sequence_number=77, command_status=0x401)
    assert status_name(0x401) == "0x00000401"
    assert "vendor" in status_description(0x401)
    assert encode(pdu)[8:12] == b"\x00\x00\x04\x01"


def test_vendor_status_with_a_body_keeps_the_body() -> None:
    pdu = decode(with_header(CommandId.SUBMIT_SM_RESP, b"X1\0", status=0x4FF))
    assert isinstance(pdu, SubmitSmResp)
    assert (pdu.message_id, pdu.command_status) == ("X1", 0x4FF)


def test_unknown_tlv_0x1401_is_kept_and_re_encoded_unchanged() -> None:
    receipt = DeliverSm(
        source_addr="79031234567",
        destination_addr="DEVINO",
        esm_class=0x04,
        short_message=b"id:9 stat:DELIVRD",
        tlvs={0x1401: b"\xde\xad\xbe\xef\x00\xff", 0x001E: b"9\0"},
    )
    wire = encode(receipt)
    assert bytes.fromhex("1401 0006 deadbeef00ff") in wire
    decoded = decode(wire)
    assert isinstance(decoded, DeliverSm)
    assert decoded.tlvs[0x1401] == b"\xde\xad\xbe\xef\x00\xff"
    assert list(decoded.tlvs) == [0x1401, 0x001E]
    assert encode(decoded) == wire


def test_a_submit_sm_resp_carrying_a_tlv_still_yields_the_right_message_id() -> None:
    # aiosmpplib §1.7 #14 read the whole body minus one octet as the id.
    body = b"abc123\0" + bytes.fromhex("001D 0003") + b"ok\0"
    pdu = decode(with_header(CommandId.SUBMIT_SM_RESP, body))
    assert isinstance(pdu, SubmitSmResp)
    assert pdu.message_id == "abc123"
    assert pdu.tlvs == {0x001D: b"ok\0"}


def test_data_coding_0xf1_is_kept_as_a_number() -> None:
    mo = DeliverSm(source_addr="79031234567", data_coding=0xF1, short_message=b"\x48\x49")
    decoded = decode(encode(mo))
    assert isinstance(decoded, DeliverSm)
    assert decoded.data_coding == 0xF1
    assert decoded.short_message == b"HI"


def test_binary_octets_in_short_message_and_strings_round_trip() -> None:
    every_octet = bytes(range(256))
    pdu = DeliverSm(
        source_addr=every_octet[1:30].decode("latin-1"),
        short_message=every_octet[:255],
        data_coding=0x04,
    )
    assert decode(encode(pdu)) == pdu


def test_an_unknown_command_id_becomes_unknown_pdu_even_with_the_resp_bit() -> None:
    for command_id in (0x00000104, 0x80000104, 0x00010000, 0xFFFFFFFF):
        pdu = decode(with_header(command_id, b"\x00\x01", status=3, sequence=9))
        assert pdu == UnknownPdu(command_id, b"\x00\x01", 9, 3)
        assert command_name(command_id) == f"0x{command_id:08X}"


def test_trailing_octets_after_a_pdu_without_tlvs_are_ignored() -> None:
    body = b"123\0" + b"\x05\x01" + b"DEVINO\0" + b"\xff\xfe"
    assert decode(with_header(CommandId.QUERY_SM, body)) == QuerySm(
        message_id="123",
        source_addr_ton=5,
        source_addr_npi=1,
        source_addr="DEVINO",
        sequence_number=1,
    )
    assert decode(with_header(CommandId.ENQUIRE_LINK, b"junk", sequence=4)) == EnquireLink(4)


# --- error responses, with and without a body -----------------------------------------------


def test_a_resp_with_a_body_on_an_error_status_decodes() -> None:
    pdu = decode(
        with_header(CommandId.SUBMIT_SM_RESP, b"0\0", status=CommandStatus.ESME_RTHROTTLED)
    )
    assert pdu == SubmitSmResp(message_id="0", command_status=0x58, sequence_number=1)


@pytest.mark.parametrize(
    "cls",
    [SubmitSmResp, DeliverSmResp, DataSmResp, SubmitMultiResp, BindReceiverResp],
)
def test_an_error_resp_with_an_empty_body_decodes_to_its_defaults(cls: type[Any]) -> None:
    pdu = decode(header(16, cls.command_id, CommandStatus.ESME_RINVDSTADR, 5))
    assert pdu == cls(sequence_number=5, command_status=CommandStatus.ESME_RINVDSTADR)


def test_an_error_resp_whose_body_cannot_be_read_still_gives_the_status() -> None:
    # No NUL after the id: unreadable, but the status is what the session needs.
    pdu = decode(with_header(CommandId.SUBMIT_SM_RESP, b"garbage", status=0x14, sequence=3))
    assert pdu == SubmitSmResp(sequence_number=3, command_status=0x14)


def test_the_same_unreadable_body_on_a_success_resp_is_an_error() -> None:
    with pytest.raises(PDUError, match="submit_sm_resp"):
        decode(with_header(CommandId.SUBMIT_SM_RESP, b"garbage", status=0))


# --- submit_multi ---------------------------------------------------------------------------


def test_submit_multi_with_sme_and_distribution_list_destinations() -> None:
    pdu = SubmitMulti(
        source_addr="DEVINO",
        dest_addresses=[
            DestAddress.sme(1, 1, "79031234567"),
            DestAddress.distribution_list("vip"),
            DestAddress.sme(2, 8, "89031234567"),
        ],
        short_message=b"Hi all",
        tlvs={0x1401: b"\x01"},
    )
    decoded = decode(encode(pdu))
    assert isinstance(decoded, SubmitMulti)
    assert [d.dest_flag for d in decoded.dest_addresses] == [1, 2, 1]
    assert decoded.dest_addresses[1] == DestAddress(2, 0, 0, "vip")
    assert decoded == pdu


def test_submit_multi_resp_lists_every_unsuccessful_destination() -> None:
    body = (
        b"m-1\0"
        + b"\x02"
        + b"\x01\x01" + b"79990000000\0" + bytes.fromhex("0000000B")
        + b"\x00\x00" + b"vip\0" + bytes.fromhex("00000401")
    )  # fmt: skip
    pdu = decode(with_header(CommandId.SUBMIT_MULTI_RESP, body))
    assert pdu == SubmitMultiResp(
        message_id="m-1",
        unsuccess_smes=[
            UnsuccessSme(1, 1, "79990000000", CommandStatus.ESME_RINVDSTADR),
            UnsuccessSme(0, 0, "vip", 0x401),
        ],
        sequence_number=1,
    )


def test_a_dest_flag_that_is_neither_sme_nor_list_is_malformed() -> None:
    body = b"\0" + b"\x05\x01" + b"X\0" + b"\x01" + b"\x07" + b"abc\0" + bytes(7) + b"\0"
    with pytest.raises(PDUError, match="dest_flag 7"):
        decode(with_header(CommandId.SUBMIT_MULTI, body))


# --- credentials ----------------------------------------------------------------------------


def test_a_password_longer_than_8_and_a_system_id_longer_than_15_are_accepted() -> None:
    bind = BindTransmitter(system_id="a-very-long-system-id-42", password="nine-plus-chars!")
    wire = encode(bind)
    assert b"a-very-long-system-id-42\0nine-plus-chars!\0" in wire
    assert decode(wire) == bind


@pytest.mark.parametrize(
    "pdu",
    [BindTransceiver(system_id="u", password="hunter2-secret"), Outbind(password="hunter2-secret")],
)
def test_passwords_stay_out_of_reprs(pdu: BindTransceiver | Outbind) -> None:
    assert "hunter2-secret" not in repr(pdu)
    assert "hunter2-secret" not in repr(decode(encode(pdu)))


def test_an_encode_error_names_the_field_but_never_the_password() -> None:
    with pytest.raises(PDUError) as caught:
        encode(BindTransceiver(system_id="u", password="пароль-secret"))
    assert "password" in str(caught.value)
    assert "secret" not in str(caught.value)


# --- values that cannot be written ----------------------------------------------------------


@pytest.mark.parametrize(
    ("pdu", "field"),
    [
        (SubmitSm(short_message=b"x" * 256), "short_message is 256 octets"),
        (SubmitSm(destination_addr="7903\x001234"), "destination_addr holds a NUL"),
        (SubmitSm(source_addr="Отправитель"), "source_addr holds characters outside latin-1"),
        (SubmitSm(data_coding=256), "data_coding must be an integer in 0..255"),
        (SubmitSm(esm_class=-1), "esm_class must be an integer"),
        (SubmitSm(sequence_number=2**32), "sequence_number must be an integer in 0..4294967295"),
        (SubmitSm(tlvs={0x10000: b""}), "tlvs has a tag"),
        (SubmitSm(tlvs={0x1401: "text"}), "tlvs[0x1401] must be bytes"),  # type: ignore[dict-item]
        (SubmitSm(tlvs={0x0424: bytes(70000)}), "tlvs[0x0424] is longer than 65535"),
        (SubmitSm(short_message="text"), "short_message has the wrong type"),  # type: ignore[arg-type]
        (SubmitMulti(dest_addresses=[DestAddress.sme(1, 1, "7")] * 256), "at most 255"),
        (SubmitMulti(dest_addresses=[DestAddress(1, 300, 1, "7")]), "dest_addresses[0].ton"),
        (SubmitMulti(dest_addresses=[DestAddress(3, 0, 0, "7")]), "dest_addresses[0].dest_flag"),
        (SubmitMultiResp(unsuccess_smes=[UnsuccessSme(1, 1, "7", -5)]), "error_status_code"),
        (DataSm(service_type="\x00"), "service_type holds a NUL"),
        (AlertNotification(esme_addr="€"), "esme_addr holds characters outside latin-1"),
    ],
)
def test_a_value_that_does_not_fit_the_wire_is_a_pdu_error_naming_the_field(
    pdu: SubmitSm, field: str
) -> None:
    with pytest.raises(PDUError) as caught:
        encode(pdu)
    assert field in str(caught.value)


@pytest.mark.parametrize(
    "field",
    [
        "service_type",
        "source_addr",
        "destination_addr",
        "schedule_delivery_time",
        "validity_period",
    ],
)
@pytest.mark.parametrize("cls", [SubmitSm, DeliverSm])
def test_a_nul_in_any_c_octet_string_of_a_short_message_pdu_is_named(
    cls: type[SubmitSm], field: str
) -> None:
    with pytest.raises(PDUError) as caught:
        encode(cls(**{field: "a\x00b"}))  # type: ignore[arg-type]
    assert f"{field} holds a NUL" in str(caught.value)


def test_encoding_something_that_is_not_a_pdu_is_a_pdu_error() -> None:
    with pytest.raises(PDUError, match="not an SMPP PDU"):
        encode("submit_sm")  # type: ignore[arg-type]


# --- malformed frames -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (b"", "16-octet header"),
        (header(16, CommandId.ENQUIRE_LINK)[:15], "16-octet header"),
        (header(20, CommandId.ENQUIRE_LINK), "command_length 20 but the frame has 16"),
        (with_header(CommandId.SUBMIT_SM_RESP, b"abc"), "without its NUL"),
        (with_header(CommandId.SUBMIT_SM, b"\0\x05\x01DEVINO"), "submit_sm"),
        (with_header(CommandId.BIND_TRANSMITTER, b"sys\0pw\0\0\x34"), "bind_transmitter"),
        (with_header(CommandId.DELIVER_SM_RESP, b"\0" + bytes.fromhex("1401 0009 00")), "TLV"),
        (with_header(CommandId.DELIVER_SM_RESP, b"\0\x14\x01\x00"), "stray octets"),
        (
            with_header(
                CommandId.DELIVER_SM,
                encode(DeliverSm())[16:] + bytes.fromhex("0427 0001 02 1401 0009 00"),
            ),
            "TLV 0x1401 of 9 octets runs past",
        ),
        (
            with_header(
                CommandId.SUBMIT_SM, encode(SubmitSm())[16:] + bytes.fromhex("0427 0001 02 14")
            ),
            "1 stray octets",
        ),
        (with_header(CommandId.REPLACE_SM, b"1\0\x05\x01A\0\0\0\x01\x00\x09ab"), "runs past"),
    ],
)
def test_malformed_input_raises_pdu_error_only(wire: bytes, message: str) -> None:
    with pytest.raises(PDUError, match=message):
        decode(wire)


def test_short_message_running_past_the_end_is_malformed() -> None:
    wire = bytearray(encode(SubmitSm(short_message=b"abc")))
    wire[-4] = 200  # sm_length claims 200 octets, 3 follow
    with pytest.raises(PDUError, match="short_message of 200 octets runs past"):
        decode(bytes(wire))


def test_decode_accepts_bytearray_and_memoryview() -> None:
    wire = encode(SubmitSmResp(message_id="42", sequence_number=3))
    assert decode(bytearray(wire)) == decode(memoryview(wire)) == SubmitSmResp("42", {}, 3, 0)


def test_peek_header_reads_a_frame_whose_body_is_malformed() -> None:
    # A deliver_sm that cannot be decoded must still be acknowledged with its sequence_number
    # (seed 004_80a28bca441860d4.txt L2932-2934).
    wire = with_header(CommandId.DELIVER_SM, b"\0\x01\x01123", sequence=4242)
    with pytest.raises(PDUError):
        decode(wire)
    assert peek_header(wire) == (len(wire), CommandId.DELIVER_SM, 0, 4242)
    with pytest.raises(PDUError):
        peek_header(wire[:10])


# --- responses, names, descriptions ---------------------------------------------------------


@pytest.mark.parametrize(
    ("request_pdu", "expected"),
    [
        (DeliverSm(sequence_number=8), DeliverSmResp(sequence_number=8)),
        (DataSm(sequence_number=9), DataSmResp(sequence_number=9)),
        (EnquireLink(sequence_number=10), EnquireLinkResp(sequence_number=10)),
        (Unbind(sequence_number=11), UnbindResp(sequence_number=11)),
        (SubmitSm(sequence_number=12), SubmitSmResp(sequence_number=12)),
        (UnknownPdu(0x00000104, b"", 13), GenericNack(sequence_number=13)),
    ],
)
def test_response_to_answers_with_the_same_sequence_number(
    request_pdu: DeliverSm, expected: DeliverSmResp
) -> None:
    assert response_to(request_pdu) == expected


def test_response_to_carries_the_given_status() -> None:
    nack = response_to(UnknownPdu(0x00000104, b"", 13), CommandStatus.ESME_RINVCMDID)
    assert nack == GenericNack(13, CommandStatus.ESME_RINVCMDID)


@pytest.mark.parametrize(
    "pdu",
    [SubmitSmResp(), GenericNack(), Outbind(), AlertNotification(), UnknownPdu(0x80000104)],
)
def test_response_to_refuses_what_is_never_answered(pdu: SubmitSmResp) -> None:
    with pytest.raises(ValueError, match="has no response"):
        response_to(pdu)


def test_status_names_and_descriptions() -> None:
    assert status_name(CommandStatus.ESME_RTHROTTLED) == "ESME_RTHROTTLED"
    assert status_name(0x14) == "ESME_RMSGQFUL"
    assert status_name(0x0B) == "ESME_RINVDSTADR"
    assert status_name(0) == "ESME_ROK"
    assert "Throttling" in status_description(0x58)
    assert status_description(0x0B) == "Invalid destination address"
    assert "Reserved or unknown" in status_description(0x09)
    assert "vendor" in status_description(0x4AB)


def test_command_names_and_the_response_bit() -> None:
    assert command_name(CommandId.SUBMIT_SM) == "submit_sm"
    assert command_name(CommandId.GENERIC_NACK) == "generic_nack"
    assert command_name(CommandId.DATA_SM_RESP) == "data_sm_resp"
    assert is_response(CommandId.DELIVER_SM_RESP)
    assert not is_response(CommandId.DELIVER_SM)
