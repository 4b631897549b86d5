"""Delivery receipts as an SMSC sends them: a deliver_sm with esm_class 0x04, the SMPP 3.4
Appendix B text and (optionally) the receipted_message_id / message_state /
network_error_code TLVs.

The seed says nothing about the receipt format (specs/devino-smpp-http-soap.md §1.6), so this
is the de-facto standard form most SMSCs send; dates are UTC.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Mapping
from typing import Final

from dispatcher.smsc_sim.wire import RECEIPT_FIELDS, SM_LENGTH_OCTETS, tlv, tlv_header
from pdu.constants import REGISTERED_DELIVERY_FAILURE
from pdu.receipt import MESSAGE_STATE_BY_STAT
from pdu.text import decode_text
from pdu.tlv import Tag

# The simulator's "err:" code per final state (GSM MAP-style numbers; 0 = no error). A failed
# state also gets a network_error_code TLV: type 3 (GSM) and the code in two octets.
ERROR_CODE_BY_STAT: Final[dict[str, int]] = {
    "DELIVRD": 0,
    "ACCEPTD": 0,
    "EXPIRED": 27,  # absent subscriber
    "DELETED": 0,
    "UNDELIV": 1,  # unknown subscriber
    "UNKNOWN": 0,
    "REJECTD": 11,  # teleservice not provisioned
}
FINAL_STATS: Final = frozenset(ERROR_CODE_BY_STAT)
_NETWORK_TYPE_GSM: Final = 3
# Appendix B: "text:" quotes the first 20 characters of the message.
_QUOTED_CHARACTERS: Final = 20
# Both dates of the receipt text: YYMMDDhhmm, UTC.
_DATE_FORMAT: Final = "%y%m%d%H%M"
_DATE_LENGTH: Final = 10


# The receipt of a message accepted while not recording (`SimConfig.record` off), made when the
# message is accepted (with the receipt settings of that moment), as nothing (cancel_sm,
# replace_sm) can change it later: (system_id, message_id, the body's octets before the done
# date and after it, as `receipt_around_done_date` writes them). A plain tuple: a NamedTuple
# of what the receipt needs took 0.8 µs to make, per message.
PlannedReceipt = tuple[str, str, bytes, bytes]


class StateChooser:
    """Draws each message's final state from a weighted mix, repeatably (seeded)."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def choose(self, mix: Mapping[str, float]) -> str:
        if len(mix) == 1:  # the usual all-DELIVRD mix, without the sum
            return next(iter(mix))
        total = sum(mix.values())
        if total <= 0:
            return next(iter(mix), "DELIVRD")
        draw = self._random.random() * total
        for stat, weight in mix.items():
            if draw < weight:
                return stat
            draw -= weight
        return stat


