"""concat_info and Reassembler over real deliver_sm / data_sm frames (encoded and decoded by
pdu.codec): 8- and 16-bit UDH, other IEs before the concat IE, SAR TLVs, out-of-order parts,
duplicates, expiry."""

from __future__ import annotations

import random
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdu.codec import decode, encode
from pdu.constants import ESM_UDHI
from pdu.pdus import DataSm, DeliverSm
from pdu.reassembly import Reassembler, concat_info, split_udh
from pdu.segmentation import split_text
from pdu.text import decode_text
from pdu.tlv import Tag

KEY = ("devino", "79031234567", "1234")


class FakeTime:
    """A settable clock for the Reassembler's `now` (the real Clock is the I/O layer's)."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def over_the_wire(pdu: DeliverSm | DataSm) -> DeliverSm | DataSm:
    decoded = decode(encode(pdu))
    assert isinstance(decoded, DeliverSm | DataSm)
    return decoded


def deliver(
    short_message: bytes,
    esm_class: int = 0,
    *,
    data_coding: int = 0,
    tlvs: Mapping[int, bytes] | None = None,
) -> DeliverSm:
    sent = DeliverSm(
        short_message=short_message, esm_class=esm_class, data_coding=data_coding,
        tlvs=dict(tlvs or {})
    )
    pdu = over_the_wire(sent)
    assert isinstance(pdu, DeliverSm)
    return pdu


def test_8bit_udh() -> None:
    pdu = deliver(bytes.fromhex("0500030a0302") + b"hello", ESM_UDHI)
    assert concat_info(pdu) == (0x0A, 3, 2, b"hello")


def test_16bit_udh_reads_two_octets_of_reference() -> None:
    pdu = deliver(bytes.fromhex("06080412340201") + b"hello", ESM_UDHI)
    assert concat_info(pdu) == (0x1234, 2, 1, b"hello")  # not 305,398,273 (anchors §1.7 #9)


def test_concat_ie_after_a_port_ie() -> None:
    # UDHL 11: IEI 0x05 (16-bit ports, 4 octets), then IEI 0x00 concat.
    udh = bytes.fromhex("0b05040b8423f00003cc0201")
    assert concat_info(deliver(udh + b"wap", ESM_UDHI)) == (0xCC, 2, 1, b"wap")


def test_udh_without_concat_ie_is_not_a_part() -> None:
    udh = bytes.fromhex("0605040b8423f0")
    pdu = deliver(udh + b"data", ESM_UDHI)
    assert concat_info(pdu) is None
    assert split_udh(pdu.short_message) == (udh, b"data")


def test_sar_tlvs() -> None:
    tlvs = {
        Tag.SAR_MSG_REF_NUM: b"\xbe\xef",
        Tag.SAR_TOTAL_SEGMENTS: b"\x02",
        Tag.SAR_SEGMENT_SEQNUM: b"\x02",
    }
    assert concat_info(deliver(b"tail", tlvs=tlvs)) == (0xBEEF, 2, 2, b"tail")


def test_sar_tlvs_with_a_non_concat_udh_give_the_text_without_the_udh() -> None:
    tlvs = {
        Tag.SAR_MSG_REF_NUM: b"\x00\x01",
        Tag.SAR_TOTAL_SEGMENTS: b"\x02",
        Tag.SAR_SEGMENT_SEQNUM: b"\x01",
    }
    udh = bytes.fromhex("0605040b8423f0")
    assert concat_info(deliver(udh + b"body", ESM_UDHI, tlvs=tlvs)) == (1, 2, 1, b"body")


def test_data_sm_with_sar_and_message_payload() -> None:
    tlvs = {
        Tag.SAR_MSG_REF_NUM: b"\x00\x07",
        Tag.SAR_TOTAL_SEGMENTS: b"\x03",
        Tag.SAR_SEGMENT_SEQNUM: b"\x01",
        Tag.MESSAGE_PAYLOAD: b"first",
    }
    pdu = over_the_wire(DataSm(tlvs=tlvs))
    assert concat_info(pdu) == (7, 3, 1, b"first")


@pytest.mark.parametrize(
    "short_message",
    [
        bytes.fromhex("0500030a0000") + b"x",  # total 0
        bytes.fromhex("0500030a0200") + b"x",  # index 0
        bytes.fromhex("0500030a0203") + b"x",  # index past total
        bytes.fromhex("0900030a02"),  # UDHL runs past the data
        bytes.fromhex("05000a0a0201"),  # IE length runs past the header
        b"",
    ],
)
def test_inconsistent_or_truncated_udh_is_not_a_part(short_message: bytes) -> None:
    assert concat_info(deliver(short_message, ESM_UDHI)) is None


def test_plain_message_is_not_a_part() -> None:
    assert concat_info(deliver(b"hello")) is None


def test_parts_out_of_order_with_duplicates_join_once() -> None:
    time = FakeTime()
    reassembler = Reassembler(ttl_seconds=600, now=time)
    parts = [b"one ", b"two ", b"three"]
    assert reassembler.add(KEY, 9, 3, 3, parts[2], 0) is None
    assert reassembler.add(KEY, 9, 3, 1, parts[0], 0) is None
    assert reassembler.add(KEY, 9, 3, 3, b"DUPLICATE", 0) is None  # the first copy is kept
    assert len(reassembler) == 1
    assert reassembler.add(KEY, 9, 3, 2, parts[1], 0) == "one two three"
    assert len(reassembler) == 0


def test_same_reference_from_another_sender_is_another_set() -> None:
    reassembler = Reassembler(ttl_seconds=600, now=FakeTime())
    assert reassembler.add(("a",), 1, 2, 1, b"A1", 0) is None
    assert reassembler.add(("b",), 1, 2, 2, b"B2", 0) is None
    assert reassembler.add(("a",), 1, 2, 2, b"A2", 0) == "A1A2"
    assert reassembler.add(("b",), 1, 2, 1, b"B1", 0) == "B1B2"


def test_a_single_part_set_completes_at_once() -> None:
    assert Reassembler(60, FakeTime()).add(KEY, 1, 1, 1, b"hi", 0) == "hi"


def test_index_outside_total_raises_value_error() -> None:
    with pytest.raises(ValueError):
        Reassembler(60, FakeTime()).add(KEY, 1, 2, 3, b"x", 0)


def test_ttl_expiry_drops_incomplete_sets_only_when_old() -> None:
    time = FakeTime()
    reassembler = Reassembler(ttl_seconds=60, now=time)
    reassembler.add(KEY, 1, 2, 1, b"old", 0)
    time.value += 30
    reassembler.add(KEY, 2, 2, 1, b"young", 0)
    time.value += 29
    assert reassembler.expire() == 0
    time.value += 1  # the first set is now 60 s old
    assert reassembler.expire() == 1
    assert len(reassembler) == 1
    # The expired set's second part starts a new set instead of completing the old one.
    assert reassembler.add(KEY, 1, 2, 2, b"late", 0) is None
    assert reassembler.add(KEY, 2, 2, 2, b" one", 0) == "young one"


def test_pending_sets_are_capped_oldest_first() -> None:
    reassembler = Reassembler(ttl_seconds=60, now=FakeTime(), max_pending_sets=2)
    for reference in range(3):
        reassembler.add(KEY, reference, 2, 1, b"x", 0)
    assert len(reassembler) == 2
    assert reassembler.add(KEY, 0, 2, 2, b"y", 0) is None  # set 0 was dropped
    assert reassembler.add(KEY, 2, 2, 2, b"y", 0) == "xy"


def test_escape_and_surrogate_pairs_cut_by_the_sender_still_join() -> None:
    reassembler = Reassembler(60, FakeTime())
    assert reassembler.add(KEY, 1, 2, 1, b"price \x1b", 0) is None
    assert reassembler.add(KEY, 1, 2, 2, b"\x655", 0) == "price €5"
    emoji = "😀".encode("utf-16-be")
    assert reassembler.add(KEY, 2, 2, 1, emoji[:2], 8) is None
    assert reassembler.add(KEY, 2, 2, 2, emoji[2:], 8) == "😀"


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 600).flatmap(
        lambda size: st.text(alphabet="abc€{Жя😀 ", min_size=size, max_size=size)
    ),
    st.sampled_from(["udh", "udh16", "sar"]),
    st.integers(0, 0xFFFF),
    st.randoms(use_true_random=False),
)
def test_split_parts_sent_as_deliver_sm_reassemble_in_any_order(
    text: str, method: str, reference: int, shuffler: random.Random
) -> None:
    parts = split_text(text, method=method, reference=reference)
    frames = [
        deliver(p.short_message, p.esm_class, data_coding=p.data_coding, tlvs=p.tlvs) for p in parts
    ]
    shuffler.shuffle(frames)
    reassembler = Reassembler(600, FakeTime())
    results: list[str] = []
    for pdu in frames:
        info = concat_info(pdu)
        if info is None:  # a text that fits one SMS is sent whole
            assert len(parts) == 1
            results.append(decode_text(pdu.short_message, pdu.data_coding))
            continue
        ref, total, index, payload = info
        assert ref == (reference & 0xFF if method == "udh" else reference)
        joined = reassembler.add(KEY, ref, total, index, payload, pdu.data_coding)
        if joined is not None:
            results.append(joined)
    assert results == [text]
    assert len(reassembler) == 0
