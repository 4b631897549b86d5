"""Encode PDUs to frames and decode frames to PDUs (SMPP 3.4 §3.2 layout, big-endian).

`encode(pdu) -> bytes` writes the whole frame, 16-octet header included; `decode(frame) -> Pdu`
reads one whole frame (as cut by `pdu.framer.Framer`). The hot paths (submit_sm / deliver_sm
and the message_id responses) are written out by hand, with no per-field validation: one
str.join and one latin-1 encode for the whole mandatory part when encoding; a `bytes.find` per
C-octet string and octet reads for the fields between them, or one `bytes.index`, when
decoding. The other PDUs share a small sequential
reader. This module and pdu.framer are compiled with mypyc when installed (setup.py): integer
reads of the header and TLVs are written as octet arithmetic, which compiles to C.

Tolerance (what does *not* raise), after smpp-anchors.md §3 item 10 and §1.7 #2, #10, #14:
- an unknown command id decodes to `UnknownPdu` (raw body kept, re-encoded unchanged);
- any command_status and data_coding value is kept as the number it is;
- unknown and vendor TLVs are kept as raw bytes, in wire order;
- a response with an empty body decodes to its defaults (message_id ""), whatever its status;
- an error response (command_status != 0) whose body cannot be read decodes to its defaults
  too: the status is what the session needs, and losing the response would lose the message;
- trailing octets after the mandatory body of a PDU without a TLV section are ignored.

Malformed input (a frame shorter than its header or not matching its command_length, a
C-octet string with no NUL, a field or TLV running past the end) raises `PDUError` and nothing
else. `encode` raises `PDUError` naming the offending field (never its value: it may be a
password) for a value that does not fit the wire: a non-latin-1 or NUL-holding string, an int
out of its octet range, a short_message over 255 octets.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from functools import partial
from typing import Any, Final, NamedTuple

from pdu.constants import HEADER_LENGTH, RESP_BIT, DestFlag, command_name
from pdu.errors import PDUError
from pdu.pdus import (
    PDU_CLASSES,
    AlertNotification,
    BindReceiver,
    BindReceiverResp,
    BindRequest,
    BindResponse,
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
    HeaderOnlyPdu,
    MessageIdResponse,
    Outbind,
    Pdu,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    ReplaceSmResp,
    ShortMessagePdu,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    UnknownPdu,
    UnsuccessSme,
)

_HEADER: Final = struct.Struct(">IIII")
_pack_header: Final = _HEADER.pack
_TLV_HEADER: Final = struct.Struct(">HH")
_U32: Final = struct.Struct(">I")
_SHORT_MESSAGE_MAX: Final = 255  # sm_length is one octet (SMPP 3.4 §4.4.1)


class Header(NamedTuple):
    command_length: int
    command_id: int
    command_status: int
    sequence_number: int


def peek_header(frame: bytes) -> Header:
    """The header of a frame whose body may not decode: the session still needs the
    sequence_number to answer a malformed deliver_sm (seed 004_80a28bca441860d4.txt L2932-2934:
    every deliver_sm gets a deliver_sm_resp with status 0)."""
    if len(frame) < HEADER_LENGTH:
        raise PDUError(f"a frame needs a {HEADER_LENGTH}-octet header, got {len(frame)} octets")
    return Header._make(_HEADER.unpack_from(frame))


# --------------------------------------------------------------------------------- encoding


def _cstring(value: str) -> bytes:
    if "\x00" in value:
        raise ValueError("NUL inside a C-octet string")
    return value.encode("latin-1") + b"\x00"


def _encode_tlvs(tlvs: dict[int, bytes]) -> bytes:
    return b"".join([_TLV_HEADER.pack(tag, len(value)) + value for tag, value in tlvs.items()])


# Every octet value as the one latin-1 character that encodes to it. A list: compiled, an index
# is a C array read where a dict lookup hashed its key (0.25 µs of a submit_sm). The builder
# checks the range first, so a negative value never reads a wrapped index.
_OCTET_CHARACTERS: Final[list[str]] = [chr(value) for value in range(256)]


def command_octets(command_id: int, command_status: int) -> str:
    """command_id and command_status as the 8 octet characters of the header, the first
    argument of `short_message_frame`: constant for a kind of PDU, so its callers make it
    once. ValueError for a value outside 0..2**32-1."""
    if (command_id | command_status) >> 32:
        raise ValueError("a header field out of 0..2**32-1")
    octet = _OCTET_CHARACTERS
    return "".join((
        octet[command_id >> 24], octet[(command_id >> 16) & 0xFF],
        octet[(command_id >> 8) & 0xFF], octet[command_id & 0xFF],
        octet[command_status >> 24], octet[(command_status >> 16) & 0xFF],
        octet[(command_status >> 8) & 0xFF], octet[command_status & 0xFF],
    ))  # fmt: skip


def _encode_short_message_frame(p: ShortMessagePdu) -> bytes:
    return short_message_frame(
        command_octets(p.command_id, p.command_status), p.sequence_number, p.service_type,
        p.source_addr_ton,
        p.source_addr_npi, p.source_addr, p.dest_addr_ton, p.dest_addr_npi, p.destination_addr,
        p.esm_class, p.protocol_id, p.priority_flag, p.schedule_delivery_time,
        p.validity_period, p.registered_delivery, p.replace_if_present_flag, p.data_coding,
        p.sm_default_msg_id, p.short_message, p.tlvs,
    )


def short_message_frame(
    command: str,
    sequence_number: int,
    service_type: str,
    source_addr_ton: int,
    source_addr_npi: int,
    source_addr: str,
    dest_addr_ton: int,
    dest_addr_npi: int,
    destination_addr: str,
    esm_class: int,
    protocol_id: int,
    priority_flag: int,
    schedule_delivery_time: str,
    validity_period: str,
    registered_delivery: int,
    replace_if_present_flag: int,
    data_coding: int,
    sm_default_msg_id: int,
    short_message: bytes,
    tlvs: dict[int, bytes] | None,
) -> bytes:
    """The whole submit_sm or deliver_sm frame from every field, in wire order, `command`
    being `command_octets(command_id, command_status)`: the hot path of every part sent
    (through `pdu.submit_sm.encode_submit_sm`) and of `encode()` of those PDUs. ValueError (or
    LookupError, TypeError) for a value that does not fit; the callers name the field."""
    # It takes the fields as values, not a PDU object: compiled (setup.py), reading the
    # attributes of an interpreted dataclass cost as much as the encoding itself.
    if (
        "\x00" in service_type
        or "\x00" in source_addr
        or "\x00" in destination_addr
        or "\x00" in schedule_delivery_time
        or "\x00" in validity_period
    ):
        raise ValueError("NUL inside a C-octet string")
    sm_length = len(short_message)
    if (
        source_addr_ton | source_addr_npi | dest_addr_ton | dest_addr_npi | esm_class
        | protocol_id | priority_flag | registered_delivery | replace_if_present_flag
        | data_coding | sm_default_msg_id | sm_length
    ) >> 8:  # some value is negative or over 255 (sm_length is one octet, SMPP 3.4 §4.4.1)
        raise ValueError("an octet field out of 0..255")
    if sequence_number >> 32:
        raise ValueError("sequence_number out of 0..2**32-1")
    if tlvs:
        short_message = short_message + _encode_tlvs(tlvs)
    length = (  # 17: the 12 one-octet fields and the 5 C-octet strings' NULs
        HEADER_LENGTH + 17 + len(service_type) + len(source_addr) + len(destination_addr)
        + len(schedule_delivery_time) + len(validity_period) + len(short_message)
    )
    octet = _OCTET_CHARACTERS
    # Everything before short_message, header included, is one str joined from the C-octet
    # strings and the octet characters, then encoded once: no struct call, and compiled, the
    # shifts and list reads are C.
    head = "".join(
        (
            octet[length >> 24],
            octet[(length >> 16) & 0xFF],
            octet[(length >> 8) & 0xFF],
            octet[length & 0xFF],
            command,  # 8 characters made once per kind of PDU: 0.17 µs less than joining 8
            octet[sequence_number >> 24],
            octet[(sequence_number >> 16) & 0xFF],
            octet[(sequence_number >> 8) & 0xFF],
            octet[sequence_number & 0xFF],
            service_type,
            "\x00",
            octet[source_addr_ton],
            octet[source_addr_npi],
            source_addr,
            "\x00",
            octet[dest_addr_ton],
            octet[dest_addr_npi],
            destination_addr,
            "\x00",
            octet[esm_class],
            octet[protocol_id],
            octet[priority_flag],
            schedule_delivery_time,
            "\x00",
            validity_period,
            "\x00",
            octet[registered_delivery],
            octet[replace_if_present_flag],
            octet[data_coding],
            octet[sm_default_msg_id],
            octet[sm_length],
        )
    ).encode("latin-1")
    return head + short_message


def _encode_message_id_response_frame(p: MessageIdResponse) -> bytes:
    message_id = p.message_id
    if "\x00" in message_id:
        raise ValueError("NUL inside a C-octet string")
    body = message_id.encode("latin-1") + b"\x00"
    if p.tlvs:
        body += _encode_tlvs(p.tlvs)
    return (
        _pack_header(HEADER_LENGTH + len(body), p.command_id, p.command_status, p.sequence_number)
        + body
    )


def _encode_header_only(_: HeaderOnlyPdu) -> bytes:
    return b""


def _encode_bind_request(p: BindRequest) -> bytes:
    return b"".join(
        (
            _cstring(p.system_id),
            _cstring(p.password),
            _cstring(p.system_type),
            bytes((p.interface_version, p.addr_ton, p.addr_npi)),
            _cstring(p.address_range),
        )
    )


def _encode_bind_response(p: BindResponse) -> bytes:
    return _cstring(p.system_id) + _encode_tlvs(p.tlvs)


def _encode_outbind(p: Outbind) -> bytes:
    return _cstring(p.system_id) + _cstring(p.password)


_DEST_FLAGS: Final = (DestFlag.SME_ADDRESS, DestFlag.DISTRIBUTION_LIST)


def _encode_dest_address(d: DestAddress) -> bytes:
    if d.dest_flag == DestFlag.SME_ADDRESS:
        return bytes((d.dest_flag, d.ton, d.npi)) + _cstring(d.address_or_dl_name)
    if d.dest_flag == DestFlag.DISTRIBUTION_LIST:
        return bytes((d.dest_flag,)) + _cstring(d.address_or_dl_name)
    raise ValueError("unknown dest_flag")


def _encode_submit_multi(p: SubmitMulti) -> bytes:
    return b"".join(
        (
            _cstring(p.service_type),
            bytes((p.source_addr_ton, p.source_addr_npi)),
            _cstring(p.source_addr),
            bytes((len(p.dest_addresses),)),
            *[_encode_dest_address(d) for d in p.dest_addresses],
            bytes((p.esm_class, p.protocol_id, p.priority_flag)),
            _cstring(p.schedule_delivery_time),
            _cstring(p.validity_period),
            bytes(
                (
                    p.registered_delivery,
                    p.replace_if_present_flag,
                    p.data_coding,
                    p.sm_default_msg_id,
                    len(p.short_message),
                )
            ),
            p.short_message,
            _encode_tlvs(p.tlvs),
        )
    )


def _encode_unsuccess_sme(u: UnsuccessSme) -> bytes:
    return bytes((u.ton, u.npi)) + _cstring(u.address) + _U32.pack(u.error_status_code)


def _encode_submit_multi_resp(p: SubmitMultiResp) -> bytes:
    return b"".join(
        (
            _cstring(p.message_id),
            bytes((len(p.unsuccess_smes),)),
            *[_encode_unsuccess_sme(u) for u in p.unsuccess_smes],
            _encode_tlvs(p.tlvs),
        )
    )


def _encode_data_sm(p: DataSm) -> bytes:
    return b"".join(
        (
            _cstring(p.service_type),
            bytes((p.source_addr_ton, p.source_addr_npi)),
            _cstring(p.source_addr),
            bytes((p.dest_addr_ton, p.dest_addr_npi)),
            _cstring(p.destination_addr),
            bytes((p.esm_class, p.registered_delivery, p.data_coding)),
            _encode_tlvs(p.tlvs),
        )
    )


def _encode_query_sm(p: QuerySm) -> bytes:
    return b"".join(
        (
            _cstring(p.message_id),
            bytes((p.source_addr_ton, p.source_addr_npi)),
            _cstring(p.source_addr),
        )
    )


def _encode_query_sm_resp(p: QuerySmResp) -> bytes:
    return b"".join(
        (
            _cstring(p.message_id),
            _cstring(p.final_date),
            bytes((p.message_state, p.error_code)),
        )
    )


def _encode_cancel_sm(p: CancelSm) -> bytes:
    return b"".join(
        (
            _cstring(p.service_type),
            _cstring(p.message_id),
            bytes((p.source_addr_ton, p.source_addr_npi)),
            _cstring(p.source_addr),
            bytes((p.dest_addr_ton, p.dest_addr_npi)),
            _cstring(p.destination_addr),
        )
    )


def _encode_replace_sm(p: ReplaceSm) -> bytes:
    return b"".join(
        (
            _cstring(p.message_id),
            bytes((p.source_addr_ton, p.source_addr_npi)),
            _cstring(p.source_addr),
            _cstring(p.schedule_delivery_time),
            _cstring(p.validity_period),
            bytes((p.registered_delivery, p.sm_default_msg_id, len(p.short_message))),
            p.short_message,
        )
    )


def _encode_alert_notification(p: AlertNotification) -> bytes:
    return b"".join(
        (
            bytes((p.source_addr_ton, p.source_addr_npi)),
            _cstring(p.source_addr),
            bytes((p.esme_addr_ton, p.esme_addr_npi)),
            _cstring(p.esme_addr),
            _encode_tlvs(p.tlvs),
        )
    )


def _encode_unknown(p: UnknownPdu) -> bytes:
    return bytes(p.body)


# Body encoders of the PDUs off the hot path; encode() adds their header.
_BODY_ENCODERS: Final[dict[type, Callable[[Any], bytes]]] = {
    BindTransmitter: _encode_bind_request,
    BindReceiver: _encode_bind_request,
    BindTransceiver: _encode_bind_request,
    BindTransmitterResp: _encode_bind_response,
    BindReceiverResp: _encode_bind_response,
    BindTransceiverResp: _encode_bind_response,
    Outbind: _encode_outbind,
    Unbind: _encode_header_only,
    UnbindResp: _encode_header_only,
    GenericNack: _encode_header_only,
    EnquireLink: _encode_header_only,
    EnquireLinkResp: _encode_header_only,
    CancelSmResp: _encode_header_only,
    ReplaceSmResp: _encode_header_only,
    SubmitMulti: _encode_submit_multi,
    SubmitMultiResp: _encode_submit_multi_resp,
    DataSm: _encode_data_sm,
    QuerySm: _encode_query_sm,
    QuerySmResp: _encode_query_sm_resp,
    CancelSm: _encode_cancel_sm,
    ReplaceSm: _encode_replace_sm,
    AlertNotification: _encode_alert_notification,
    UnknownPdu: _encode_unknown,
}


def _frame_with_body(body_encoder: Callable[[Any], bytes], pdu: Pdu) -> bytes:
    body = body_encoder(pdu)
    return (
        _pack_header(
            HEADER_LENGTH + len(body), pdu.command_id, pdu.command_status, pdu.sequence_number
        )
        + body
    )


# class -> encoder of the whole frame, header included.
_FRAME_ENCODERS: Final[dict[type, Callable[[Any], bytes]]] = {
    SubmitSm: _encode_short_message_frame,
    DeliverSm: _encode_short_message_frame,
    SubmitSmResp: _encode_message_id_response_frame,
    DeliverSmResp: _encode_message_id_response_frame,
    DataSmResp: _encode_message_id_response_frame,
    **{cls: partial(_frame_with_body, encoder) for cls, encoder in _BODY_ENCODERS.items()},
}


def encode(pdu: Pdu) -> bytes:
    """The whole frame of `pdu`: header (command_length derived) and body."""
    frame_encoder = _FRAME_ENCODERS.get(type(pdu))
    if frame_encoder is None:
        raise PDUError(f"cannot encode {type(pdu).__name__}: not an SMPP PDU class")
    try:
        return frame_encoder(pdu)
    except (ValueError, TypeError, OverflowError, AttributeError, LookupError, struct.error):
        # Off the hot path: find which field is wrong, to name it (never its value).
        raise PDUError(f"cannot encode {command_name(pdu.command_id)}: {_diagnose(pdu)}") from None


_FOUR_OCTET_FIELDS: Final = frozenset(
    {"sequence_number", "command_status", "command_id", "error_status_code"}
)


def _diagnose(pdu: Pdu) -> str:
    """The first field of a PDU that cannot be encoded."""
    for f in dataclasses.fields(pdu):
        problem = _field_problem(f.name, str(f.type), getattr(pdu, f.name), f.name)
        if problem:
            return problem
    return "a field has a value that does not fit"


def _field_problem(field_name: str, annotation: str, value: object, name: str) -> str | None:
    expected = annotation.split("[", 1)[0]
    if expected == "int":
        if not isinstance(value, int):
            return f"{name} has the wrong type ({type(value).__name__}, expected int)"
        limit = 0xFFFFFFFF if field_name in _FOUR_OCTET_FIELDS else 0xFF
        if not 0 <= value <= limit:
            return f"{name} must be an integer in 0..{limit}"
        if field_name == "dest_flag" and value not in _DEST_FLAGS:
            return f"{name} must be 1 (SME address) or 2 (distribution list)"
    elif expected == "str":
        if not isinstance(value, str):
            return f"{name} has the wrong type ({type(value).__name__}, expected str)"
        if "\x00" in value:
            return f"{name} holds a NUL character (not allowed in a C-octet string)"
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            return f"{name} holds characters outside latin-1"
    elif expected == "bytes":
        if not isinstance(value, bytes | bytearray):
            return f"{name} has the wrong type ({type(value).__name__}, expected bytes)"
        if field_name == "short_message" and len(value) > _SHORT_MESSAGE_MAX:
            return (
                f"{name} is {len(value)} octets, over the {_SHORT_MESSAGE_MAX} that sm_length "
                "can carry (send the text in the message_payload TLV instead)"
            )
    elif expected == "dict":
        return _tlvs_problem(value, name)
    elif expected == "list":
        return _list_problem(value, name)
    return None


def _tlvs_problem(value: object, name: str) -> str | None:
    if not isinstance(value, dict):
        return f"{name} has the wrong type ({type(value).__name__}, expected dict)"
    for tag, raw in value.items():
        if not isinstance(tag, int) or not 0 <= tag <= 0xFFFF:
            return f"{name} has a tag that is not an integer in 0..65535"
        if not isinstance(raw, bytes | bytearray):
            return f"{name}[0x{tag:04X}] must be bytes"
        if len(raw) > 0xFFFF:
            return f"{name}[0x{tag:04X}] is longer than 65535 octets"
    return None


def _list_problem(value: object, name: str) -> str | None:
    if not isinstance(value, list):
        return f"{name} has the wrong type ({type(value).__name__}, expected list)"
    if len(value) > 0xFF:
        return f"{name} has {len(value)} entries; at most 255 fit"
    for index, item in enumerate(value):
        if not dataclasses.is_dataclass(item):
            return f"{name}[{index}] has the wrong type ({type(item).__name__})"
        for f in dataclasses.fields(item):
            problem = _field_problem(
                f.name, str(f.type), getattr(item, f.name), f"{name}[{index}].{f.name}"
            )
            if problem:
                return problem
    return None


# --------------------------------------------------------------------------------- decoding


def u32_at(data: bytes, pos: int) -> int:
    """The big-endian 4-octet integer at `pos` (a header field). Integer arithmetic that mypyc
    compiles to C: a struct call costs more than the whole expression there."""
    return (data[pos] << 24) | (data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3]


def decode_tlvs(frame: bytes, pos: int) -> dict[int, bytes]:
    """The TLVs from `pos` to the end of a frame, by tag. Raises PDUError."""
    tlvs: dict[int, bytes] = {}
    end = len(frame)
    while end - pos >= 4:
        tag = (frame[pos] << 8) | frame[pos + 1]
        length = (frame[pos + 2] << 8) | frame[pos + 3]
        pos += 4
        if pos + length > end:
            raise PDUError(f"TLV 0x{tag:04X} of {length} octets runs past the end of the PDU")
        tlvs[tag] = frame[pos : pos + length]
        pos += length
    if pos < end:
        raise PDUError(f"{end - pos} stray octets where a TLV header was expected")
    return tlvs


def _cstring_end(b: bytes, start: int, octets_after: int) -> int:
    """Where the C-octet string at `start` ends (its NUL), checking that the `octets_after`
    one-octet fields behind it are there too."""
    nul = b.find(0, start)
    if nul < 0 or nul + octets_after >= len(b):
        raise PDUError("the body ends inside a mandatory field")
    return nul


def _decode_short_message_pdu(
    cls: type[ShortMessagePdu], b: bytes, sequence_number: int, command_status: int
) -> ShortMessagePdu:
    # The hot path of every deliver_sm (receipts, MO) the daemon reads: the five C-octet
    # strings found with bytes.find, the one-octet fields between them read as octets (C
    # integer reads once compiled; a regex over the frame decoded as latin-1 took a third more).
    end = _cstring_end(b, HEADER_LENGTH, 2)
    service_type = b[HEADER_LENGTH:end].decode("latin-1")
    source_addr_ton = b[end + 1]
    source_addr_npi = b[end + 2]
    start = end + 3
    end = _cstring_end(b, start, 2)
    source_addr = b[start:end].decode("latin-1")
    dest_addr_ton = b[end + 1]
    dest_addr_npi = b[end + 2]
    start = end + 3
    end = _cstring_end(b, start, 3)
    destination_addr = b[start:end].decode("latin-1")
    esm_class = b[end + 1]
    protocol_id = b[end + 2]
    priority_flag = b[end + 3]
    start = end + 4
    end = _cstring_end(b, start, 0)
    schedule_delivery_time = b[start:end].decode("latin-1")
    start = end + 1
    end = _cstring_end(b, start, 5)
    validity_period = b[start:end].decode("latin-1")
    registered_delivery = b[end + 1]
    replace_if_present_flag = b[end + 2]
    data_coding = b[end + 3]
    sm_default_msg_id = b[end + 4]
    sm_length = b[end + 5]
    start = end + 6
    end = start + sm_length
    if end > len(b):
        raise PDUError(f"short_message of {sm_length} octets runs past the end of the PDU")
    return cls(
        service_type,
        source_addr_ton,
        source_addr_npi,
        source_addr,
        dest_addr_ton,
        dest_addr_npi,
        destination_addr,
        esm_class,
        protocol_id,
        priority_flag,
        schedule_delivery_time,
        validity_period,
        registered_delivery,
        replace_if_present_flag,
        data_coding,
        sm_default_msg_id,
        b[start:end],
        decode_tlvs(b, end),
        sequence_number,
        command_status,
    )


def _decode_message_id_response(
    cls: type[MessageIdResponse], b: bytes, sequence_number: int, command_status: int
) -> MessageIdResponse:
    nul = b.index(0, HEADER_LENGTH)
    return cls(
        b[HEADER_LENGTH:nul].decode("latin-1"),
        decode_tlvs(b, nul + 1) if nul + 1 < len(b) else {},
        sequence_number,
        command_status,
    )


def response_message_id(frame: bytes) -> str:
    """The message_id of a submit_sm_resp / data_sm_resp / deliver_sm_resp frame, read without
    decoding the rest: what the engine needs of every submit_sm_resp, at a quarter of the cost
    of `decode`. "" for a response without a body (SMPP 3.4 §4.4.2 lets an error response
    omit it); PDUError when the body has no NUL-terminated message_id."""
    nul = frame.find(0, HEADER_LENGTH)
    if nul < 0:
        if len(frame) == HEADER_LENGTH:
            return ""
        raise PDUError("the message_id of the response has no NUL")
    return frame[HEADER_LENGTH:nul].decode("latin-1")


class _Reader:
    """Sequential reads over a frame's body for the PDUs off the hot path."""

    __slots__ = ("frame", "pos")

    def __init__(self, frame: bytes) -> None:
        self.frame = frame
        self.pos = HEADER_LENGTH

    def cstring(self) -> str:
        end = self.frame.index(0, self.pos)
        value = self.frame[self.pos : end].decode("latin-1")
        self.pos = end + 1
        return value

    def u8(self) -> int:
        value = self.frame[self.pos]
        self.pos += 1
        return value

    def u32(self) -> int:
        (value,) = _U32.unpack_from(self.frame, self.pos)
        self.pos += 4
        return int(value)

    def octets(self, count: int) -> bytes:
        end = self.pos + count
        if end > len(self.frame):
            raise PDUError(f"a field of {count} octets runs past the end of the PDU")
        value = self.frame[self.pos : end]
        self.pos = end
        return value

    def tlvs(self) -> dict[int, bytes]:
        return decode_tlvs(self.frame, self.pos)


