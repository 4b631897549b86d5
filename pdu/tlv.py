"""SMPP 3.4 optional parameters (TLVs, specification §5.3).

A PDU keeps its TLVs as `dict[int, bytes]` (tag -> raw value, in wire order), so an unknown or
vendor tag (e.g. 0x1401) is carried and re-encoded unchanged. This module names the standard
tags and converts their values to and from Python types.
"""

from __future__ import annotations

from typing import Final, Literal

Kind = Literal["int", "cstring", "octets"]


class Tag:
    DEST_ADDR_SUBUNIT: Final = 0x0005
    DEST_NETWORK_TYPE: Final = 0x0006
    DEST_BEARER_TYPE: Final = 0x0007
    DEST_TELEMATICS_ID: Final = 0x0008
    SOURCE_ADDR_SUBUNIT: Final = 0x000D
    SOURCE_NETWORK_TYPE: Final = 0x000E
    SOURCE_BEARER_TYPE: Final = 0x000F
    SOURCE_TELEMATICS_ID: Final = 0x0010
    QOS_TIME_TO_LIVE: Final = 0x0017
    PAYLOAD_TYPE: Final = 0x0019
    ADDITIONAL_STATUS_INFO_TEXT: Final = 0x001D
    RECEIPTED_MESSAGE_ID: Final = 0x001E
    MS_MSG_WAIT_FACILITIES: Final = 0x0030
    PRIVACY_INDICATOR: Final = 0x0201
    SOURCE_SUBADDRESS: Final = 0x0202
    DEST_SUBADDRESS: Final = 0x0203
    USER_MESSAGE_REFERENCE: Final = 0x0204
    USER_RESPONSE_CODE: Final = 0x0205
    SOURCE_PORT: Final = 0x020A
    DESTINATION_PORT: Final = 0x020B
    SAR_MSG_REF_NUM: Final = 0x020C
    LANGUAGE_INDICATOR: Final = 0x020D
    SAR_TOTAL_SEGMENTS: Final = 0x020E
    SAR_SEGMENT_SEQNUM: Final = 0x020F
    SC_INTERFACE_VERSION: Final = 0x0210
    CALLBACK_NUM_PRES_IND: Final = 0x0302
    CALLBACK_NUM_ATAG: Final = 0x0303
    NUMBER_OF_MESSAGES: Final = 0x0304
    CALLBACK_NUM: Final = 0x0381
    DPF_RESULT: Final = 0x0420
    SET_DPF: Final = 0x0421
    MS_AVAILABILITY_STATUS: Final = 0x0422
    NETWORK_ERROR_CODE: Final = 0x0423
    MESSAGE_PAYLOAD: Final = 0x0424
    DELIVERY_FAILURE_REASON: Final = 0x0425
    MORE_MESSAGES_TO_SEND: Final = 0x0426
    MESSAGE_STATE: Final = 0x0427
    USSD_SERVICE_OP: Final = 0x0501
    DISPLAY_TIME: Final = 0x1201
    SMS_SIGNAL: Final = 0x1203
    MS_VALIDITY: Final = 0x1204
    ALERT_ON_MESSAGE_DELIVERY: Final = 0x130C
    ITS_REPLY_TYPE: Final = 0x1380
    ITS_SESSION_INFO: Final = 0x1383


