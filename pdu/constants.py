"""SMPP 3.4 numbers: command ids, command_status codes, data codings, esm_class bits.

Values are plain ints (not enums) so an unknown value read off the wire is carried as the same
kind of number as a known one and never raises; `status_name` / `status_description` turn any
code, known or not, into text for logs and the outbox.
"""

from __future__ import annotations

from typing import Final

# SMPP 3.4 §5.1.2: bit 31 of command_id marks a response.
RESP_BIT: Final = 0x80000000

HEADER_LENGTH: Final = 16

# seed 004_80a28bca441860d4.txt L2900: Devino asks for Interface_Version 0x34, which is also the
# value SMPP 3.4 §5.2.4 defines for itself.
INTERFACE_VERSION_34: Final = 0x34


class CommandId:
    """SMPP 3.4 §5.1.2.1 command ids."""

    GENERIC_NACK: Final = 0x80000000
    BIND_RECEIVER: Final = 0x00000001
    BIND_RECEIVER_RESP: Final = 0x80000001
    BIND_TRANSMITTER: Final = 0x00000002
    BIND_TRANSMITTER_RESP: Final = 0x80000002
    QUERY_SM: Final = 0x00000003
    QUERY_SM_RESP: Final = 0x80000003
    SUBMIT_SM: Final = 0x00000004
    SUBMIT_SM_RESP: Final = 0x80000004
    DELIVER_SM: Final = 0x00000005
    DELIVER_SM_RESP: Final = 0x80000005
    UNBIND: Final = 0x00000006
    UNBIND_RESP: Final = 0x80000006
    REPLACE_SM: Final = 0x00000007
    REPLACE_SM_RESP: Final = 0x80000007
    CANCEL_SM: Final = 0x00000008
    CANCEL_SM_RESP: Final = 0x80000008
    BIND_TRANSCEIVER: Final = 0x00000009
    BIND_TRANSCEIVER_RESP: Final = 0x80000009
    OUTBIND: Final = 0x0000000B
    ENQUIRE_LINK: Final = 0x00000015
    ENQUIRE_LINK_RESP: Final = 0x80000015
    SUBMIT_MULTI: Final = 0x00000021
    SUBMIT_MULTI_RESP: Final = 0x80000021
    ALERT_NOTIFICATION: Final = 0x00000102
    DATA_SM: Final = 0x00000103
    DATA_SM_RESP: Final = 0x80000103


COMMAND_NAMES: Final[dict[int, str]] = {
    value: name.lower() for name, value in vars(CommandId).items() if not name.startswith("_")
}


def command_name(command_id: int) -> str:
    """ "submit_sm" for 0x00000004; "0x00000123" for an id outside SMPP 3.4."""
    return COMMAND_NAMES.get(command_id) or f"0x{command_id:08X}"


def is_response(command_id: int) -> bool:
    return bool(command_id & RESP_BIT)


class CommandStatus:
    """SMPP 3.4 §5.1.3 command_status codes. 0x400-0x4FF are reserved for SMSC vendors."""

    ESME_ROK: Final = 0x00000000
    ESME_RINVMSGLEN: Final = 0x00000001
    ESME_RINVCMDLEN: Final = 0x00000002
    ESME_RINVCMDID: Final = 0x00000003
    ESME_RINVBNDSTS: Final = 0x00000004
    ESME_RALYBND: Final = 0x00000005
    ESME_RINVPRTFLG: Final = 0x00000006
    ESME_RINVREGDLVFLG: Final = 0x00000007
    ESME_RSYSERR: Final = 0x00000008
    ESME_RINVSRCADR: Final = 0x0000000A
    ESME_RINVDSTADR: Final = 0x0000000B
    ESME_RINVMSGID: Final = 0x0000000C
    ESME_RBINDFAIL: Final = 0x0000000D
    ESME_RINVPASWD: Final = 0x0000000E
    ESME_RINVSYSID: Final = 0x0000000F
    ESME_RCANCELFAIL: Final = 0x00000011
    ESME_RREPLACEFAIL: Final = 0x00000013
    ESME_RMSGQFUL: Final = 0x00000014
    ESME_RINVSERTYP: Final = 0x00000015
    ESME_RINVNUMDESTS: Final = 0x00000033
    ESME_RINVDLNAME: Final = 0x00000034
    ESME_RINVDESTFLAG: Final = 0x00000040
    ESME_RINVSUBREP: Final = 0x00000042
    ESME_RINVESMCLASS: Final = 0x00000043
    ESME_RCNTSUBDL: Final = 0x00000044
    ESME_RSUBMITFAIL: Final = 0x00000045
    ESME_RINVSRCTON: Final = 0x00000048
    ESME_RINVSRCNPI: Final = 0x00000049
    ESME_RINVDSTTON: Final = 0x00000050
    ESME_RINVDSTNPI: Final = 0x00000051
    ESME_RINVSYSTYP: Final = 0x00000053
    ESME_RINVREPFLAG: Final = 0x00000054
    ESME_RINVNUMMSGS: Final = 0x00000055
    ESME_RTHROTTLED: Final = 0x00000058
    ESME_RINVSCHED: Final = 0x00000061
    ESME_RINVEXPIRY: Final = 0x00000062
    ESME_RINVDFTMSGID: Final = 0x00000063
    ESME_RX_T_APPN: Final = 0x00000064
    ESME_RX_P_APPN: Final = 0x00000065
    ESME_RX_R_APPN: Final = 0x00000066
    ESME_RQUERYFAIL: Final = 0x00000067
    ESME_RINVOPTPARSTREAM: Final = 0x000000C0
    ESME_ROPTPARNOTALLWD: Final = 0x000000C1
    ESME_RINVPARLEN: Final = 0x000000C2
    ESME_RMISSINGOPTPARAM: Final = 0x000000C3
    ESME_RINVOPTPARAMVAL: Final = 0x000000C4
    ESME_RDELIVERYFAILURE: Final = 0x000000FE
    ESME_RUNKNOWNERR: Final = 0x000000FF


