"""`encode_submit_sm(**fields)`: `encode(SubmitSm(...))` without building the SubmitSm.

The engine encodes every part it sends this way. It lives outside pdu.codec on purpose: that
module is compiled (setup.py), and mypyc binds keyword arguments more slowly than the
interpreter does (10 keywords: 0.72 µs against 0.46 µs, benchmarks/RESULTS.md "Codec"). So the
keywords are bound here, interpreted, and the compiled `short_message_frame` gets them as
positional values. Pass the fields by keyword: they are not declared keyword-only because
CPython fills each missing keyword-only default from a dict, and for the ~9 fields a part
leaves at their defaults that cost 0.2 µs more per call (8 % of the codec benchmark's line).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Final

from pdu.codec import command_octets, encode, short_message_frame
from pdu.pdus import SubmitSm

_SUBMIT_SM: Final = command_octets(SubmitSm.command_id, 0)  # a request's status is 0


def encode_submit_sm(  # pass the fields by keyword (see the module docstring)
    sequence_number: int = 0,
    service_type: str = "",
    source_addr_ton: int = 0,
    source_addr_npi: int = 0,
    source_addr: str = "",
    dest_addr_ton: int = 0,
    dest_addr_npi: int = 0,
    destination_addr: str = "",
    esm_class: int = 0,
    protocol_id: int = 0,
    priority_flag: int = 0,
    schedule_delivery_time: str = "",
    validity_period: str = "",
    registered_delivery: int = 0,
    replace_if_present_flag: int = 0,
    data_coding: int = 0,
    sm_default_msg_id: int = 0,
    short_message: bytes = b"",
    tlvs: Mapping[int, bytes] | None = None,
) -> bytes:
    """The same keywords, defaults and octets as `encode(SubmitSm(...))`; PDUError naming the
    field for a value that does not fit the wire."""
    try:
        return short_message_frame(
            _SUBMIT_SM, sequence_number, service_type, source_addr_ton,
            source_addr_npi, source_addr, dest_addr_ton, dest_addr_npi, destination_addr,
            esm_class, protocol_id, priority_flag, schedule_delivery_time, validity_period,
            registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id,
            short_message, dict(tlvs) if tlvs else None,  # the compiled builder takes a dict
        )
    except (ValueError, TypeError, OverflowError, LookupError, struct.error):
        # off the hot path: encode() names the field that does not fit
        return encode(SubmitSm(
            sequence_number=sequence_number, service_type=service_type,
            source_addr_ton=source_addr_ton, source_addr_npi=source_addr_npi,
            source_addr=source_addr, dest_addr_ton=dest_addr_ton, dest_addr_npi=dest_addr_npi,
            destination_addr=destination_addr, esm_class=esm_class, protocol_id=protocol_id,
            priority_flag=priority_flag, schedule_delivery_time=schedule_delivery_time,
            validity_period=validity_period, registered_delivery=registered_delivery,
            replace_if_present_flag=replace_if_present_flag, data_coding=data_coding,
            sm_default_msg_id=sm_default_msg_id, short_message=short_message,
            tlvs=dict(tlvs or {}),
        ))