def _decode_header_only(
    cls: type[HeaderOnlyPdu], _: bytes, sequence_number: int, command_status: int
) -> HeaderOnlyPdu:
    return cls(sequence_number, command_status)


def _decode_bind_request(
    cls: type[BindRequest], b: bytes, sequence_number: int, command_status: int
) -> BindRequest:
    r = _Reader(b)
    return cls(
        r.cstring(),
        r.cstring(),
        r.cstring(),
        r.u8(),
        r.u8(),
        r.u8(),
        r.cstring(),
        sequence_number,
        command_status,
    )


def _decode_bind_response(
    cls: type[BindResponse], b: bytes, sequence_number: int, command_status: int
) -> BindResponse:
    r = _Reader(b)
    return cls(r.cstring(), r.tlvs(), sequence_number, command_status)


def _decode_outbind(
    cls: type[Outbind], b: bytes, sequence_number: int, command_status: int
) -> Outbind:
    r = _Reader(b)
    return cls(r.cstring(), r.cstring(), sequence_number, command_status)


def _read_dest_address(r: _Reader) -> DestAddress:
    dest_flag = r.u8()
    if dest_flag == DestFlag.SME_ADDRESS:
        return DestAddress(dest_flag, r.u8(), r.u8(), r.cstring())
    if dest_flag == DestFlag.DISTRIBUTION_LIST:
        return DestAddress(dest_flag, 0, 0, r.cstring())
    raise PDUError(f"submit_multi dest_flag {dest_flag} is neither 1 (SME) nor 2 (list)")