VENDOR_STATUS_RANGE: Final = range(0x400, 0x500)

STATUS_NAMES: Final[dict[int, str]] = {
    value: name for name, value in vars(CommandStatus).items() if name.startswith("ESME_")
}

# SMPP 3.4 Table 5-2 descriptions, worded for an operator reading a log line or the outbox.
_STATUS_DESCRIPTIONS: Final[dict[int, str]] = {
    CommandStatus.ESME_ROK: "No error",
    CommandStatus.ESME_RINVMSGLEN: "Message length is invalid",
    CommandStatus.ESME_RINVCMDLEN: "Command length is invalid",
    CommandStatus.ESME_RINVCMDID: "Invalid command id",
    CommandStatus.ESME_RINVBNDSTS: "Incorrect bind status for the given command",
    CommandStatus.ESME_RALYBND: "ESME already in bound state",
    CommandStatus.ESME_RINVPRTFLG: "Invalid priority flag",
    CommandStatus.ESME_RINVREGDLVFLG: "Invalid registered delivery flag",
    CommandStatus.ESME_RSYSERR: "System error",
    CommandStatus.ESME_RINVSRCADR: "Invalid source address",
    CommandStatus.ESME_RINVDSTADR: "Invalid destination address",
    CommandStatus.ESME_RINVMSGID: "Message id is invalid",
    CommandStatus.ESME_RBINDFAIL: "Bind failed",
    CommandStatus.ESME_RINVPASWD: "Invalid password",
    CommandStatus.ESME_RINVSYSID: "Invalid system id",
    CommandStatus.ESME_RCANCELFAIL: "cancel_sm failed",
    CommandStatus.ESME_RREPLACEFAIL: "replace_sm failed",
    CommandStatus.ESME_RMSGQFUL: "Message queue full",
    CommandStatus.ESME_RINVSERTYP: "Invalid service type",
    CommandStatus.ESME_RINVNUMDESTS: "Invalid number of destinations",
    CommandStatus.ESME_RINVDLNAME: "Invalid distribution list name",
    CommandStatus.ESME_RINVDESTFLAG: "Invalid destination flag (submit_multi)",
    CommandStatus.ESME_RINVSUBREP: "Invalid submit with replace request (replace_if_present_flag)",
    CommandStatus.ESME_RINVESMCLASS: "Invalid esm_class field data",
    CommandStatus.ESME_RCNTSUBDL: "Cannot submit to distribution list",
    CommandStatus.ESME_RSUBMITFAIL: "submit_sm or submit_multi failed",
    CommandStatus.ESME_RINVSRCTON: "Invalid source address TON",
    CommandStatus.ESME_RINVSRCNPI: "Invalid source address NPI",
    CommandStatus.ESME_RINVDSTTON: "Invalid destination address TON",
    CommandStatus.ESME_RINVDSTNPI: "Invalid destination address NPI",
    CommandStatus.ESME_RINVSYSTYP: "Invalid system_type field",
    CommandStatus.ESME_RINVREPFLAG: "Invalid replace_if_present flag",
    CommandStatus.ESME_RINVNUMMSGS: "Invalid number of messages",
    CommandStatus.ESME_RTHROTTLED: "Throttling error (ESME has exceeded allowed message limits)",
    CommandStatus.ESME_RINVSCHED: "Invalid scheduled delivery time",
    CommandStatus.ESME_RINVEXPIRY: "Invalid message validity period (expiry time)",
    CommandStatus.ESME_RINVDFTMSGID: "Predefined message invalid or not found",
    CommandStatus.ESME_RX_T_APPN: "ESME receiver temporary application error",
    CommandStatus.ESME_RX_P_APPN: "ESME receiver permanent application error",
    CommandStatus.ESME_RX_R_APPN: "ESME receiver reject message error",
    CommandStatus.ESME_RQUERYFAIL: "query_sm request failed",
    CommandStatus.ESME_RINVOPTPARSTREAM: "Error in the optional part of the PDU body",
    CommandStatus.ESME_ROPTPARNOTALLWD: "Optional parameter not allowed",
    CommandStatus.ESME_RINVPARLEN: "Invalid parameter length",
    CommandStatus.ESME_RMISSINGOPTPARAM: "Expected optional parameter missing",
    CommandStatus.ESME_RINVOPTPARAMVAL: "Invalid optional parameter value",
    CommandStatus.ESME_RDELIVERYFAILURE: "Delivery failure (used for data_sm_resp)",
    CommandStatus.ESME_RUNKNOWNERR: "Unknown error",
}


