"""What became of a message, read from a delivery receipt in the usual form: the daemon's path.

Every message the daemon sends brings back a receipt: a deliver_sm whose text has the SMPP 3.4
Appendix B layout, often with the receipted_message_id and message_state TLVs. The general way
to read one, `pdu.codec.decode` and then `pdu.receipt.receipt_outcome_from_pdu`, builds a
DeliverSm of twenty fields (five of them decoded strings) to take four things from it, and
pdu/receipt.py cannot be compiled (setup.py says why). This module is compiled and reads those
four things straight from the frame: 9.3 -> 6.2 µs a receipt (the codec benchmark's receipt
and the simulator's, best of five rounds in one process; benchmarks/RESULTS.md, Codec).

It answers only for a receipt it reads exactly as the general way does: a deliver_sm that is a
receipt, with its text in the Appendix B layout. For any other frame, and for one `decode`
would refuse, it gives None and the caller goes the general way. That way calls
`standard_receipt_outcome` first too, so both give the same outcome for the same receipt by
construction; tests/pdu/test_receipt_frame.py compares them on every receipt of the parser's
tests.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from pdu.codec import decode_tlvs, u32_at
from pdu.constants import (
    ESM_DELIVERY_RECEIPT,
    ESM_INTERMEDIATE_NOTIFICATION,
    ESM_TYPE_MASK,
    HEADER_LENGTH,
    CommandId,
    MessageState,
)
from pdu.errors import PDUError
from pdu.fast_tuple import new_record
from pdu.text import decode_text
from pdu.tlv import Tag

# SMPP 3.4 §5.2.28 message_state <-> the Appendix B "stat" words. SCHEDULED and SKIPPED are the
# SMPP 5.0 states (0 and 9) that SMSCs also send on 3.4 binds.
MESSAGE_STATE_BY_STAT: Final[dict[str, int]] = {
    "SCHEDULED": MessageState.SCHEDULED,
    "ENROUTE": MessageState.ENROUTE,
    "DELIVRD": MessageState.DELIVERED,
    "EXPIRED": MessageState.EXPIRED,
    "DELETED": MessageState.DELETED,
    "UNDELIV": MessageState.UNDELIVERABLE,
    "ACCEPTD": MessageState.ACCEPTED,
    "UNKNOWN": MessageState.UNKNOWN,
    "REJECTD": MessageState.REJECTED,
    "SKIPPED": MessageState.SKIPPED,
}
STAT_BY_MESSAGE_STATE: Final[dict[int, str]] = {
    state: stat for stat, state in MESSAGE_STATE_BY_STAT.items()
}
# Long forms some SMSCs write instead of the 7-letter words.
_STAT_ALIASES: Final[dict[str, str]] = {
    "DELIVERED": "DELIVRD",
    "UNDELIVERABLE": "UNDELIV",
    "ACCEPTED": "ACCEPTD",
    "REJECTED": "REJECTD",
}

# Appendix B as written (lower-case keys one space apart, 10- or 12-digit dates, "text" or
# "Text" last), capturing only id, stat, err and text. It matches exactly the texts that
# pdu.receipt's full layout matches (tests/pdu hold them to it). [!-~] rather than \S, and the
# possessive *+ and ?+ that give nothing back, spare the regex engine a Unicode lookup per
# character and its backtracking bookkeeping.
APPENDIX_B_OUTCOME: Final = re.compile(
    r"id:([!-~]*+) sub:[!-~]*+ dlvrd:[!-~]*+"
    r" submit date:[0-9]{10}(?:[0-9]{2})?+"
    r" done date:[0-9]{10}(?:[0-9]{2})?+"
    r" stat:([!-~]*+) err:([!-~]*+) [Tt]ext:(.*)",
    re.DOTALL,
)

# A deliver_sm's mandatory fields after the header, as pdu.codec reads them: service_type,
# source (ton, npi, addr), destination (ton, npi, addr), esm_class (captured), protocol_id,
# priority_flag, schedule_delivery_time, validity_period, registered_delivery,
# replace_if_present_flag, data_coding (captured), sm_default_msg_id, sm_length (captured).
# Each C-octet string runs to its NUL and the one-octet fields behind it must be there: the
# frames this matches are the ones whose fields `decode` reads without an error.
_DELIVER_SM_FIELDS: Final = re.compile(
    rb"[^\0]*+\0..[^\0]*+\0..[^\0]*+\0(.)..[^\0]*+\0[^\0]*+\0..(.).(.)", re.DOTALL
)
_DELIVER_SM: Final = CommandId.DELIVER_SM
_RECEIPT_TYPES: Final = (ESM_DELIVERY_RECEIPT, ESM_INTERMEDIATE_NOTIFICATION)
_RECEIPTED_MESSAGE_ID: Final = Tag.RECEIPTED_MESSAGE_ID
_MESSAGE_STATE: Final = Tag.MESSAGE_STATE
_MESSAGE_PAYLOAD: Final = Tag.MESSAGE_PAYLOAD


class ReceiptOutcome(NamedTuple):
    """What a receipt says became of a message: the fields of its `pdu.receipt.Receipt` of the
    same names (a NamedTuple, built positionally: one per receipt the daemon reads)."""

    message_id: str | None
    state: str | None
    error: str | None
    text: str | None


def receipt_outcome_from_frame(frame: bytes) -> ReceiptOutcome | None:
    """`receipt_outcome_from_pdu(decode(frame))` for a deliver_sm receipt whose text has the
    Appendix B layout; None for any other frame (the caller decodes it). Never raises."""
    size = len(frame)
    if size < HEADER_LENGTH or u32_at(frame, 4) != _DELIVER_SM or u32_at(frame, 0) != size:
        return None
    fields = _DELIVER_SM_FIELDS.match(frame, HEADER_LENGTH)
    if fields is None:
        return None
    start = fields.end()
    end = start + frame[start - 1]  # sm_length
    if end > size:
        return None
    try:
        tlvs = decode_tlvs(frame, end)
    except PDUError:
        return None
    body = frame[start:end] or tlvs.get(_MESSAGE_PAYLOAD, b"")
    return standard_receipt_outcome(frame[fields.start(1)], tlvs, body, frame[start - 3])


def standard_receipt_outcome(
    esm_class: int, tlvs: dict[int, bytes], body: bytes, data_coding: int
) -> ReceiptOutcome | None:
    """The outcome of a receipt (its esm_class says so, or it has a receipted_message_id TLV)
    whose text, `body` in `data_coding`, has the Appendix B layout; None for anything else.
    The receipted_message_id and message_state TLVs win over the text."""
    raw_tlv_id = tlvs.get(_RECEIPTED_MESSAGE_ID)
    if (raw_tlv_id is None and not is_receipt(esm_class)) or not body:
        return None
    standard = APPENDIX_B_OUTCOME.fullmatch(decode_text(body, data_coding))
    if standard is None:
        return None
    message_id, stat, error, text = standard.groups()
    if raw_tlv_id is not None:
        message_id = receipted_message_id(raw_tlv_id) or message_id
    state = receipt_state(stat or None, message_state(tlvs.get(_MESSAGE_STATE)))
    return new_record(ReceiptOutcome, (
        message_id or None, state, error or None, text.lstrip().rstrip("\x00"),
    ))  # fmt: skip


def is_receipt(esm_class: int) -> bool:
    """True for an SMSC delivery receipt or an intermediate delivery notification (SMPP 3.4
    §5.2.12, esm_class bits 5-2 of a deliver_sm or data_sm)."""
    return esm_class & ESM_TYPE_MASK in _RECEIPT_TYPES


def receipted_message_id(raw: bytes) -> str | None:
    """The receipted_message_id TLV's id (a C-octet string; None when empty)."""
    return raw.split(b"\x00", 1)[0].decode("latin-1").strip() or None


def message_state(raw: bytes | None) -> int | None:
    """The message_state TLV's number; None when absent or wider than 8 octets."""
    if raw is None:
        return None
    if len(raw) == 1:  # as SMPP 3.4 §5.3.2.35 sizes it
        return raw[0]
    return int.from_bytes(raw, "big") if 1 <= len(raw) <= 8 else None


def receipt_state(stat: str | None, tlv_state: int | None) -> str | None:
    """The state a receipt reports: the message_state TLV's, when it is one the stat words
    name, else the text's stat word (`state_word`)."""
    if tlv_state is not None:
        word = STAT_BY_MESSAGE_STATE.get(tlv_state)
        if word is not None:
            return word
    return state_word(stat)


def state_word(word: str | None) -> str | None:
    """A stat word as the 7-letter Appendix B word (upper case, long forms shortened)."""
    if word is None:
        return None
    word = word.upper()
    return _STAT_ALIASES.get(word, word)