def _decode_submit_multi(
    cls: type[SubmitMulti], b: bytes, sequence_number: int, command_status: int
) -> SubmitMulti:
    r = _Reader(b)
    service_type = r.cstring()
    source_addr_ton = r.u8()
    source_addr_npi = r.u8()
    source_addr = r.cstring()
    dest_addresses = [_read_dest_address(r) for _ in range(r.u8())]
    esm_class = r.u8()
    protocol_id = r.u8()
    priority_flag = r.u8()
    schedule_delivery_time = r.cstring()
    validity_period = r.cstring()
    registered_delivery = r.u8()
    replace_if_present_flag = r.u8()
    data_coding = r.u8()
    sm_default_msg_id = r.u8()
    short_message = r.octets(r.u8())
    return cls(
        service_type,
        source_addr_ton,
        source_addr_npi,
        source_addr,
        dest_addresses,
        esm_class,
        protocol_id,
        priority_flag,
        schedule_delivery_time,
        validity_period,
        registered_delivery,
        replace_if_present_flag,
        data_coding,
        sm_default_msg_id,
        short_message,
        r.tlvs(),
        sequence_number,
        command_status,
    )


def _decode_submit_multi_resp(
    cls: type[SubmitMultiResp], b: bytes, sequence_number: int, command_status: int
) -> SubmitMultiResp:
    r = _Reader(b)
    message_id = r.cstring()
    unsuccess_smes = [UnsuccessSme(r.u8(), r.u8(), r.cstring(), r.u32()) for _ in range(r.u8())]
    return cls(message_id, unsuccess_smes, r.tlvs(), sequence_number, command_status)


