"""The octets of the simulator's hot path, read and written without the pdu dataclasses.

Every accepted submit_sm costs a submit_sm_resp and a receipt deliver_sm (and its
deliver_sm_resp). Building a SubmitSm, a SubmitSmResp and a DeliverSm per message cost the
simulator about a quarter of its CPU under the daemon benchmark (py-spy), so this module reads
the few fields a receipt needs straight from the frame and writes the answers as octets. The
octets are the ones `pdu.codec.encode` writes (tests/smsc_sim/test_wire.py compares them).
"""

from __future__ import annotations

import re
import struct
from typing import Final

from pdu.constants import HEADER_LENGTH, CommandId

_HEADER: Final = struct.Struct(">IIII")
_pack_header: Final = _HEADER.pack
_pack_tlv_header: Final = struct.Struct(">HH").pack
_DELIVER_SM: Final = int(CommandId.DELIVER_SM)

# The mandatory part of a submit_sm body (SMPP 3.4 §4.4.1) up to sm_length, as
# pdu.codec matches it: service_type; source ton, npi and address (group 1, with its NUL);
# destination ton, npi and address (group 2; the address alone in group 3); esm_class (4);
# protocol_id, priority_flag, schedule_delivery_time, validity_period; registered_delivery (5);
# replace_if_present_flag; data_coding (6); sm_default_msg_id; sm_length (7).
_SUBMIT_SM_FIELDS: Final = re.compile(
    rb"[^\0]*+\0(..[^\0]*+\0)(..([^\0]*+)\0)(.)..[^\0]*+\0[^\0]*+\0(.).(.).(.)", re.DOTALL
)

# (source address octets, destination address octets, destination_addr, esm_class,
# registered_delivery, data_coding, short_message); an address's octets are its ton, npi and
# C-octet string, as a deliver_sm carries them too.
SubmitView = tuple[bytes, bytes, str, int, int, int, bytes]


def read_submit_sm(frame: bytes) -> SubmitView | None:
    """The fields of a submit_sm frame that carries no TLVs; None for any other frame (one
    with TLVs, or one `pdu.codec.decode` would reject), which the caller decodes in full."""
    match = _SUBMIT_SM_FIELDS.match(frame, HEADER_LENGTH)
    if match is None:
        return None
    source, destination, destination_addr, esm_class, registered, coding, length = match.groups()
    start = match.end()
    if start + length[0] != len(frame):
        return None
    return (
        source,
        destination,
        destination_addr.decode("latin-1"),
        esm_class[0],
        registered[0],
        coding[0],
        frame[start:],
    )


def address_octets(ton: int, npi: int, address: str) -> bytes:
    """One address of a short-message PDU: ton, npi and the address as a C-octet string."""
    return bytes((ton, npi)) + address.encode("latin-1") + b"\x00"


def header_frame(command_id: int, command_status: int, sequence_number: int) -> bytes:
    """A PDU with no body: an error response (SMPP 3.4 §4.1.2, §4.4.2: no body is returned
    when command_status is not 0), generic_nack, enquire_link_resp, ..."""
    return _pack_header(HEADER_LENGTH, command_id, command_status, sequence_number)


def message_id_response(command_id: int, sequence_number: int, message_id: str) -> bytes:
    """A submit_sm_resp / data_sm_resp with status 0 and no TLVs."""
    body = message_id.encode("latin-1") + b"\x00"
    return _pack_header(HEADER_LENGTH + len(body), command_id, 0, sequence_number) + body


# A receipt's mandatory fields after its addresses: esm_class 0x04 (delivery receipt),
# protocol_id, priority_flag, empty schedule_delivery_time and validity_period,
# registered_delivery, replace_if_present_flag, data_coding 0 and sm_default_msg_id. A receipt
# body (header not included) is an empty service_type, its two addresses as `address_octets`
# writes them, these fields, sm_length (an octet of SM_LENGTH_OCTETS), short_message and TLVs.
RECEIPT_FIELDS: Final = b"\x04\x00\x00\x00\x00\x00\x00\x00\x00"
# sm_length's octet for each length: bytes((n,)) made a tuple and a bytes per receipt
SM_LENGTH_OCTETS: Final = [bytes((length,)) for length in range(256)]


def deliver_sm_header(sequence_number: int, body_length: int) -> bytes:
    """The header of a deliver_sm whose body (after the header) has `body_length` octets."""
    return _pack_header(HEADER_LENGTH + body_length, _DELIVER_SM, 0, sequence_number)


def tlv(tag: int, value: bytes) -> bytes:
    return tlv_header(tag, len(value)) + value


def tlv_header(tag: int, length: int) -> bytes:
    """A TLV's tag and length, which its `length` octets of value follow."""
    return _pack_tlv_header(tag, length)
