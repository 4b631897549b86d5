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

from dispatcher.smsc_sim.store import StoredMessage
from pdu.constants import ESM_DELIVERY_RECEIPT, REGISTERED_DELIVERY_FAILURE, DataCoding
from pdu.pdus import DeliverSm
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


class StateChooser:
    """Draws each message's final state from a weighted mix, repeatably (seeded)."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def choose(self, mix: Mapping[str, float]) -> str:
        total = sum(mix.values())
        if len(mix) == 1 or total <= 0:
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


def receipt_text(message: StoredMessage, receipt_id: str, state: str, done_wall: float) -> str:
    delivered = "001" if state == "DELIVRD" else "000"
    quoted = decode_text(message.short_message, message.data_coding)[:_QUOTED_CHARACTERS]
    return (
        f"id:{receipt_id} sub:001 dlvrd:{delivered} "
        f"submit date:{_smpp_receipt_date(message.submitted_wall)} "
        f"done date:{_smpp_receipt_date(done_wall)} "
        f"stat:{state} err:{ERROR_CODE_BY_STAT.get(state, 0):03d} text:{quoted}"
    )


def build_receipt(
    message: StoredMessage, receipt_id: str, state: str, done_wall: float, with_tlvs: bool
) -> DeliverSm:
    """The receipt deliver_sm: from the handset (the original destination) to the sender."""
    text = receipt_text(message, receipt_id, state, done_wall)
    tlvs: dict[int, bytes] = {}
    if with_tlvs:
        tlvs[Tag.RECEIPTED_MESSAGE_ID] = receipt_id.encode("latin-1") + b"\x00"
        tlvs[Tag.MESSAGE_STATE] = bytes((MESSAGE_STATE_BY_STAT[state],))
        error = ERROR_CODE_BY_STAT.get(state, 0)
        if error:
            tlvs[Tag.NETWORK_ERROR_CODE] = bytes((_NETWORK_TYPE_GSM,)) + error.to_bytes(2, "big")
    return DeliverSm(
        source_addr_ton=message.dest_addr_ton,
        source_addr_npi=message.dest_addr_npi,
        source_addr=message.destination_addr,
        dest_addr_ton=message.source_addr_ton,
        dest_addr_npi=message.source_addr_npi,
        destination_addr=message.source_addr,
        esm_class=ESM_DELIVERY_RECEIPT,
        data_coding=DataCoding.SMSC_DEFAULT,
        # Quoted text outside ASCII becomes "?": receipts travel as plain ASCII.
        short_message=text.encode("ascii", "replace"),
        tlvs=tlvs,
    )


@functools.lru_cache(maxsize=4)
def _smpp_receipt_minute(unix_minute: int) -> str:
    return time.strftime("%y%m%d%H%M", time.gmtime(unix_minute * 60))


def _smpp_receipt_date(unix_time: float) -> str:
    # every receipt formats two dates; they change once a minute (cached: 5 % of the
    # simulator's CPU under the daemon benchmark)
    return _smpp_receipt_minute(int(unix_time // 60))