def check_state_mix(mix: Mapping[str, float]) -> None:
    """ValueError naming the problem, for a mix the simulator cannot draw from."""
    unknown = set(mix) - FINAL_STATS
    if unknown:
        raise ValueError(f"unknown receipt states {sorted(unknown)}; use {sorted(FINAL_STATS)}")
    if any(weight < 0 for weight in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError("receipt state weights must be non-negative and not all zero")


def receipt_wanted(registered_delivery: int, final_state: str) -> bool:
    """SMPP 3.4 §5.2.17: bits 0-1 = 01 always, 10 only on failure."""
    wanted = registered_delivery & 0x03
    if wanted == REGISTERED_DELIVERY_FAILURE:
        return final_state != "DELIVRD"
    return wanted == 0x01


def quoted_text(text_octets: bytes, data_coding: int) -> str:
    """What a receipt's "text:" quotes of a message's text octets (UDH removed)."""
    return decode_text(text_octets, data_coding)[:_QUOTED_CHARACTERS]


def _text_parts(state: str) -> tuple[bytes, bytes]:
    delivered = "001" if state == "DELIVRD" else "000"
    return (
        b" sub:001 dlvrd:%s submit date:" % delivered.encode(),
        b" stat:%s err:%03d text:" % (state.encode(), ERROR_CODE_BY_STAT.get(state, 0)),
    )


# The receipt text of a state around its id and dates: "id:" ID, then the first part, the
# submit date, " done date:", the done date and the second part, then the quoted text. Written
# once per state, as the f-string of every receipt took 2.5 % of the simulator's CPU.
_TEXT_PARTS: Final = {state: _text_parts(state) for state in MESSAGE_STATE_BY_STAT}
_ID: Final = b"id:"
_DONE_DATE: Final = b" done date:"
# The octets of a state's text but its id and quoted text
_TEXT_LENGTH: Final = {
    state: len(_ID) + len(middle) + _DATE_LENGTH + len(_DONE_DATE) + _DATE_LENGTH + len(tail)
    for state, (middle, tail) in _TEXT_PARTS.items()
}


def _state_tlvs(state: str) -> bytes:
    tlvs = tlv(Tag.MESSAGE_STATE, bytes((MESSAGE_STATE_BY_STAT[state],)))
    error = ERROR_CODE_BY_STAT.get(state, 0)
    if error:
        tlvs += tlv(Tag.NETWORK_ERROR_CODE, bytes((_NETWORK_TYPE_GSM,)) + error.to_bytes(2, "big"))
    return tlvs


# message_state and, for a failed state, network_error_code: the same octets for every receipt
# of a state, so written once (for every state pdu.receipt knows, as a test may ask for any)
_STATE_TLVS: Final = {state: _state_tlvs(state) for state in MESSAGE_STATE_BY_STAT}
# receipted_message_id's tag and length for each length of an id and its NUL up to SMPP's 65
# octets, written once (a longer id, from a wide hex_id_width, has its header made per receipt)
_RECEIPTED_ID_HEADERS: Final = {
    length: tlv_header(Tag.RECEIPTED_MESSAGE_ID, length) for length in range(1, 66)
}


def build_receipt(
    source: bytes,
    destination: bytes,
    receipt_id: str,
    state: str,
    submit_date: bytes,
    done_date: bytes,
    quoted: str,
    with_tlvs: bool,
) -> bytes:
    """The body of the receipt deliver_sm: from the handset (the original destination, whose
    address octets are `source`) to the sender (`destination`), data_coding 0, with the
    Appendix B text and, `with_tlvs`, receipted_message_id, message_state and (for a failed
    state) network_error_code. The dates as `receipt_date` writes them."""
    before, after = receipt_around_done_date(
        source, destination, receipt_id, state, submit_date, quoted, with_tlvs
    )
    return before + done_date + after


def receipt_around_done_date(
    source: bytes,
    destination: bytes,
    receipt_id: str,
    state: str,
    submit_date: bytes,
    quoted: str,
    with_tlvs: bool,
) -> tuple[bytes, bytes]:
    """`build_receipt`'s octets before the done date and after it, for a receipt made before
    it is due: the done date is the only part not known yet, and always 10 characters."""
    middle, tail = _TEXT_PARTS[state]
    id_octets = receipt_id.encode("ascii")
    # Quoted text outside ASCII becomes "?": receipts travel as plain ASCII.
    quoted_octets = quoted.encode("ascii", "replace")
    sm_length = _TEXT_LENGTH[state] + len(id_octets) + len(quoted_octets)
    # Each half in one join, its pieces written out (wire.py's RECEIPT_FIELDS says the
    # layout): helper calls and the pieces they joined took a third of this function's time.
    before = b"".join(
        (b"\x00", source, destination, RECEIPT_FIELDS, SM_LENGTH_OCTETS[sm_length],
         _ID, id_octets, middle, submit_date, _DONE_DATE)
    )  # fmt: skip
    if not with_tlvs:
        return before, tail + quoted_octets
    id_length = len(id_octets) + 1
    receipted = _RECEIPTED_ID_HEADERS.get(id_length) or tlv_header(
        Tag.RECEIPTED_MESSAGE_ID, id_length
    )
    return before, b"".join(
        (tail, quoted_octets, receipted, id_octets, b"\x00", _STATE_TLVS[state])
    )


@functools.lru_cache(maxsize=4)
def _receipt_minute(unix_minute: int) -> bytes:
    return time.strftime(_DATE_FORMAT, time.gmtime(unix_minute * 60)).encode("ascii")


def receipt_date(unix_time: float) -> bytes:
    """A receipt's "submit date:" / "done date:" (YYMMDDhhmm, UTC) of a Unix time, as the
    octets of the receipt text."""
    # every receipt formats two dates; they change once a minute (cached: 5 % of the
    # simulator's CPU under the daemon benchmark)
    return _receipt_minute(int(unix_time // 60))
