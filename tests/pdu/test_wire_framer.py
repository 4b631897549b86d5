"""The framer: any chunking of a PDU stream gives back exactly the frames that were written."""

from __future__ import annotations

import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdu.codec import decode, encode
from pdu.errors import PDUError
from pdu.framer import Framer
from pdu.pdus import DeliverSm, EnquireLink, Pdu, SubmitSmResp
from tests.pdu.ragged_tcp import ragged_reads
from tests.pdu.test_wire_roundtrip import any_pdu


def feed_in_chunks(framer: Framer, stream: bytes, cuts: list[int]) -> list[bytes]:
    frames: list[bytes] = []
    previous = 0
    for cut in [*sorted(cuts), len(stream)]:
        frames += framer.feed(stream[previous:cut])
        previous = cut
    return frames


@settings(max_examples=150)
@given(st.lists(any_pdu, min_size=1, max_size=8), st.data())
def test_random_chunkings_give_back_every_frame_in_order(
    pdus: list[Pdu], data: st.DataObject
) -> None:
    expected = [encode(p) for p in pdus]
    stream = b"".join(expected)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=20))
    framer = Framer()
    frames = feed_in_chunks(framer, stream, cuts)
    assert frames == expected
    assert framer.buffered == 0
    assert [decode(f) for f in frames] == pdus


@settings(max_examples=30)
@given(st.lists(any_pdu, min_size=1, max_size=4))
def test_one_byte_at_a_time(pdus: list[Pdu]) -> None:
    expected = [encode(p) for p in pdus]
    stream = b"".join(expected)
    framer = Framer()
    frames: list[bytes] = []
    for index in range(len(stream)):
        frames += framer.feed(stream[index : index + 1])
        assert framer.buffered == len(stream[: index + 1]) - sum(map(len, frames))
    assert frames == expected


def test_many_pdus_in_one_chunk_and_a_partial_header_left_over() -> None:
    resps = [encode(SubmitSmResp(message_id=str(n), sequence_number=n)) for n in range(1000)]
    tail = encode(EnquireLink(sequence_number=1001))
    framer = Framer()
    assert framer.feed(b"".join(resps) + tail[:3]) == resps
    assert framer.buffered == 3
    assert framer.feed(tail[3:10]) == []
    assert framer.feed(tail[10:]) == [tail]
    assert framer.buffered == 0


def test_empty_feeds_are_harmless() -> None:
    framer = Framer()
    assert framer.feed(b"") == []
    frame = encode(EnquireLink(sequence_number=1))
    assert framer.feed(frame[:5]) == []
    assert framer.feed(b"") == []
    assert framer.feed(frame[5:]) == [frame]


@pytest.mark.parametrize("length", [0, 1, 15])
def test_a_command_length_below_the_header_size_is_fatal_and_stays_fatal(length: int) -> None:
    framer = Framer()
    good = encode(EnquireLink(sequence_number=1))
    with pytest.raises(PDUError, match="lost its framing"):
        framer.feed(good + struct.pack(">I", length) + bytes(12))
    with pytest.raises(PDUError):
        framer.feed(good)


def test_a_command_length_over_the_maximum_is_refused_before_the_body_arrives() -> None:
    framer = Framer(max_command_length=1024)
    with pytest.raises(PDUError, match=r"outside 16\.\.1024"):
        framer.feed(struct.pack(">I", 1025))


def test_the_maximum_itself_is_accepted() -> None:
    pdu = DeliverSm(short_message=b"x" * 200, tlvs={0x0424: b"y" * 700})
    frame = encode(pdu)
    framer = Framer(max_command_length=len(frame))
    assert framer.feed(frame) == [frame]


def test_a_maximum_below_the_header_size_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        Framer(max_command_length=15)


async def test_frames_survive_a_real_tcp_connection_with_ragged_writes() -> None:
    """A loopback server writes 3000 PDUs in random-sized pieces; the reader's recv sizes
    differ again. The framer must see every PDU exactly once, in order."""
    pdus = [
        DeliverSm(
            source_addr="79031234567",
            esm_class=0x04,
            short_message=f"id:{n} stat:DELIVRD".encode(),
            sequence_number=n,
        )
        if n % 3
        else SubmitSmResp(message_id=f"{n:08X}", sequence_number=n)
        for n in range(3000)
    ]
    stream = b"".join(encode(p) for p in pdus)
    rng = random.Random(1234)

    framer = Framer()
    received: list[Pdu] = []
    for chunk in await ragged_reads(stream, rng):
        received += [decode(frame) for frame in framer.feed(chunk)]
    assert received == pdus
    assert framer.buffered == 0
