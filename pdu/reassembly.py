"""Joining the parts of a multipart MO message (a deliver_sm or data_sm that is not a receipt).

`concat_info` reads a part's reference, total and index from its UDH (IEI 0x00, 8-bit reference,
or IEI 0x08, 16-bit reference, wherever it sits among other IEs) or from the SAR TLVs.
`Reassembler` collects parts until a set is complete; the I/O layer supplies the clock and calls
`expire()` now and then so that sets whose last part never comes do not stay in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Final

from pdu.constants import ESM_UDHI
from pdu.pdus import DataSm, ShortMessagePdu
from pdu.text import decode_text
from pdu.tlv import Tag, get_int

IEI_CONCAT_8BIT: Final = 0x00
IEI_CONCAT_16BIT: Final = 0x08

# A cap on incomplete sets held at once, so that an SMSC (or a handset) sending first parts
# forever cannot grow memory without bound; the oldest set is dropped first.
DEFAULT_MAX_PENDING_SETS: Final = 100_000


def split_udh(data: bytes) -> tuple[bytes, bytes]:
    """(user data header including its length octet, the rest) of a UDHI message. A header whose
    length runs past the data is not a header: the result is then (b"", data)."""
    if not data or data[0] + 1 > len(data):
        return b"", data
    end = data[0] + 1
    return data[:end], data[end:]


def concat_info(pdu: ShortMessagePdu | DataSm) -> tuple[int, int, int, bytes] | None:
    """(reference, total, index, payload without the UDH) of one part, or None when the PDU is
    not a part of a multipart message or its concatenation fields are inconsistent (total 0,
    index 0 or past total): the caller then treats it as a whole message.

    The UDH (when esm_class has UDHI) wins over SAR TLVs; the payload is short_message, or the
    message_payload TLV when short_message is empty (data_sm has no short_message), without its
    UDH. For a UDHI message that is not a part, `split_udh` separates header and text.
    """
    short_message = pdu.short_message if isinstance(pdu, ShortMessagePdu) else b""
    data = short_message or pdu.tlvs.get(Tag.MESSAGE_PAYLOAD, b"")
    payload = data
    if pdu.esm_class & ESM_UDHI:
        header, payload = split_udh(data)
        found = _concat_from_udh(header)
        if found is not None:
            reference, total, index = found
            return _checked(reference, total, index, payload)
    reference_tlv = get_int(pdu.tlvs, Tag.SAR_MSG_REF_NUM)
    total_tlv = get_int(pdu.tlvs, Tag.SAR_TOTAL_SEGMENTS)
    index_tlv = get_int(pdu.tlvs, Tag.SAR_SEGMENT_SEQNUM)
    if reference_tlv is None or total_tlv is None or index_tlv is None:
        return None
    return _checked(reference_tlv, total_tlv, index_tlv, payload)


def _concat_from_udh(header: bytes) -> tuple[int, int, int] | None:
    """Walk the information elements (IEI, length, value) after the UDHL octet."""
    position, end = 1, len(header)
    while position + 2 <= end:
        iei, length = header[position], header[position + 1]
        value = header[position + 2 : position + 2 + length]
        if len(value) < length:
            return None
        if iei == IEI_CONCAT_8BIT and length == 3:
            return value[0], value[1], value[2]
        if iei == IEI_CONCAT_16BIT and length == 4:
            return (value[0] << 8) | value[1], value[2], value[3]
        position += 2 + length
    return None


def _checked(
    reference: int, total: int, index: int, payload: bytes
) -> tuple[int, int, int, bytes] | None:
    if total < 1 or not 1 <= index <= total:
        return None
    return reference, total, index, payload


@dataclass(slots=True)
class _PendingSet:
    started: float
    parts: dict[int, tuple[bytes, int]] = field(default_factory=dict)


class Reassembler:
    """Collects parts by (key, reference, total) until all `total` indexes are in.

    `key` is the caller's scope for references, e.g. (system_id, source_addr, destination_addr):
    a reference is only unique per sender and recipient. A set is dropped by `expire()` once
    `ttl_seconds` have passed since its first part arrived. A repeated index keeps the first copy
    (SMSCs redeliver a part whose deliver_sm_resp they missed).
    """

    def __init__(
        self,
        ttl_seconds: float,
        now: Callable[[], float],
        *,
        max_pending_sets: int = DEFAULT_MAX_PENDING_SETS,
    ) -> None:
        self._ttl = ttl_seconds
        self._now = now
        self._max_pending = max_pending_sets
        # Insertion order is arrival order of first parts, so the oldest sets come first.
        self._sets: dict[tuple[Hashable, int, int], _PendingSet] = {}

    def __len__(self) -> int:
        """Incomplete sets held."""
        return len(self._sets)

    def add(
        self,
        key: Hashable,
        reference: int,
        total: int,
        index: int,
        text_bytes: bytes,
        data_coding: int,
    ) -> str | None:
        """Store one part; the whole text once its set is complete, else None.

        Raises ValueError when index is not within 1..total (`concat_info` never returns such a
        part).
        """
        if total < 1 or not 1 <= index <= total:
            raise ValueError(f"part index {index} is not within 1..{total}")
        if total == 1:
            return decode_text(text_bytes, data_coding)
        set_key = (key, reference, total)
        pending = self._sets.get(set_key)
        if pending is None:
            if len(self._sets) >= self._max_pending:
                del self._sets[next(iter(self._sets))]
            pending = self._sets[set_key] = _PendingSet(self._now())
        pending.parts.setdefault(index, (text_bytes, data_coding))
        if len(pending.parts) < total:
            return None
        del self._sets[set_key]
        return _join(pending.parts, total)

    def expire(self) -> int:
        """Drop the incomplete sets whose first part is older than the ttl; how many."""
        deadline = self._now() - self._ttl
        stale = []
        for set_key, pending in self._sets.items():
            if pending.started > deadline:
                break
            stale.append(set_key)
        for set_key in stale:
            del self._sets[set_key]
        return len(stale)


def _join(parts: dict[int, tuple[bytes, int]], total: int) -> str:
    ordered = [parts[index] for index in range(1, total + 1)]
    codings = {coding for _, coding in ordered}
    if len(codings) == 1:
        # Join the octets before decoding: a sender that cut a GSM escape pair or a UTF-16
        # surrogate pair across parts still reads right.
        return decode_text(b"".join(data for data, _ in ordered), codings.pop())
    return "".join(decode_text(data, coding) for data, coding in ordered)
