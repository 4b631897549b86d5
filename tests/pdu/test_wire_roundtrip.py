"""Property tests: every PDU type survives encode -> decode unchanged, TLV order included.

The strategies here are shared with the framer and fuzz tests (`any_pdu`).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pdu.codec import decode, encode, peek_header
from pdu.constants import HEADER_LENGTH
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

# Any octet but NUL can sit in a C-octet string; latin-1 maps each to one character.
cstring = st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=24)
octet = st.integers(0, 0xFF)
u32 = st.integers(0, 0xFFFFFFFF)
short_message = st.binary(max_size=255)
tlvs = st.dictionaries(st.integers(0, 0xFFFF), st.binary(max_size=40), max_size=5)
header = {"sequence_number": u32, "command_status": u32}

bind_request = {
    "system_id": cstring,
    "password": cstring,
    "system_type": cstring,
    "interface_version": octet,
    "addr_ton": octet,
    "addr_npi": octet,
    "address_range": cstring,
    **header,
}
short_message_fields = {
    "service_type": cstring,
    "source_addr_ton": octet,
    "source_addr_npi": octet,
    "source_addr": cstring,
    "dest_addr_ton": octet,
    "dest_addr_npi": octet,
    "destination_addr": cstring,
    "esm_class": octet,
    "protocol_id": octet,
    "priority_flag": octet,
    "schedule_delivery_time": cstring,
    "validity_period": cstring,
    "registered_delivery": octet,
    "replace_if_present_flag": octet,
    "data_coding": octet,
    "sm_default_msg_id": octet,
    "short_message": short_message,
    "tlvs": tlvs,
    **header,
}
dest_address = st.one_of(
    st.builds(DestAddress.sme, octet, octet, cstring),
    st.builds(DestAddress.distribution_list, cstring),
)
unsuccess_sme = st.builds(UnsuccessSme, octet, octet, cstring, u32)

STRATEGIES: dict[type, st.SearchStrategy[Pdu]] = {
    **{
        cls: st.builds(cls, **bind_request)
        for cls in (BindTransmitter, BindReceiver, BindTransceiver)
    },
    **{
        cls: st.builds(cls, system_id=cstring, tlvs=tlvs, **header)
        for cls in (BindTransmitterResp, BindReceiverResp, BindTransceiverResp)
    },
    Outbind: st.builds(Outbind, system_id=cstring, password=cstring, **header),
    **{
        cls: st.builds(cls, **header)
        for cls in (
            Unbind,
            UnbindResp,
            GenericNack,
            EnquireLink,
            EnquireLinkResp,
            CancelSmResp,
            ReplaceSmResp,
        )
    },
    **{cls: st.builds(cls, **short_message_fields) for cls in (SubmitSm, DeliverSm)},
    **{
        cls: st.builds(cls, message_id=cstring, tlvs=tlvs, **header)
        for cls in (SubmitSmResp, DeliverSmResp, DataSmResp)
    },
    SubmitMulti: st.builds(
        SubmitMulti,
        **{
            **{k: v for k, v in short_message_fields.items() if not k.startswith("dest")},
            "dest_addresses": st.lists(dest_address, max_size=6),
        },
    ),
    SubmitMultiResp: st.builds(
        SubmitMultiResp,
        message_id=cstring,
        unsuccess_smes=st.lists(unsuccess_sme, max_size=6),
        tlvs=tlvs,
        **header,
    ),
    DataSm: st.builds(
        DataSm,
        service_type=cstring,
        source_addr_ton=octet,
        source_addr_npi=octet,
        source_addr=cstring,
        dest_addr_ton=octet,
        dest_addr_npi=octet,
        destination_addr=cstring,
        esm_class=octet,
        registered_delivery=octet,
        data_coding=octet,
        tlvs=tlvs,
        **header,
    ),
    QuerySm: st.builds(
        QuerySm,
        message_id=cstring,
        source_addr_ton=octet,
        source_addr_npi=octet,
        source_addr=cstring,
        **header,
    ),
    QuerySmResp: st.builds(
        QuerySmResp,
        message_id=cstring,
        final_date=cstring,
        message_state=octet,
        error_code=octet,
        **header,
    ),
    CancelSm: st.builds(
        CancelSm,
        service_type=cstring,
        message_id=cstring,
        source_addr_ton=octet,
        source_addr_npi=octet,
        source_addr=cstring,
        dest_addr_ton=octet,
        dest_addr_npi=octet,
        destination_addr=cstring,
        **header,
    ),
    ReplaceSm: st.builds(
        ReplaceSm,
        message_id=cstring,
        source_addr_ton=octet,
        source_addr_npi=octet,
        source_addr=cstring,
        schedule_delivery_time=cstring,
        validity_period=cstring,
        registered_delivery=octet,
        sm_default_msg_id=octet,
        short_message=short_message,
        **header,
    ),
    AlertNotification: st.builds(
        AlertNotification,
        source_addr_ton=octet,
        source_addr_npi=octet,
        source_addr=cstring,
        esme_addr_ton=octet,
        esme_addr_npi=octet,
        esme_addr=cstring,
        tlvs=tlvs,
        **header,
    ),
    UnknownPdu: st.builds(
        UnknownPdu,
        command_id=u32.filter(lambda command_id: command_id not in PDU_CLASSES),
        body=st.binary(max_size=64),
        **header,
    ),
}

any_pdu: st.SearchStrategy[Pdu] = st.one_of(*STRATEGIES.values())


def test_every_smpp34_command_has_a_strategy() -> None:
    assert set(PDU_CLASSES.values()) | {UnknownPdu} == set(STRATEGIES)


@settings(max_examples=800)
@given(any_pdu)
def test_encode_then_decode_gives_the_same_pdu(pdu: Pdu) -> None:
    frame = encode(pdu)
    decoded = decode(frame)
    assert decoded == pdu
    assert type(decoded) is type(pdu)
    tlvs_in = getattr(pdu, "tlvs", None)
    if tlvs_in is not None:
        assert list(decoded.tlvs) == list(tlvs_in)  # type: ignore[union-attr]  # wire order
    assert encode(decoded) == frame


@given(any_pdu)
def test_the_header_states_the_frame_length_and_identity(pdu: Pdu) -> None:
    frame = encode(pdu)
    header = peek_header(frame)
    assert header.command_length == len(frame) >= HEADER_LENGTH
    assert header.command_id == pdu.command_id
    assert header.command_status == pdu.command_status
    assert header.sequence_number == pdu.sequence_number