def _decode_data_sm(
    cls: type[DataSm], b: bytes, sequence_number: int, command_status: int
) -> DataSm:
    r = _Reader(b)
    return cls(
        r.cstring(),
        r.u8(),
        r.u8(),
        r.cstring(),
        r.u8(),
        r.u8(),
        r.cstring(),
        r.u8(),
        r.u8(),
        r.u8(),
        r.tlvs(),
        sequence_number,
        command_status,
    )


def _decode_query_sm(
    cls: type[QuerySm], b: bytes, sequence_number: int, command_status: int
) -> QuerySm:
    r = _Reader(b)
    return cls(r.cstring(), r.u8(), r.u8(), r.cstring(), sequence_number, command_status)


def _decode_query_sm_resp(
    cls: type[QuerySmResp], b: bytes, sequence_number: int, command_status: int
) -> QuerySmResp:
    r = _Reader(b)
    return cls(r.cstring(), r.cstring(), r.u8(), r.u8(), sequence_number, command_status)


def _decode_cancel_sm(
    cls: type[CancelSm], b: bytes, sequence_number: int, command_status: int
) -> CancelSm:
    r = _Reader(b)
    return cls(
        r.cstring(),
        r.cstring(),
        r.u8(),
        r.u8(),
        r.cstring(),
        r.u8(),
        r.u8(),
        r.cstring(),
        sequence_number,
        command_status,
    )