def status_name(code: int) -> str:
    """ "ESME_RTHROTTLED" for 0x58; the code as "0x00000401" when SMPP 3.4 does not name it."""
    return STATUS_NAMES.get(code) or f"0x{code:08X}"


def status_description(code: int) -> str:
    """Human text for any command_status, including vendor and reserved codes."""
    known = _STATUS_DESCRIPTIONS.get(code)
    if known is not None:
        return known
    if code in VENDOR_STATUS_RANGE:
        return f"SMSC vendor-specific error 0x{code:08X} (see the provider's documentation)"
    return f"Reserved or unknown error 0x{code:08X}"


class DataCoding:
    """SMPP 3.4 §5.2.19 data_coding values (any other byte is kept as a number)."""

    SMSC_DEFAULT: Final = 0x00
    IA5: Final = 0x01
    OCTET_UNSPECIFIED_2: Final = 0x02
    LATIN1: Final = 0x03
    BINARY: Final = 0x04
    JIS: Final = 0x05
    CYRILLIC: Final = 0x06
    LATIN_HEBREW: Final = 0x07
    UCS2: Final = 0x08
    PICTOGRAM: Final = 0x09
    ISO_2022_JP: Final = 0x0A
    EXTENDED_KANJI: Final = 0x0D
    KS_C_5601: Final = 0x0E


# SMPP 3.4 §5.2.12 esm_class.
ESM_MODE_MASK: Final = 0x03
ESM_MODE_DEFAULT: Final = 0x00
ESM_MODE_DATAGRAM: Final = 0x01
ESM_MODE_FORWARD: Final = 0x02
ESM_MODE_STORE_AND_FORWARD: Final = 0x03
ESM_TYPE_MASK: Final = 0x3C
ESM_DELIVERY_RECEIPT: Final = 0x04
ESM_DELIVERY_ACK: Final = 0x08
ESM_MANUAL_ACK: Final = 0x10
ESM_CONVERSATION_ABORT: Final = 0x18
ESM_INTERMEDIATE_NOTIFICATION: Final = 0x20
ESM_UDHI: Final = 0x40
ESM_REPLY_PATH: Final = 0x80

# SMPP 3.4 §5.2.17 registered_delivery: SMSC delivery receipt bits.
REGISTERED_DELIVERY_NONE: Final = 0x00
REGISTERED_DELIVERY_FINAL: Final = 0x01
REGISTERED_DELIVERY_FAILURE: Final = 0x02


class Ton:
    """SMPP 3.4 §5.2.5 type of number."""

    UNKNOWN: Final = 0x00
    INTERNATIONAL: Final = 0x01
    NATIONAL: Final = 0x02
    NETWORK_SPECIFIC: Final = 0x03
    SUBSCRIBER_NUMBER: Final = 0x04
    ALPHANUMERIC: Final = 0x05
    ABBREVIATED: Final = 0x06


class Npi:
    """SMPP 3.4 §5.2.6 numbering plan indicator."""

    UNKNOWN: Final = 0x00
    ISDN: Final = 0x01
    DATA: Final = 0x03
    TELEX: Final = 0x04
    LAND_MOBILE: Final = 0x06
    NATIONAL: Final = 0x08
    PRIVATE: Final = 0x09
    ERMES: Final = 0x0A
    INTERNET: Final = 0x0E
    WAP_CLIENT_ID: Final = 0x12


class DestFlag:
    """SMPP 3.4 §5.2.25 dest_flag of a submit_multi destination."""

    SME_ADDRESS: Final = 0x01
    DISTRIBUTION_LIST: Final = 0x02


class MessageState:
    """SMPP 3.4 §5.2.28 message_state (query_sm_resp, the message_state TLV). SCHEDULED (0) and
    SKIPPED (9) come from SMPP 5.0; SMSCs send them on 3.4 binds too."""

    SCHEDULED: Final = 0
    ENROUTE: Final = 1
    DELIVERED: Final = 2
    EXPIRED: Final = 3
    DELETED: Final = 4
    UNDELIVERABLE: Final = 5
    ACCEPTED: Final = 6
    UNKNOWN: Final = 7
    REJECTED: Final = 8
    SKIPPED: Final = 9
