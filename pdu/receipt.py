"""SMSC delivery receipts: the SMPP 3.4 Appendix B text and the receipt TLVs.

The Devino chapter gives no receipt format (specs/devino-smpp-http-soap.md §1.6), so both the
standard text and the receipted_message_id / message_state / network_error_code TLVs are read,
TLVs first. Receipt texts differ between SMSCs (key case, 10- or 12-digit dates, hex or
alphanumeric err codes, missing fields), and a receipt that cannot be read must never end a
session (specs/smpp-anchors.md §1.7 #11): the parser is lenient and never raises.

Every deliver_sm receipt goes through here, so the text is read in two tiers: the layout of
Appendix B as written (lower-case keys one space apart, which most SMSCs send) in one anchored
match, anything else by the lenient scanner. Both give the same fields for the standard layout
(tests/pdu compare them); the scanner is the definition of what a receipt text says.

`receipt_outcome_from_pdu` reads the same PDU for a caller that records only what became of
the message: the id, state, err and text of `receipt_from_pdu`, without the dates, sub and
dlvrd, whose reading was a third of the work. For the Appendix B layout it is
`pdu.receipt_frame.standard_receipt_outcome`, which the daemon also runs on a receipt's frame
without decoding the PDU (pdu/receipt_frame.py); this module reads the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pdu.fast_tuple import new_record
from pdu.pdus import DataSm, ShortMessagePdu
from pdu.receipt_frame import MESSAGE_STATE_BY_STAT as MESSAGE_STATE_BY_STAT
from pdu.receipt_frame import STAT_BY_MESSAGE_STATE as STAT_BY_MESSAGE_STATE
from pdu.receipt_frame import ReceiptOutcome as ReceiptOutcome
from pdu.receipt_frame import is_receipt as is_receipt
from pdu.receipt_frame import (
    message_state,
    receipt_state,
    receipted_message_id,
    standard_receipt_outcome,
    state_word,
)
from pdu.text import decode_text
from pdu.tlv import Tag

# Appendix B as written: lower-case keys one space apart, values of printable ASCII, 10- or
# 12-digit dates (captured as YYMMDD and hhmm[ss]), "text" or "Text" last. Every value but the
# text is a single word, so no key can hide inside one: the scanner would cut this text at the
# same places. ([!-~] rather than \S, and the possessive *+ and ?+ that give nothing back,
# spare the regex engine a Unicode lookup per character and its backtracking bookkeeping.)
_APPENDIX_B: Final = re.compile(
    r"id:([!-~]*+) sub:([!-~]*+) dlvrd:([!-~]*+)"
    r" submit date:([0-9]{6})([0-9]{4}(?:[0-9]{2})?+)"
    r" done date:([0-9]{6})([0-9]{4}(?:[0-9]{2})?+)"
    r" stat:([!-~]*+) err:([!-~]*+) [Tt]ext:(.*)",
    re.DOTALL,
)
# The scanner's keys: a key starts the text or follows whitespace, in any case, and is followed
# by optional whitespace and ":"; "submit date" may also be written with "_" or nothing between
# the words. The pattern runs over the reversed text, where every key starts with the ":" that
# the regex engine can jump to, rather than being tried at every position of the text.
_REVERSED_KEY: Final = re.compile(
    r"(:\s*+(?:di|bus|drvld|etad[ _]?timbus|etad[ _]?enod|tats|rre|txet))(?=\s|\Z)",
    re.IGNORECASE,
)


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


class _ReceiptDraft:
    """A Receipt being filled in: the same slots without the frozen __setattr__, so that the
    hot path sets them as plain attributes and then turns the object into the Receipt it is
    laid out as (Python allows a __class__ change between classes of the same layout). A frozen
    dataclass's own __init__ pays an object.__setattr__ call per field: twice the cost.

    While the text is being read, `state` holds the stat word as written."""

    __slots__ = Receipt.__slots__
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


def _blank_draft() -> _ReceiptDraft:
    """A draft with every field None (a receipt told by its TLVs alone)."""
    draft = _ReceiptDraft()
    for name in _ReceiptDraft.__slots__:
        setattr(draft, name, None)
    return draft


def _finished(draft: _ReceiptDraft) -> Receipt:
    """The Receipt a draft with every field set is laid out as."""
    receipt: Any = draft
    receipt.__class__ = Receipt
    return receipt  # type: ignore[no-any-return]


def parse_receipt_text(text: str | bytes) -> Receipt | None:
    """Read an Appendix B receipt text ("id:... sub:... dlvrd:... submit date:... done date:...
    stat:... err:... text:..."). Keys in any case and any order; "text:" runs to the end.
    Returns None when the text has neither an id nor a stat (not a receipt). Never raises.
    """
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    draft = _read_text(text)
    if draft is None:
        return None
    _settle_state_from_text(draft)
    return _finished(draft)


_RECEIPTED_MESSAGE_ID: Final = Tag.RECEIPTED_MESSAGE_ID
_MESSAGE_STATE: Final = Tag.MESSAGE_STATE
_NETWORK_ERROR_CODE: Final = Tag.NETWORK_ERROR_CODE
_MESSAGE_PAYLOAD: Final = Tag.MESSAGE_PAYLOAD


def _receipt_and_tlv_id(pdu: ShortMessagePdu | DataSm) -> tuple[bool, str | None]:
    """Whether the PDU counts as a receipt (its esm_class says so, or it has a
    receipted_message_id TLV), and that TLV's id."""
    raw_tlv_id = pdu.tlvs.get(_RECEIPTED_MESSAGE_ID)
    if raw_tlv_id is None:
        return is_receipt(pdu.esm_class), None
    return True, receipted_message_id(raw_tlv_id)


def receipt_from_pdu(pdu: ShortMessagePdu | DataSm) -> Receipt | None:
    """The receipt a deliver_sm or data_sm carries, or None when it is not a receipt (an MO
    message, or nothing receipt-like in it). A PDU counts as a receipt when its esm_class says
    so or it has a receipted_message_id TLV. The receipted_message_id, message_state and
    network_error_code TLVs win over the text; the text fills in the rest. Never raises.
    """
    is_receipt, tlv_id = _receipt_and_tlv_id(pdu)
    if not is_receipt:
        return None
    tlvs = pdu.tlvs
    body = _body(pdu)
    draft = _read_text(decode_text(body, pdu.data_coding)) if body else None
    tlv_state = message_state(tlvs.get(_MESSAGE_STATE))
    if draft is None:
        if tlv_id is None and tlv_state is None:
            return None
        draft = _blank_draft()
    if tlv_state is None:
        _settle_state_from_text(draft)
    else:
        draft.message_state = tlv_state
        draft.state = receipt_state(draft.state, tlv_state)
    if tlv_id is not None:
        draft.message_id = tlv_id
    draft.network_error_code = tlvs.get(_NETWORK_ERROR_CODE)
    return _finished(draft)


def receipt_outcome_from_pdu(pdu: ShortMessagePdu | DataSm) -> ReceiptOutcome | None:
    """The message_id, state, error and text that `receipt_from_pdu(pdu)` gives, without
    reading the rest; None when that gives None. Never raises."""
    body = _body(pdu)
    tlvs = pdu.tlvs
    standard = standard_receipt_outcome(pdu.esm_class, tlvs, body, pdu.data_coding)
    if standard is not None:
        return standard
    # not a receipt, or a text in another layout: the scanner's reading
    is_receipt, tlv_id = _receipt_and_tlv_id(pdu)
    if not is_receipt:
        return None
    tlv_state = message_state(tlvs.get(_MESSAGE_STATE))
    draft = _scanned_draft(decode_text(body, pdu.data_coding)) if body else None
    if draft is None:
        if tlv_id is None and tlv_state is None:
            return None
        message_id, stat, error, text = tlv_id, None, None, None
    else:
        message_id = draft.message_id if tlv_id is None else tlv_id
        stat, error, text = draft.state, draft.error, draft.text
    return new_record(ReceiptOutcome, (message_id, receipt_state(stat, tlv_state), error, text))


def _body(pdu: ShortMessagePdu | DataSm) -> bytes:
    """The receipt text's octets: short_message, else the message_payload TLV."""
    return (pdu.short_message if isinstance(pdu, ShortMessagePdu) else b"") or pdu.tlvs.get(
        _MESSAGE_PAYLOAD, b""
    )


def _settle_state_from_text(draft: _ReceiptDraft) -> None:
    """state and message_state from the stat word as written (no message_state TLV)."""
    state = draft.state = state_word(draft.state)
    draft.message_state = None if state is None else MESSAGE_STATE_BY_STAT.get(state)


def _read_text(text: str) -> _ReceiptDraft | None:
    """A draft of what a receipt text says, or None when the text has neither an id nor a stat
    key. Its state is the stat word as written (None when absent) and its message_state is not
    set yet: the callers settle both from the stat word or the TLVs."""
    standard = _APPENDIX_B.fullmatch(text)
    if standard is not None:
        (
            message_id,
            sub,
            dlvrd,
            submit_day,
            submit_time,
            done_day,
            done_time,
            stat,
            error,
            body,
        ) = standard.groups()
        draft = _ReceiptDraft()
        draft.message_id = message_id or None
        draft.state = stat or None
        draft.error = error or None
        draft.network_error_code = None
        # The dates as ISO 8601 basic format (20240131T1259), which datetime reads in C with
        # the range checks of its constructor.
        try:
            draft.submit_date = _from_iso(f"20{submit_day}T{submit_time}")
        except ValueError:
            draft.submit_date = None
        try:
            draft.done_date = _from_iso(f"20{done_day}T{done_time}")
        except ValueError:
            draft.done_date = None
        draft.sub = sub or None
        draft.dlvrd = dlvrd or None
        draft.text = body.lstrip().rstrip("\x00")
        return draft
    return _scanned_draft(text)


def _scanned_draft(text: str) -> _ReceiptDraft | None:
    """`_read_text` for a text that is not in the standard layout: the lenient scanner."""
    found = _scan(text)
    if "id" not in found and "stat" not in found:
        return None
    draft = _ReceiptDraft()
    draft.message_id = _token(found.get("id"))
    draft.state = _token(found.get("stat"))
    draft.error = _token(found.get("err"))
    draft.network_error_code = None
    draft.submit_date = _date(_token(found.get("submitdate")))
    draft.done_date = _date(_token(found.get("donedate")))
    draft.sub = _token(found.get("sub"))
    draft.dlvrd = _token(found.get("dlvrd"))
    draft.text = found.get("text")
    return draft


def _scan(text: str) -> dict[str, str]:
    """key (lower case, no space or "_") -> raw value; the first occurrence of a key wins, and
    "text" runs to the end of the receipt (keys inside it are text)."""
    # Split over the reversed text, `pieces` alternate (all reversed) value, key, value, ...,
    # key, what precedes the first key; each key as written with its ":".
    pieces = _REVERSED_KEY.split(text[::-1])
    found: dict[str, str] = {}
    for index in range(len(pieces) - 2, 0, -2):
        written = pieces[index]
        key = _KEY_BY_REVERSED_SPELLING.get(written.lower()) or _key(written)
        if key == "text":
            found["text"] = "".join(pieces[:index])[::-1].lstrip().rstrip("\x00")
            break
        if key not in found:
            found[key] = pieces[index - 1][::-1]
    return found


def _key(reversed_spelling: str) -> str:
    """The key of a reversed ":"-and-key as the scanner's pattern matched it."""
    return reversed_spelling[1:].lstrip()[::-1].lower().replace(" ", "").replace("_", "")


# The usual spellings of every key (any case, once lower-cased), read by _key once here and
# then looked up. Any other spelling (other whitespace, letters that fold oddly) goes to _key.
_KEY_SPELLINGS: Final = (
    *("id", "sub", "dlvrd", "stat", "err", "text"),
    *("submit date", "submit_date", "submitdate", "done date", "done_date", "donedate"),
)
_KEY_BY_REVERSED_SPELLING: Final[dict[str, str]] = {
    ":" + gap + spelling[::-1]: _key(":" + gap + spelling[::-1])
    for spelling in _KEY_SPELLINGS
    for gap in ("", " ")
}


def _token(value: str | None) -> str | None:
    """The first word of a field value, or None when it is empty."""
    if value is None:
        return None
    words = value.split(None, 1)
    return words[0] if words else None


_from_iso: Final = datetime.fromisoformat


def _date(word: str | None) -> datetime | None:
    """YYMMDDhhmm, YYMMDDhhmmss (years 2000-2099) or YYYYMMDDhhmmss; None when unreadable."""
    if not word or not word.isdecimal():
        return None
    size = len(word)
    if not word.isascii():  # other scripts' digits: their values, as ASCII
        word = f"{int(word):0{size}d}"
    if size == 10 or size == 12:
        iso = f"20{word[:6]}T{word[6:]}"
    elif size == 14:
        iso = f"{word[:8]}T{word[8:]}"
    else:
        return None
    try:
        return _from_iso(iso)
    except ValueError:
        return None
