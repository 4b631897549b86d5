"""Framer.feed_decoded: the fused frame + decode read gives exactly what feed() followed by
decode() per frame gives, for any PDUs, any malformed bodies and any chunking; a frame decode
rejects costs only itself, and lost framing is as fatal as with feed()."""

from __future__ import annotations

import itertools
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdu.codec import decode, encode
from pdu.constants import CommandId, CommandStatus
from pdu.errors import PDUError
from pdu.framer import Framer, UndecodableFrame
from pdu.pdus import DeliverSm, EnquireLink, Pdu, SubmitSm, SubmitSmResp
from tests.pdu.ragged_tcp import ragged_reads
from tests.pdu.test_wire_roundtrip import any_pdu

Item = Pdu | UndecodableFrame


def raw_frame(command_id: int, body: bytes, status: int = 0, sequence: int = 1) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, sequence) + body


# Frames whose length is right but whose body may be anything: message_id responses with a NUL
# in the middle, none, only a NUL, TLVs behind it; truncated submit_sm / deliver_sm bodies.
odd_body = st.one_of(
    st.binary(max_size=30),
    st.sampled_from([b"", b"\x00", b"42\x00", b"42", b"4\x002\x00", b"42\x00\x14\x01\x00"]),
    st.tuples(st.binary(max_size=12), st.binary(max_size=9)).map(b"\x00".join),
)
odd_frame = st.builds(
    raw_frame,
    st.sampled_from(
        [
            CommandId.SUBMIT_SM_RESP,
            CommandId.DELIVER_SM_RESP,
            CommandId.DATA_SM_RESP,
            CommandId.SUBMIT_SM,
            CommandId.DELIVER_SM,
            CommandId.BIND_TRANSMITTER_RESP,
            0x00000123,
        ]
    ),
    odd_body,
    st.sampled_from([0, 0, CommandStatus.ESME_RTHROTTLED, 0x401]),
    st.integers(0, 0xFFFFFFFF),
)
any_frame = any_pdu.map(encode) | odd_frame


def unfused(frames: list[bytes]) -> list[Item]:
    """What a session gets by decoding each frame feed() cut."""
    items: list[Item] = []
    for frame in frames:
        try:
            items.append(decode(frame))
        except PDUError as error:
            items.append(UndecodableFrame(frame, error))
    return items


def assert_same_items(fused: list[Item], expected: list[Item]) -> None:
    assert len(fused) == len(expected)
    for got, want in zip(fused, expected, strict=True):
        if isinstance(want, UndecodableFrame):
            assert isinstance(got, UndecodableFrame)
            assert got.frame == want.frame
            assert str(got.error) == str(want.error)
        else:
            assert type(got) is type(want)
            assert got == want


def chunked(stream: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[start:end] for start, end in itertools.pairwise(bounds)]


