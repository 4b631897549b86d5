"""The receipt reader as first written (one key regex over the text, field by field), kept as
the oracle that pdu.receipt's faster two-tier reader must agree with on every input.

Only the reading is here; it builds pdu.receipt.Receipt values so results compare directly.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from pdu.constants import ESM_DELIVERY_RECEIPT, ESM_INTERMEDIATE_NOTIFICATION, ESM_TYPE_MASK
from pdu.pdus import DataSm, ShortMessagePdu
from pdu.receipt import MESSAGE_STATE_BY_STAT, STAT_BY_MESSAGE_STATE, Receipt
from pdu.text import decode_text
from pdu.tlv import Tag, get_cstring, get_int

_STAT_ALIASES: Final[dict[str, str]] = {
    "DELIVERED": "DELIVRD",
    "UNDELIVERABLE": "UNDELIV",
    "ACCEPTED": "ACCEPTD",
    "REJECTED": "REJECTD",
}
_KEY: Final = re.compile(
    r"(?:^|(?<=\s))(id|sub|dlvrd|submit[ _]?date|done[ _]?date|stat|err|text)\s*:\s*",
    re.IGNORECASE,
)
_DIGITS: Final = re.compile(r"\d{10}|\d{12}|\d{14}")


def parse_receipt_text(text: str | bytes) -> Receipt | None:
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
        submit_date=date(fields.get("submitdate")),
        done_date=date(fields.get("donedate")),
        sub=_token(fields.get("sub")),
        dlvrd=_token(fields.get("dlvrd")),
        text=fields.get("text"),
    )


def receipt_from_pdu(pdu: ShortMessagePdu | DataSm) -> Receipt | None:
    raw_tlv_id = get_cstring(pdu.tlvs, Tag.RECEIPTED_MESSAGE_ID)
    is_receipt = pdu.esm_class & ESM_TYPE_MASK in (
        ESM_DELIVERY_RECEIPT,
        ESM_INTERMEDIATE_NOTIFICATION,
    )
    if not is_receipt and raw_tlv_id is None:
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


def date(value: str | None) -> datetime | None:
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