def _decode_replace_sm(
    cls: type[ReplaceSm], b: bytes, sequence_number: int, command_status: int
) -> ReplaceSm:
    r = _Reader(b)
    message_id = r.cstring()
    source_addr_ton = r.u8()
    source_addr_npi = r.u8()
    source_addr = r.cstring()
    schedule_delivery_time = r.cstring()
    validity_period = r.cstring()
    registered_delivery = r.u8()
    sm_default_msg_id = r.u8()
    short_message = r.octets(r.u8())
    return cls(
        message_id,
        source_addr_ton,
        source_addr_npi,
        source_addr,
        schedule_delivery_time,
        validity_period,
        registered_delivery,
        sm_default_msg_id,
        short_message,
        sequence_number,
        command_status,
    )


def _decode_alert_notification(
    cls: type[AlertNotification], b: bytes, sequence_number: int, command_status: int
) -> AlertNotification:
    r = _Reader(b)
    return cls(
        r.u8(),
        r.u8(),
        r.cstring(),
        r.u8(),
        r.u8(),
        r.cstring(),
        r.tlvs(),
        sequence_number,
        command_status,
    )


_DECODER_TABLE: Final[list[tuple[Callable[..., Any], tuple[type[Any], ...]]]] = [
    (_decode_bind_request, (BindTransmitter, BindReceiver, BindTransceiver)),
    (_decode_bind_response, (BindTransmitterResp, BindReceiverResp, BindTransceiverResp)),
    (_decode_outbind, (Outbind,)),
    (
        _decode_header_only,
        (
            Unbind,
            UnbindResp,
            GenericNack,
            EnquireLink,
            EnquireLinkResp,
            CancelSmResp,
            ReplaceSmResp,
        ),
    ),
    (_decode_short_message_pdu, (SubmitSm, DeliverSm)),
    (_decode_message_id_response, (SubmitSmResp, DeliverSmResp, DataSmResp)),
    (_decode_submit_multi, (SubmitMulti,)),
    (_decode_submit_multi_resp, (SubmitMultiResp,)),
    (_decode_data_sm, (DataSm,)),
    (_decode_query_sm, (QuerySm,)),
    (_decode_query_sm_resp, (QuerySmResp,)),
    (_decode_cancel_sm, (CancelSm,)),
    (_decode_replace_sm, (ReplaceSm,)),
    (_decode_alert_notification, (AlertNotification,)),
]

