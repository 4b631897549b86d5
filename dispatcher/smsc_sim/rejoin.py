"""Re-joining accepted submits into whole messages, checking each part as a handset would.

A part is checked for (violations go to `Recording.violations`):
- fitting one SMS over the air (sms_size: 140 octets, or 160 septets for unpacked GSM);
- a 6-octet UDH (seed 004_80a28bca441860d4.txt L2951: "UDH-заголовок должен занимать 6 байт");
- consistent concatenation fields: the same total in every part of a set, each index once.
Parts are grouped by (system_id, source, destination, reference): seed L2955-2957 says the
parts of one message must go through one system_id to be joined.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from dispatcher.smsc_sim.records import Recording
from dispatcher.smsc_sim.sms_size import air_size
from pdu.constants import ESM_UDHI
from pdu.pdus import DataSm, SubmitSm
from pdu.reassembly import IEI_CONCAT_8BIT, IEI_CONCAT_16BIT, concat_info, split_udh
from pdu.text import decode_text
from pdu.tlv import Tag

# seed 004_80a28bca441860d4.txt L2951: the UDH must take 6 bytes.
DEVINO_UDH_OCTETS: Final = 6

SetKey = tuple[str, str, str, int]


# A submit_multi is re-joined per destination, as the SubmitSm it amounts to for each.
Submitted = SubmitSm | DataSm


def text_octets(pdu: Submitted) -> bytes:
    """A submit's user data without its UDH: short_message, or message_payload when empty."""
    octets = (pdu.short_message if isinstance(pdu, SubmitSm) else b"") or pdu.tlvs.get(
        Tag.MESSAGE_PAYLOAD, b""
    )
    return split_udh(octets)[1] if pdu.esm_class & ESM_UDHI else octets


@dataclass(slots=True)
class _PartSet:
    total: int
    data_coding: int
    parts: dict[int, bytes] = field(default_factory=dict)


class Rejoiner:
    def __init__(self, recording: Recording) -> None:
        self._recording = recording
        self._sets: dict[SetKey, _PartSet] = {}

    def incomplete(self) -> int:
        """Sets still waiting for parts."""
        return len(self._sets)

    def add(self, system_id: str, source: str, destination: str, pdu: Submitted) -> None:
        """One accepted submit_sm / data_sm (or one destination of a submit_multi)."""
        short_message = pdu.short_message if isinstance(pdu, SubmitSm) else b""
        label = f"part to {destination}"
        data_coding = pdu.data_coding
        self._check_size(short_message, pdu.esm_class, data_coding, label)
        info = concat_info(pdu)
        if info is None:
            if self._has_concat_fields(pdu):
                self._violation(f"{label}: inconsistent concatenation fields (total/index)")
            text = decode_text(text_octets(pdu), data_coding)
            self._recording.add_message(source, destination, text, 1)
            return
        reference, total, index, payload = info
        if pdu.esm_class & ESM_UDHI:
            udh_octets = len(short_message) - len(payload)
            if udh_octets != DEVINO_UDH_OCTETS:
                self._violation(f"{label}: UDH of {udh_octets} octets, seed 004 L2951 requires 6")
        key = (system_id, source, destination, reference)
        part_set = self._sets.get(key)
        if part_set is None:
            part_set = self._sets[key] = _PartSet(total, data_coding)
        if total != part_set.total:
            self._violation(
                f"{label}: ref {reference} part {index} says {total} parts, "
                f"an earlier part said {part_set.total}"
            )
            return
        if index in part_set.parts:
            self._violation(f"{label}: ref {reference} part {index} of {total} sent twice")
            return
        if data_coding != part_set.data_coding:
            self._violation(f"{label}: ref {reference} parts mix data_coding values")
        part_set.parts[index] = payload
        if len(part_set.parts) == total:
            del self._sets[key]
            joined = b"".join(part_set.parts[i] for i in range(1, total + 1))
            text = decode_text(joined, part_set.data_coding)
            self._recording.add_message(source, destination, text, total)

    def _check_size(
        self, short_message: bytes, esm_class: int, data_coding: int, label: str
    ) -> None:
        udh, text = split_udh(short_message) if esm_class & ESM_UDHI else (b"", short_message)
        size = air_size(len(udh), text, data_coding)
        if not size.fits:
            self._violation(
                f"{label}: {size.used} {size.unit}, more than one SMS carries ({size.limit})"
            )

    @staticmethod
    def _has_concat_fields(pdu: Submitted) -> bool:
        """Whether the part carries SAR TLVs or a concatenation IE (which concat_info refused)."""
        if Tag.SAR_MSG_REF_NUM in pdu.tlvs:
            return True
        if not pdu.esm_class & ESM_UDHI:
            return False
        header = split_udh(pdu.short_message if isinstance(pdu, SubmitSm) else b"")[0]
        position = 1
        while position + 2 <= len(header):
            if header[position] in (IEI_CONCAT_8BIT, IEI_CONCAT_16BIT):
                return True
            position += 2 + header[position + 1]
        return False

    def _violation(self, text: str) -> None:
        self._recording.violations.append(text)
