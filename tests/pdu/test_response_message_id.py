"""response_message_id: the message_id of a response frame, read without decoding the rest,
as `decode` reads it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdu.codec import decode, encode, response_message_id
from pdu.errors import PDUError
from pdu.pdus import DataSmResp, DeliverSmResp, SubmitSmResp
from pdu.tlv import Tag

ids = st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=64)


@given(ids, st.sampled_from([SubmitSmResp, DataSmResp, DeliverSmResp]), st.booleans())
def test_the_id_is_the_one_decode_reads(
    message_id: str, cls: type[SubmitSmResp | DataSmResp | DeliverSmResp], with_tlv: bool
) -> None:
    tlvs = {Tag.ADDITIONAL_STATUS_INFO_TEXT: b"queued\x00"} if with_tlv else {}
    frame = encode(cls(message_id=message_id, tlvs=tlvs, sequence_number=9))
    decoded = decode(frame)
    assert isinstance(decoded, cls)
    assert response_message_id(frame) == decoded.message_id == message_id


def test_a_response_without_a_body_has_an_empty_id() -> None:
    frame = encode(SubmitSmResp(message_id="x"))[:16]
    assert response_message_id(frame) == ""


def test_a_body_without_its_nul_is_an_error() -> None:
    frame = encode(SubmitSmResp(message_id="abc"))[:-1]
    with pytest.raises(PDUError, match="NUL"):
        response_message_id(frame)


def test_a_garbled_tlv_behind_the_id_does_not_hide_it() -> None:
    frame = encode(SubmitSmResp(message_id="B8BE19")) + b"\x00\x1d"
    assert response_message_id(frame) == "B8BE19"