# command_id -> (decoder, class); the decoder is called as decoder(class, frame,
# sequence_number, command_status).
_DECODERS: Final[dict[int, tuple[Callable[..., Any], type[Any]]]] = {
    cls.command_id: (decoder, cls) for decoder, classes in _DECODER_TABLE for cls in classes
}


def decode(frame: bytes | bytearray | memoryview) -> Pdu:
    """The PDU in one whole frame (header included). Raises only PDUError."""
    if not isinstance(frame, bytes):
        frame = bytes(frame)
    frame_length = len(frame)
    if frame_length < HEADER_LENGTH:
        raise PDUError(f"a frame needs a {HEADER_LENGTH}-octet header, got {frame_length} octets")
    command_length = u32_at(frame, 0)
    command_id = u32_at(frame, 4)
    command_status = u32_at(frame, 8)
    sequence_number = u32_at(frame, 12)
    if command_length != frame_length:
        raise PDUError(f"command_length {command_length} but the frame has {frame_length} octets")
    entry = _DECODERS.get(command_id)
    if entry is None:
        return UnknownPdu(command_id, frame[HEADER_LENGTH:], sequence_number, command_status)
    decoder, cls = entry
    pdu: Pdu
    try:
        pdu = decoder(cls, frame, sequence_number, command_status)
    except (PDUError, IndexError, ValueError, struct.error) as exc:
        # A response with an empty body (any status), or an error response whose body cannot
        # be read, is still the answer the session waits for: give it with default fields.
        if command_id & RESP_BIT and (command_status or frame_length == HEADER_LENGTH):
            pdu = PDU_CLASSES[command_id](
                sequence_number=sequence_number, command_status=command_status
            )
            return pdu
        if isinstance(exc, PDUError):
            raise PDUError(f"{command_name(command_id)}: {exc}") from None
        raise PDUError(
            f"{command_name(command_id)}: the body ends inside a field "
            "(a C-octet string without its NUL, or a truncated integer)"
        ) from None
    return pdu
