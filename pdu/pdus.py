"""SMPP 3.4 PDUs as plain dataclasses (specification §4), one class per command.

Field names are the specification's. Every class carries the header fields `sequence_number`
and `command_status`; `command_length` is derived by the encoder and never stored, and so is
every length or count field of the body (sm_length, number_of_dests, no_unsuccess).

C-octet strings are `str` decoded as latin-1, so any byte an SMSC sends round-trips unchanged.
`short_message` is `bytes`: its meaning depends on data_coding and the UDHI bit, which is the
text layer's business (pdu.text, pdu.segmentation), not the wire layer's.

PDUs that have an optional-parameter section keep it in `tlvs` (tag -> raw value, wire order,
unknown and vendor tags kept; a tag repeated on the wire keeps its last value). submit_sm_resp,
deliver_sm_resp and submit_multi_resp have a `tlvs` dict too although SMPP 3.4 gives them no
TLVs, because SMSCs do append them (SMPP 5.0 allows it); a message_id is never read past its
NUL. Trailing octets after the mandatory body of any other PDU are ignored.

Credentials are kept out of reprs (`repr=False`), so a PDU can be logged as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Final, TypeAlias, get_args

from pdu.constants import (
    INTERFACE_VERSION_34,
    RESP_BIT,
    CommandId,
    CommandStatus,
    DestFlag,
    command_name,
)


@dataclass(slots=True)
class BindRequest:
    """The three bind requests share this body (SMPP 3.4 §4.1.1, §4.1.3, §4.1.5).

    Longer system_id and password values than the specification's 16 and 9 octets are
    accepted: providers issue them.
    """

    command_id: ClassVar[int]
    system_id: str = ""
    password: str = field(default="", repr=False)
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION_34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""
    sequence_number: int = 0
    command_status: int = 0


@dataclass(slots=True)
class BindTransmitter(BindRequest):
    command_id: ClassVar[int] = CommandId.BIND_TRANSMITTER


@dataclass(slots=True)
class BindReceiver(BindRequest):
    command_id: ClassVar[int] = CommandId.BIND_RECEIVER


@dataclass(slots=True)
class BindTransceiver(BindRequest):
    command_id: ClassVar[int] = CommandId.BIND_TRANSCEIVER


@dataclass(slots=True)
class BindResponse:
    """The three bind responses: the SMSC's system_id and TLVs (sc_interface_version).

    An error response may come with an empty body; it then decodes with system_id "".
    """

    command_id: ClassVar[int]
    system_id: str = ""
    tlvs: dict[int, bytes] = field(default_factory=dict)
    sequence_number: int = 0
    command_status: int = 0


@dataclass(slots=True)
class BindTransmitterResp(BindResponse):
    command_id: ClassVar[int] = CommandId.BIND_TRANSMITTER_RESP


@dataclass(slots=True)
class BindReceiverResp(BindResponse):
    command_id: ClassVar[int] = CommandId.BIND_RECEIVER_RESP


@dataclass(slots=True)
class BindTransceiverResp(BindResponse):
    command_id: ClassVar[int] = CommandId.BIND_TRANSCEIVER_RESP


@dataclass(slots=True)
class Outbind:
    """SMPP 3.4 §4.1.7: the SMSC asks the ESME to bind as a receiver."""

    command_id: ClassVar[int] = CommandId.OUTBIND
    system_id: str = ""
    password: str = field(default="", repr=False)
    sequence_number: int = 0
    command_status: int = 0


@dataclass(slots=True)
class HeaderOnlyPdu:
    """PDUs whose body is empty: only the 16-octet header goes on the wire."""

    command_id: ClassVar[int]
    sequence_number: int = 0
    command_status: int = 0


@dataclass(slots=True)
class Unbind(HeaderOnlyPdu):
    command_id: ClassVar[int] = CommandId.UNBIND


@dataclass(slots=True)
class UnbindResp(HeaderOnlyPdu):
    command_id: ClassVar[int] = CommandId.UNBIND_RESP


@dataclass(slots=True)
class GenericNack(HeaderOnlyPdu):
    command_id: ClassVar[int] = CommandId.GENERIC_NACK


@dataclass(slots=True)
class EnquireLink(HeaderOnlyPdu):
    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK


@dataclass(slots=True)
class EnquireLinkResp(HeaderOnlyPdu):
    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK_RESP


@dataclass(slots=True)
class CancelSmResp(HeaderOnlyPdu):
    command_id: ClassVar[int] = CommandId.CANCEL_SM_RESP


@dataclass(slots=True)
class ReplaceSmResp(HeaderOnlyPdu):
    command_id: ClassVar[int] = CommandId.REPLACE_SM_RESP


@dataclass(slots=True)
class ShortMessagePdu:
    """submit_sm and deliver_sm share this body (SMPP 3.4 §4.4.1, §4.6.1)."""

    command_id: ClassVar[int]
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: dict[int, bytes] = field(default_factory=dict)
    sequence_number: int = 0
    command_status: int = 0


@dataclass(slots=True)
class SubmitSm(ShortMessagePdu):
    command_id: ClassVar[int] = CommandId.SUBMIT_SM


@dataclass(slots=True)
class DeliverSm(ShortMessagePdu):
    command_id: ClassVar[int] = CommandId.DELIVER_SM


@dataclass(slots=True)
class MessageIdResponse:
    """submit_sm_resp, deliver_sm_resp and data_sm_resp: a message_id and optional TLVs.

    An error response may come with an empty body (message_id "") or with a body; both decode.
    """

    command_id: ClassVar[int]
    message_id: str = ""
    tlvs: dict[int, bytes] = field(default_factory=dict)
    sequence_number: int = 0
    command_status: int = 0


@dataclass(slots=True)
class SubmitSmResp(MessageIdResponse):
    command_id: ClassVar[int] = CommandId.SUBMIT_SM_RESP


@dataclass(slots=True)
class DeliverSmResp(MessageIdResponse):
    command_id: ClassVar[int] = CommandId.DELIVER_SM_RESP


@dataclass(slots=True)
class DataSmResp(MessageIdResponse):
    command_id: ClassVar[int] = CommandId.DATA_SM_RESP


@dataclass(slots=True, frozen=True)
class DestAddress:
    """One destination of a submit_multi (SMPP 3.4 §4.5.1.1): an SME address (dest_flag 1,
    with ton/npi) or a distribution list name (dest_flag 2, ton/npi not sent)."""

    dest_flag: int
    ton: int
    npi: int
    address_or_dl_name: str

    @classmethod
    def sme(cls, ton: int, npi: int, address: str) -> DestAddress:
        return cls(DestFlag.SME_ADDRESS, ton, npi, address)

    @classmethod
    def distribution_list(cls, name: str) -> DestAddress:
        return cls(DestFlag.DISTRIBUTION_LIST, 0, 0, name)


@dataclass(slots=True)
class SubmitMulti:
    """SMPP 3.4 §4.5.1. number_of_dests and sm_length are derived when encoding."""

    command_id: ClassVar[int] = CommandId.SUBMIT_MULTI
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addresses: list[DestAddress] = field(default_factory=list)
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: dict[int, bytes] = field(default_factory=dict)
    sequence_number: int = 0
    command_status: int = 0


@dataclass(slots=True, frozen=True)
class UnsuccessSme:
    """A destination the SMSC refused in a submit_multi_resp (SMPP 3.4 §4.5.2.1)."""

    ton: int
    npi: int
    address: str
    error_status_code: int


@dataclass(slots=True)
class SubmitMultiResp:
    """SMPP 3.4 §4.5.2. no_unsuccess is derived when encoding."""

    command_id: ClassVar[int] = CommandId.SUBMIT_MULTI_RESP
    message_id: str = ""
    unsuccess_smes: list[UnsuccessSme] = field(default_factory=list)
    tlvs: dict[int, bytes] = field(default_factory=dict)
    sequence_number: int = 0
    command_status: int = 0


@dataclass(slots=True)
class DataSm:
    """SMPP 3.4 §4.7.1: the message itself travels in TLVs (message_payload)."""

    command_id: ClassVar[int] = CommandId.DATA_SM
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0
    tlvs: dict[int, bytes] = field(default_factory=dict)
    sequence_number: int = 0
    command_status: int = 0


@dataclass(slots=True)
class QuerySm:
    """SMPP 3.4 §4.8.1."""

    command_id: ClassVar[int] = CommandId.QUERY_SM
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    sequence_number: int = 0
    command_status: int = 0


@dataclass(slots=True)
class QuerySmResp:
    """SMPP 3.4 §4.8.2. final_date is "" while the message is not final."""

    command_id: ClassVar[int] = CommandId.QUERY_SM_RESP
    message_id: str = ""
    final_date: str = ""
    message_state: int = 0
    error_code: int = 0
    sequence_number: int = 0
    command_status: int = 0


@dataclass(slots=True)
class CancelSm:
    """SMPP 3.4 §4.9.1."""

    command_id: ClassVar[int] = CommandId.CANCEL_SM
    service_type: str = ""
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    sequence_number: int = 0
    command_status: int = 0


@dataclass(slots=True)
class ReplaceSm:
    """SMPP 3.4 §4.10.1. sm_length is derived when encoding."""

    command_id: ClassVar[int] = CommandId.REPLACE_SM
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    sequence_number: int = 0
    command_status: int = 0


@dataclass(slots=True)
class AlertNotification:
    """SMPP 3.4 §4.12.1 (optional TLV: ms_availability_status)."""

    command_id: ClassVar[int] = CommandId.ALERT_NOTIFICATION
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    esme_addr_ton: int = 0
    esme_addr_npi: int = 0
    esme_addr: str = ""
    tlvs: dict[int, bytes] = field(default_factory=dict)
    sequence_number: int = 0
    command_status: int = 0


@dataclass(slots=True)
class UnknownPdu:
    """A command id SMPP 3.4 does not define, kept with its raw body (re-encoded unchanged)."""

    command_id: int
    body: bytes = b""
    sequence_number: int = 0
    command_status: int = 0


KnownPdu: TypeAlias = (
    BindTransmitter
    | BindTransmitterResp
    | BindReceiver
    | BindReceiverResp
    | BindTransceiver
    | BindTransceiverResp
    | Outbind
    | Unbind
    | UnbindResp
    | GenericNack
    | EnquireLink
    | EnquireLinkResp
    | SubmitSm
    | SubmitSmResp
    | SubmitMulti
    | SubmitMultiResp
    | DeliverSm
    | DeliverSmResp
    | DataSm
    | DataSmResp
    | QuerySm
    | QuerySmResp
    | CancelSm
    | CancelSmResp
    | ReplaceSm
    | ReplaceSmResp
    | AlertNotification
)
"""Every PDU SMPP 3.4 defines: each class can be built with default fields."""

Pdu: TypeAlias = KnownPdu | UnknownPdu


# Read from the KnownPdu union itself, so the type and the table cannot list different classes.
PDU_CLASSES: Final[dict[int, type[KnownPdu]]] = {cls.command_id: cls for cls in get_args(KnownPdu)}
"""command_id -> class, for every command SMPP 3.4 defines."""

ResponsePdu: TypeAlias = (
    BindResponse | HeaderOnlyPdu | MessageIdResponse | SubmitMultiResp | QuerySmResp
)

_RESPONSE_CLASSES: Final[dict[int, type[ResponsePdu]]] = {
    CommandId.BIND_TRANSMITTER: BindTransmitterResp,
    CommandId.BIND_RECEIVER: BindReceiverResp,
    CommandId.BIND_TRANSCEIVER: BindTransceiverResp,
    CommandId.UNBIND: UnbindResp,
    CommandId.ENQUIRE_LINK: EnquireLinkResp,
    CommandId.SUBMIT_SM: SubmitSmResp,
    CommandId.SUBMIT_MULTI: SubmitMultiResp,
    CommandId.DELIVER_SM: DeliverSmResp,
    CommandId.DATA_SM: DataSmResp,
    CommandId.QUERY_SM: QuerySmResp,
    CommandId.CANCEL_SM: CancelSmResp,
    CommandId.REPLACE_SM: ReplaceSmResp,
}


def response_to(request: Pdu, command_status: int = CommandStatus.ESME_ROK) -> ResponsePdu:
    """The empty response that answers `request`, with its sequence_number: e.g. the
    deliver_sm_resp an ESME owes for every deliver_sm, or an enquire_link_resp.

    A command id outside SMPP 3.4 is answered by generic_nack (pass ESME_RINVCMDID).
    ValueError for what is never answered: a response, outbind, alert_notification.
    """
    command_id = request.command_id
    cls = _RESPONSE_CLASSES.get(command_id)
    if cls is None:
        if command_id & RESP_BIT or command_id in PDU_CLASSES:
            raise ValueError(f"{command_name(command_id)} has no response")
        cls = GenericNack
    response = cls()
    response.sequence_number = request.sequence_number
    response.command_status = command_status
    return response
