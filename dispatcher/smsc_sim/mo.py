"""Mobile-originated messages as the SMSC delivers them: deliver_sm, split like a handset's.

Incoming SMS reach the ESME as deliver_sm on an rx or trx bind (seed
004_80a28bca441860d4.txt L6022-6025), told apart from receipts by esm_class.
"""

from __future__ import annotations

from typing import Final

from dispatcher.smsc_sim.sms_size import air_size
from pdu.constants import ESM_UDHI, DataCoding, Npi, Ton
from pdu.pdus import DeliverSm
from pdu.segmentation import split_text
from pdu.text import encode_text
from pdu.tlv import Tag

MO_METHODS: Final = frozenset({"udh", "udh16", "sar", "payload"})


def build_mo(
    source: str,
    destination: str,
    text: str,
    *,
    parts: int | None = None,
    method: str = "udh",
    coding: str = "auto",
    reference: int = 0,
) -> list[DeliverSm]:
    """The deliver_sm PDUs (sequence numbers unset) that carry `text`.

    With `parts` None the text is split as a handset would (pdu.segmentation); with `parts`
    given it is cut into exactly that many parts of whole characters, so a short text can
    still arrive as a multipart message. ValueError for an unknown method or coding, a text the
    coding cannot carry, or a forced part that would not fit one SMS.
    """
    if method not in MO_METHODS:
        raise ValueError(f"unknown MO split method {method!r}; use one of {sorted(MO_METHODS)}")
    if parts is None:
        return [
            _deliver_sm(source, destination, p.short_message, p.data_coding, p.esm_class,
                        dict(p.tlvs))
            for p in split_text(text, method=method, reference=reference, coding=coding)
        ]
    return _forced_parts(source, destination, text, parts, method, coding, reference)


def _forced_parts(
    source: str, destination: str, text: str, parts: int, method: str, coding: str, reference: int
) -> list[DeliverSm]:
    if not 1 <= parts <= 255 or parts > max(len(text), 1):
        raise ValueError(f"cannot cut {len(text)} characters into {parts} parts (1..255)")
    if method == "payload":
        raise ValueError("a message_payload MO is one PDU; do not force a part count")
    data_coding, _ = encode_text(text, coding)
    # Every part keeps the coding the whole text chose (a GSM part of a UCS-2 text would not
    # re-join into the same text on a handset).
    part_coding = "ucs2" if data_coding == DataCoding.UCS2 else coding
    step = -(-len(text) // parts)
    chunks = [text[i : i + step] for i in range(0, len(text), step)]
    if len(chunks) != parts:
        raise ValueError(f"cannot cut {len(text)} characters into exactly {parts} even parts")
    result = []
    for index, chunk in enumerate(chunks, start=1):
        _, octets = encode_text(chunk, part_coding)
        header, tlvs, esm_class = _concat_fields(method, reference, parts, index)
        size = air_size(len(header), octets, data_coding)
        if not size.fits:
            raise ValueError(
                f"part {index} of {parts} takes {size.used} {size.unit}, "
                f"one SMS carries {size.limit}"
            )
        short_message = header + octets
        result.append(_deliver_sm(source, destination, short_message, data_coding, esm_class, tlvs))
    return result


def _concat_fields(
    method: str, reference: int, total: int, index: int
) -> tuple[bytes, dict[int, bytes], int]:
    """(UDH, TLVs, esm_class bits) that mark part `index` of `total`."""
    if method == "udh":
        return bytes((5, 0x00, 3, reference & 0xFF, total, index)), {}, ESM_UDHI
    if method == "udh16":
        ref = reference & 0xFFFF
        return bytes((6, 0x08, 4, ref >> 8, ref & 0xFF, total, index)), {}, ESM_UDHI
    tlvs = {
        Tag.SAR_MSG_REF_NUM: (reference & 0xFFFF).to_bytes(2, "big"),
        Tag.SAR_TOTAL_SEGMENTS: bytes((total,)),
        Tag.SAR_SEGMENT_SEQNUM: bytes((index,)),
    }
    return b"", tlvs, 0


def _deliver_sm(
    source: str,
    destination: str,
    short_message: bytes,
    data_coding: int,
    esm_class: int,
    tlvs: dict[int, bytes],
) -> DeliverSm:
    return DeliverSm(
        source_addr_ton=Ton.INTERNATIONAL,
        source_addr_npi=Npi.ISDN,
        source_addr=source,
        dest_addr_ton=Ton.UNKNOWN,
        dest_addr_npi=Npi.UNKNOWN,
        destination_addr=destination,
        esm_class=esm_class,
        data_coding=data_coding,
        short_message=short_message,
        tlvs=dict(tlvs),
    )