@settings(max_examples=120)
@given(st.lists(any_frame, min_size=1, max_size=10), st.data())
def test_random_chunkings_read_as_feed_then_decode(
    frames: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(frames)
    chunks = chunked(stream, data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    fused_framer, plain_framer = Framer(), Framer()
    fused: list[Item] = []
    cut: list[bytes] = []
    for chunk in chunks:
        fused += fused_framer.feed_decoded(chunk)
        cut += plain_framer.feed(chunk)
        assert fused_framer.buffered == plain_framer.buffered
    assert cut == frames
    assert_same_items(fused, unfused(frames))
    assert fused_framer.buffered == 0


@settings(max_examples=30)
@given(st.lists(any_frame, min_size=1, max_size=4))
def test_one_byte_at_a_time(frames: list[bytes]) -> None:
    stream = b"".join(frames)
    framer = Framer()
    fused: list[Item] = []
    for index in range(len(stream)):
        fused += framer.feed_decoded(stream[index : index + 1])
    assert_same_items(fused, unfused(frames))


def test_thousands_of_responses_in_one_read_with_a_partial_header_left_over() -> None:
    resps = [SubmitSmResp(message_id=f"{n:010d}", sequence_number=n) for n in range(3000)]
    tail = encode(EnquireLink(sequence_number=3001))
    framer = Framer()
    assert framer.feed_decoded(b"".join(map(encode, resps)) + tail[:9]) == resps
    assert framer.buffered == 9
    assert framer.feed_decoded(tail[9:]) == [EnquireLink(sequence_number=3001)]


def test_a_bad_pdu_costs_only_itself_and_keeps_its_sequence_number() -> None:
    good = encode(DeliverSm(short_message=b"hi", sequence_number=1))
    bad = raw_frame(CommandId.DELIVER_SM, b"\x00\x01\x01123", sequence=4242)
    after = encode(SubmitSmResp(message_id="7", sequence_number=3))
    items = Framer().feed_decoded(good + bad + after)
    assert items[0] == decode(good)
    assert isinstance(items[1], UndecodableFrame)
    assert items[1].frame == bad
    assert items[1].header.sequence_number == 4242
    assert "deliver_sm" in str(items[1].error)
    assert items[2] == SubmitSmResp(message_id="7", sequence_number=3)


def test_responses_read_in_place_have_their_own_tlv_dicts() -> None:
    frame = encode(SubmitSmResp(message_id="1"))
    first, second = Framer().feed_decoded(frame + frame)
    assert isinstance(first, SubmitSmResp) and isinstance(second, SubmitSmResp)
    first.tlvs[0x1401] = b"x"
    assert second.tlvs == {}


def test_feed_and_feed_decoded_share_the_pending_bytes() -> None:
    submit = SubmitSm(destination_addr="79031234567", short_message=b"x", sequence_number=5)
    stream = encode(submit) + encode(SubmitSmResp(message_id="9", sequence_number=6))
    framer = Framer()
    assert framer.feed(stream[:20]) == []
    assert framer.feed_decoded(stream[20:50]) == [submit]
    assert framer.feed(stream[50:]) == [stream[len(encode(submit)) :]]


@pytest.mark.parametrize("length", [0, 15, 65537])
def test_lost_framing_is_fatal_and_stays_fatal(length: int) -> None:
    framer = Framer()
    good = encode(EnquireLink(sequence_number=1))
    with pytest.raises(PDUError, match="lost its framing"):
        framer.feed_decoded(good + struct.pack(">I", length) + bytes(12))
    with pytest.raises(PDUError, match="lost its framing"):
        framer.feed_decoded(good)


def test_a_bad_length_in_a_partial_header_is_refused_at_once() -> None:
    framer = Framer(max_command_length=1024)
    with pytest.raises(PDUError, match=r"outside 16\.\.1024"):
        framer.feed_decoded(struct.pack(">I", 1025) + b"\x00\x00")


async def test_pdus_survive_a_real_tcp_connection_with_ragged_writes() -> None:
    """A loopback server writes 3000 PDUs, every 100th one malformed, in random-sized pieces;
    the reader's recv sizes differ again. feed_decoded must give every PDU once, in order."""
    rng = random.Random(4321)
    items: list[Item] = []
    frames: list[bytes] = []
    for n in range(3000):
        if n % 100 == 99:
            frame = raw_frame(CommandId.DELIVER_SM, b"\x00\x01\x01no-nul", sequence=n)
        elif n % 3:
            frame = encode(SubmitSmResp(message_id=f"{n:08X}", sequence_number=n))
        else:
            receipt = DeliverSm(esm_class=4, short_message=b"id:1 stat:DELIVRD", sequence_number=n)
            frame = encode(receipt)
        frames.append(frame)
    items = unfused(frames)
    stream = b"".join(frames)

    framer = Framer()
    received: list[Item] = []
    for chunk in await ragged_reads(stream, rng):
        received += framer.feed_decoded(chunk)
    assert_same_items(received, items)
    assert sum(isinstance(item, UndecodableFrame) for item in received) == 30
    assert framer.buffered == 0
