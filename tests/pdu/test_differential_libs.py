"""Differential tests against python-smpplib 2.2.4 and aiosmpplib 0.7.4 for the PDUs both get
right (specs/smpp-anchors.md §1.7, §2.1): bind_*, enquire_link, unbind, a plain submit_sm and a
submit_sm_resp without TLVs. The same fields must give the same octets, their octets must
decode with ours to those fields, and ours must read back through their parsers.

Field values stay inside what all three accept: aiosmpplib checks system_id <= 15,
password <= 8, addresses <= 20 and its TON/NPI enums; smpplib truncates longer strings.
"""

from __future__ import annotations

from typing import Any, cast

import smpplib.smpp
from aiosmpplib import protocol as aio
from aiosmpplib.state import NPI, TON, PhoneNumber
from hypothesis import given, settings
from hypothesis import strategies as st

from pdu.codec import decode, encode
from pdu.pdus import (
    BindReceiver,
    BindRequest,
    BindTransceiver,
    BindTransmitter,
    EnquireLink,
    EnquireLinkResp,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def ascii_text(max_size: int, alphabet: str = ALNUM) -> st.SearchStrategy[str]:
    return st.text(alphabet, max_size=max_size)


sequence = st.integers(1, 0x7FFFFFFF)
ton = st.sampled_from([int(t) for t in TON])
npi = st.sampled_from([int(n) for n in NPI])
octet = st.integers(0, 255)

BIND_CLASSES: list[tuple[type[BindRequest], type[aio.BindTransceiver], str]] = [
    (BindTransmitter, aio.BindTransmitter, "bind_transmitter"),
    (BindReceiver, aio.BindReceiver, "bind_receiver"),
    (BindTransceiver, aio.BindTransceiver, "bind_transceiver"),
]


class SmpplibSequence:
    """The client object smpplib's PDUs draw sequence numbers from (its default one has no
    next_sequence(), so parsing a request with it fails)."""

    sequence = 0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


def smpplib_pdu(command: str, sequence_number: int, **fields: object) -> bytes:
    pdu = smpplib.smpp.make_pdu(command, client=SmpplibSequence(), **fields)
    pdu.sequence = sequence_number
    return bytes(pdu.generate())


def smpplib_parse(wire: bytes) -> Any:
    return smpplib.smpp.parse_pdu(wire, client=SmpplibSequence())


@settings(max_examples=150)
@given(
    st.sampled_from(BIND_CLASSES),
    ascii_text(15),
    ascii_text(8),
    ascii_text(12),
    ton,
    npi,
    ascii_text(40, "0123456789"),
    sequence,
)
def test_bind_requests_match_both_libraries(
    classes: tuple[type[BindRequest], type[aio.BindTransceiver], str],
    system_id: str,
    password: str,
    system_type: str,
    addr_ton: int,
    addr_npi: int,
    address_range: str,
    sequence_number: int,
) -> None:
    ours_cls, aio_cls, smpplib_name = classes
    ours = ours_cls(
        system_id=system_id,
        password=password,
        system_type=system_type,
        addr_ton=addr_ton,
        addr_npi=addr_npi,
        address_range=address_range,
        sequence_number=sequence_number,
    )
    theirs_aio = aio_cls(
        sequence_num=sequence_number,
        system_id=system_id,
        password=password,
        system_type=system_type,
        addr_ton=TON(addr_ton),
        addr_npi=NPI(addr_npi),
        address_range=address_range,
    ).pdu()
    theirs_smpplib = smpplib_pdu(
        smpplib_name,
        sequence_number,
        system_id=system_id,
        password=password,
        system_type=system_type,
        addr_ton=addr_ton,
        addr_npi=addr_npi,
        address_range=address_range,
    )
    wire = encode(cast("Pdu", ours))  # a concrete bind class, one of the Pdu union
    assert wire == theirs_aio == theirs_smpplib
    assert decode(theirs_aio) == ours

    parsed = aio_cls.from_pdu(wire, aio.SmppMessage.parse_header(wire))
    assert isinstance(parsed, aio_cls)
    assert (parsed.system_id, parsed.password, parsed.address_range) == (
        system_id,
        password,
        address_range,
    )


@given(sequence)
def test_enquire_link_and_unbind_match_both_libraries(sequence_number: int) -> None:
    cases = [
        (EnquireLink, aio.EnquireLink, "enquire_link"),
        (EnquireLinkResp, aio.EnquireLinkResp, "enquire_link_resp"),
        (Unbind, aio.Unbind, "unbind"),
        (UnbindResp, aio.UnbindResp, "unbind_resp"),
    ]
    for ours_cls, aio_cls, smpplib_name in cases:
        wire = encode(cast("Pdu", ours_cls(sequence_number=sequence_number)))
        assert wire == aio_cls(sequence_num=sequence_number).pdu()
        assert wire == smpplib_pdu(smpplib_name, sequence_number)
        assert decode(aio_cls(sequence_num=sequence_number).pdu()) == ours_cls(sequence_number)


@settings(max_examples=150)
@given(
    service_type=ascii_text(5),
    source=ascii_text(20),
    source_ton=ton,
    source_npi=npi,
    destination=ascii_text(20, "0123456789"),
    dest_ton=ton,
    dest_npi=npi,
    protocol_id=octet,
    priority_flag=st.integers(0, 3),
    registered_delivery=st.integers(0, 1),
    # Letters, digits and space are the same octets in GSM 03.38 (aiosmpplib's default
    # encoding) and in ASCII, so the short_message octets agree whichever library encodes.
    text=st.text(ALNUM + " ", min_size=1, max_size=160),
    sequence_number=sequence,
)
def test_plain_submit_sm_matches_both_libraries(
    service_type: str,
    source: str,
    source_ton: int,
    source_npi: int,
    destination: str,
    dest_ton: int,
    dest_npi: int,
    protocol_id: int,
    priority_flag: int,
    registered_delivery: int,
    text: str,
    sequence_number: int,
) -> None:
    ours = SubmitSm(
        service_type=service_type,
        source_addr_ton=source_ton,
        source_addr_npi=source_npi,
        source_addr=source,
        dest_addr_ton=dest_ton,
        dest_addr_npi=dest_npi,
        destination_addr=destination,
        protocol_id=protocol_id,
        priority_flag=priority_flag,
        registered_delivery=registered_delivery,
        short_message=text.encode("ascii"),
        sequence_number=sequence_number,
    )
    theirs_aio = aio.SubmitSm(
        sequence_num=sequence_number,
        short_message=text,
        source=PhoneNumber(source, TON(source_ton), NPI(source_npi)),
        destination=PhoneNumber(destination, TON(dest_ton), NPI(dest_npi)),
        service_type=service_type,
        protocol_id=protocol_id,
        priority_flag=priority_flag,
        registered_delivery=registered_delivery,
    ).pdu()
    theirs_smpplib = smpplib_pdu(
        "submit_sm",
        sequence_number,
        service_type=service_type,
        source_addr_ton=source_ton,
        source_addr_npi=source_npi,
        source_addr=source,
        dest_addr_ton=dest_ton,
        dest_addr_npi=dest_npi,
        destination_addr=destination,
        esm_class=0,
        protocol_id=protocol_id,
        priority_flag=priority_flag,
        schedule_delivery_time="",
        validity_period="",
        registered_delivery=registered_delivery,
        replace_if_present_flag=0,
        data_coding=0,
        sm_default_msg_id=0,
        short_message=text.encode("ascii"),
    )
    wire = encode(cast("Pdu", ours))  # a concrete bind class, one of the Pdu union
    assert wire == theirs_aio == theirs_smpplib
    assert decode(theirs_smpplib) == ours

    parsed = smpplib_parse(wire)
    assert (parsed.destination_addr, parsed.short_message) == (
        destination.encode(),
        text.encode(),
    )


@settings(max_examples=150)
@given(ascii_text(64), sequence)
def test_submit_sm_resp_without_tlvs_matches_both_libraries(
    message_id: str, sequence_number: int
) -> None:
    ours = SubmitSmResp(message_id=message_id, sequence_number=sequence_number)
    wire = encode(cast("Pdu", ours))  # a concrete bind class, one of the Pdu union
    theirs_aio = aio.SubmitSmResp(sequence_num=sequence_number, message_id=message_id).pdu()
    assert wire == theirs_aio
    assert decode(theirs_aio) == ours
    if len(message_id) < 65:  # smpplib truncates at its 65-octet maximum
        assert wire == smpplib_pdu("submit_sm_resp", sequence_number, message_id=message_id)

    header = aio.SmppMessage.parse_header(wire)
    parsed = aio.SubmitSmResp.from_pdu(wire, header)
    assert isinstance(parsed, aio.SubmitSmResp)
    assert parsed.message_id == message_id
    assert smpplib_parse(wire).message_id == message_id.encode()
