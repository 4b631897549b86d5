"""Hostile input: random bytes and mutated valid frames. `decode` and `Framer.feed` may succeed
or raise PDUError; nothing else (IndexError, struct.error, UnicodeDecodeError...) may escape,
and whatever decodes must encode again and decode to the same PDU."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from pdu.codec import decode, encode
from pdu.errors import PDUError
from pdu.framer import Framer
from pdu.pdus import PDU_CLASSES, Pdu
from tests.pdu.test_wire_roundtrip import any_pdu

known_command_id = st.sampled_from(sorted(PDU_CLASSES))


def decode_or_pdu_error(frame: bytes) -> Pdu | None:
    try:
        pdu = decode(frame)
    except PDUError:
        return None
    # Whatever was read can be written back, and reads the same again.
    assert decode(encode(pdu)) == pdu
    return pdu


@settings(max_examples=1000)
@given(st.binary(max_size=80))
def test_random_bytes(frame: bytes) -> None:
    decode_or_pdu_error(frame)


@settings(max_examples=1000)
@given(known_command_id, st.integers(0, 0xFFFFFFFF), st.binary(max_size=120))
def test_random_bodies_under_a_consistent_header(command_id: int, status: int, body: bytes) -> None:
    decode_or_pdu_error(struct.pack(">IIII", 16 + len(body), command_id, status, 1) + body)


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 10_000), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 10_000), st.just(0)),
)


def mutate(frame: bytes, mutations: list[tuple[str, int, int]], fix_length: bool) -> bytes:
    data = bytearray(frame)
    for kind, where, value in mutations:
        if not data:
            break
        index = where % len(data)
        if kind == "flip":
            data[index] ^= value
        elif kind == "cut":
            del data[index:]
        elif kind == "insert":
            data.insert(index, value)
        else:
            del data[index]
    if fix_length and len(data) >= 4:
        data[:4] = struct.pack(">I", len(data))
    return bytes(data)


@settings(max_examples=700)
@given(any_pdu, st.lists(mutation, min_size=1, max_size=4), st.booleans())
def test_mutated_valid_frames(pdu: Pdu, mutations: list[tuple[str, int, int]], fix: bool) -> None:
    decode_or_pdu_error(mutate(encode(pdu), mutations, fix))


@settings(max_examples=300)
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=6))
def test_the_framer_on_random_bytes(stream: bytes, cuts: list[int]) -> None:
    framer = Framer(max_command_length=4096)
    previous = 0
    try:
        for cut in [*sorted(cuts), len(stream)]:
            for frame in framer.feed(stream[previous:cut]):
                assert 16 <= len(frame) <= 4096
                decode_or_pdu_error(frame)
            previous = max(previous, cut)
    except PDUError:
        pass
