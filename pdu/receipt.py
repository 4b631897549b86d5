"""SMSC delivery receipts: the SMPP 3.4 Appendix B text and the receipt TLVs.

The Devino chapter gives no receipt format (specs/devino-smpp-http-soap.md §1.6), so both the
standard text and the receipted_message_id / message_state / network_error_code TLVs are read,
TLVs first. Receipt texts differ between SMSCs (key case, 10- or 12-digit dates, hex or
alphanumeric err codes, missing fields), and a receipt that cannot be read must never end a
session (specs/smpp-anchors.md §1.7 #11): the parser is lenient and never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from pdu.constants import (
    ESM_DELIVERY_RECEIPT,
    ESM_INTERMEDIATE_NOTIFICATION,
    ESM_TYPE_MASK,
    MessageState,
)
from pdu.pdus import DataSm, ShortMessagePdu
from pdu.text import decode_text
from pdu.tlv import Tag, get_cstring, get_int

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

# A key starts the text or follows whitespace; "submit date" may also be written with "_" or
# nothing between the words.
_KEY: Final = re.compile(
    r"(?:^|(?<=\s))(id|sub|dlvrd|submit[ _]?date|done[ _]?date|stat|err|text)\s*:\s*",
    re.IGNORECASE,
)
_DIGITS: Final = re.compile(r"\d{10}|\d{12}|\d{14}")


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a receipt said; a field the SMSC left out is None.

    state is the upper-case stat word (DELIVRD, UNDELIV, ...; long forms such as DELIVERED are
    shortened, unknown words kept); message_state its §5.2.28 number. error is the err field as
    written (it may be hex or alphanumeric: "0A1"). Dates are naive: receipts carry no zone.
    """

    message_id: str | None
    state: str | None
    message_state: int | None
    error: str | None
    network_error_code: bytes | None
    submit_date: datetime | None
    done_date: datetime | None
    sub: str | None
    dlvrd: str | None
    text: str | None


def is_receipt(esm_class: int) -> bool:
    """True for an SMSC delivery receipt or an intermediate delivery notification (SMPP 3.4
    §5.2.12, esm_class bits 5-2 of a deliver_sm or data_sm)."""
    return esm_class & ESM_TYPE_MASK in (ESM_DELIVERY_RECEIPT, ESM_INTERMEDIATE_NOTIFICATION)


def parse_receipt_text(text: str | bytes) -> Receipt | None:
    """Read an Appendix B receipt text ("id:... sub:... dlvrd:... submit date:... done date:...
    stat:... err:... text:..."). Keys in any case and any order; "text:" runs to the end.
    Returns None when the text has neither an id nor a stat (not a receipt). Never raises.
    """
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    fields = _fields(text)
    if "id" not in fields and "stat" not in fields:
        return None
    state = _state_word(fields.get("stat"))
    return Receipt(
        message_id=_token(fields.get("id")),
        state=state,
        message_state=None if state is None else MESSAGE_STATE_BY_STAT.get(state),
        error=_token(fields.get("err")),
        network_error_code=None,
        submit_date=_date(fields.get("submitdate")),
        done_date=_date(fields.get("donedate")),
        sub=_token(fields.get("sub")),
        dlvrd=_token(fields.get("dlvrd")),
        text=fields.get("text"),
    )


def receipt_from_pdu(pdu: ShortMessagePdu | DataSm) -> Receipt | None:
    """The receipt a deliver_sm or data_sm carries, or None when it is not a receipt (an MO
    message, or nothing receipt-like in it). A PDU counts as a receipt when its esm_class says
    so or it has a receipted_message_id TLV. The receipted_message_id, message_state and
    network_error_code TLVs win over the text; the text fills in the rest. Never raises.
    """
    raw_tlv_id = get_cstring(pdu.tlvs, Tag.RECEIPTED_MESSAGE_ID)
    if not is_receipt(pdu.esm_class) and raw_tlv_id is None:
        return None
    tlv_id = (raw_tlv_id or "").strip() or None
    short_message = pdu.short_message if isinstance(pdu, ShortMessagePdu) else b""
    body = short_message or pdu.tlvs.get(Tag.MESSAGE_PAYLOAD, b"")
    from_text = parse_receipt_text(decode_text(body, pdu.data_coding)) if body else None
    tlv_state = get_int(pdu.tlvs, Tag.MESSAGE_STATE)
    network_error_code = pdu.tlvs.get(Tag.NETWORK_ERROR_CODE)
    if from_text is None:
        if tlv_id is None and tlv_state is None:
            return None
        from_text = Receipt(None, None, None, None, None, None, None, None, None, None)
    state, message_state = from_text.state, from_text.message_state
    if tlv_state is not None:
        message_state = tlv_state
        state = STAT_BY_MESSAGE_STATE.get(tlv_state, state)
    return Receipt(
        message_id=tlv_id or from_text.message_id,
        state=state,
        message_state=message_state,
        error=from_text.error,
        network_error_code=network_error_code,
        submit_date=from_text.submit_date,
        done_date=from_text.done_date,
        sub=from_text.sub,
        dlvrd=from_text.dlvrd,
        text=from_text.text,
    )


def _fields(text: str) -> dict[str, str]:
    """key (lower case, no space or "_") -> raw value; the first occurrence of a key wins."""
    fields: dict[str, str] = {}
    matches = list(_KEY.finditer(text))
    for position, match in enumerate(matches):
        key = match.group(1).lower().replace(" ", "").replace("_", "")
        if key == "text":
            fields.setdefault(key, text[match.end() :].rstrip("\x00"))
            break
        end = matches[position + 1].start() if position + 1 < len(matches) else len(text)
        fields.setdefault(key, text[match.end() : end])
    return fields


def _token(value: str | None) -> str | None:
    """The first word of a field value, or None when it is empty."""
    if value is None:
        return None
    words = value.split(None, 1)
    return words[0] if words else None


def _state_word(value: str | None) -> str | None:
    word = _token(value)
    if word is None:
        return None
    word = word.upper()
    return _STAT_ALIASES.get(word, word)


def _date(value: str | None) -> datetime | None:
    """YYMMDDhhmm, YYMMDDhhmmss (years 2000-2099) or YYYYMMDDhhmmss; None when unreadable."""
    word = _token(value)
    if word is None or _DIGITS.fullmatch(word) is None:
        return None
    if len(word) == 14:
        year, rest = int(word[:4]), word[4:]
    else:
        year, rest = 2000 + int(word[:2]), word[2:]
    second = int(rest[8:10]) if len(rest) >= 10 else 0
    try:
        return datetime(
            year, int(rest[0:2]), int(rest[2:4]), int(rest[4:6]), int(rest[6:8]), second
        )
    except ValueError:
        return None