# name -> (tag, kind, size of an "int" value in octets; 0 otherwise)
STANDARD_TLVS: Final[dict[str, tuple[int, Kind, int]]] = {
    "dest_addr_subunit": (Tag.DEST_ADDR_SUBUNIT, "int", 1),
    "dest_network_type": (Tag.DEST_NETWORK_TYPE, "int", 1),
    "dest_bearer_type": (Tag.DEST_BEARER_TYPE, "int", 1),
    "dest_telematics_id": (Tag.DEST_TELEMATICS_ID, "int", 2),
    "source_addr_subunit": (Tag.SOURCE_ADDR_SUBUNIT, "int", 1),
    "source_network_type": (Tag.SOURCE_NETWORK_TYPE, "int", 1),
    "source_bearer_type": (Tag.SOURCE_BEARER_TYPE, "int", 1),
    "source_telematics_id": (Tag.SOURCE_TELEMATICS_ID, "int", 1),
    "qos_time_to_live": (Tag.QOS_TIME_TO_LIVE, "int", 4),
    "payload_type": (Tag.PAYLOAD_TYPE, "int", 1),
    "additional_status_info_text": (Tag.ADDITIONAL_STATUS_INFO_TEXT, "cstring", 0),
    "receipted_message_id": (Tag.RECEIPTED_MESSAGE_ID, "cstring", 0),
    "ms_msg_wait_facilities": (Tag.MS_MSG_WAIT_FACILITIES, "int", 1),
    "privacy_indicator": (Tag.PRIVACY_INDICATOR, "int", 1),
    "source_subaddress": (Tag.SOURCE_SUBADDRESS, "octets", 0),
    "dest_subaddress": (Tag.DEST_SUBADDRESS, "octets", 0),
    "user_message_reference": (Tag.USER_MESSAGE_REFERENCE, "int", 2),
    "user_response_code": (Tag.USER_RESPONSE_CODE, "int", 1),
    "source_port": (Tag.SOURCE_PORT, "int", 2),
    "destination_port": (Tag.DESTINATION_PORT, "int", 2),
    "sar_msg_ref_num": (Tag.SAR_MSG_REF_NUM, "int", 2),
    "language_indicator": (Tag.LANGUAGE_INDICATOR, "int", 1),
    "sar_total_segments": (Tag.SAR_TOTAL_SEGMENTS, "int", 1),
    "sar_segment_seqnum": (Tag.SAR_SEGMENT_SEQNUM, "int", 1),
    "sc_interface_version": (Tag.SC_INTERFACE_VERSION, "int", 1),
    "callback_num_pres_ind": (Tag.CALLBACK_NUM_PRES_IND, "int", 1),
    "callback_num_atag": (Tag.CALLBACK_NUM_ATAG, "octets", 0),
    "number_of_messages": (Tag.NUMBER_OF_MESSAGES, "int", 1),
    "callback_num": (Tag.CALLBACK_NUM, "octets", 0),
    "dpf_result": (Tag.DPF_RESULT, "int", 1),
    "set_dpf": (Tag.SET_DPF, "int", 1),
    "ms_availability_status": (Tag.MS_AVAILABILITY_STATUS, "int", 1),
    "network_error_code": (Tag.NETWORK_ERROR_CODE, "octets", 0),
    "message_payload": (Tag.MESSAGE_PAYLOAD, "octets", 0),
    "delivery_failure_reason": (Tag.DELIVERY_FAILURE_REASON, "int", 1),
    "more_messages_to_send": (Tag.MORE_MESSAGES_TO_SEND, "int", 1),
    "message_state": (Tag.MESSAGE_STATE, "int", 1),
    "ussd_service_op": (Tag.USSD_SERVICE_OP, "int", 1),
    "display_time": (Tag.DISPLAY_TIME, "int", 1),
    "sms_signal": (Tag.SMS_SIGNAL, "int", 2),
    "ms_validity": (Tag.MS_VALIDITY, "int", 1),
    "alert_on_message_delivery": (Tag.ALERT_ON_MESSAGE_DELIVERY, "octets", 0),
    "its_reply_type": (Tag.ITS_REPLY_TYPE, "int", 1),
    "its_session_info": (Tag.ITS_SESSION_INFO, "octets", 0),
}

TAG_NAMES: Final[dict[int, str]] = {tag: name for name, (tag, _, _) in STANDARD_TLVS.items()}
_KIND_BY_TAG: Final[dict[int, tuple[Kind, int]]] = {
    tag: (kind, size) for tag, kind, size in STANDARD_TLVS.values()
}


def tag_of(name: str) -> int:
    """The tag of a standard TLV by its specification name (KeyError for an unknown name)."""
    return STANDARD_TLVS[name][0]


def encode_value(tag: int, value: int | str | bytes) -> bytes:
    """The raw value octets of a TLV. Ints use the standard size of the tag (4 if unknown)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("latin-1") + b"\x00"
    _, size = _KIND_BY_TAG.get(tag, ("int", 4))
    return value.to_bytes(size or 4, "big")


def decode_value(tag: int, raw: bytes) -> int | str | bytes:
    """The Python value of a raw TLV: int, str (C-octet string) or bytes (octets, unknown tags).

    Never raises: a value whose length does not fit its standard type comes back as bytes.
    """
    kind, size = _KIND_BY_TAG.get(tag, ("octets", 0))
    if kind == "int" and len(raw) == size:
        return int.from_bytes(raw, "big")
    if kind == "cstring":
        return raw.split(b"\x00", 1)[0].decode("latin-1")
    return raw


def get_int(tlvs: dict[int, bytes], tag: int) -> int | None:
    """An integer TLV's value, or None when it is absent or not an integer of any size."""
    raw = tlvs.get(tag)
    if raw is None or not 1 <= len(raw) <= 8:
        return None
    return int.from_bytes(raw, "big")


def get_cstring(tlvs: dict[int, bytes], tag: int) -> str | None:
    """A C-octet-string TLV's value without its NUL, or None when absent."""
    raw = tlvs.get(tag)
    if raw is None:
        return None
    return raw.split(b"\x00", 1)[0].decode("latin-1")
