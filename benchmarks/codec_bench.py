"""The SMPP codec against aiosmpplib 0.7.4 and python-smpplib 2.2.4, in one process and run.

    .venv/bin/python -m benchmarks.codec_bench

Lines (each library doing the same job the way its users do it):
- encode a submit_sm from text, GSM 7-bit and UCS-2. Ours: encode_text + encode_submit_sm,
  the path the SMPP engine sends every part through (dispatcher/smpp/job.py SubmitEncoder;
  the breakdown also times building a SubmitSm and encode()-ing it, the same octets).
  aiosmpplib: SubmitSm(...) + .pdu() (it encodes the text itself). smpplib: gsm.make_parts +
  make_pdu + generate(). The addresses are built once outside the loop for every library,
  which flatters aiosmpplib (its PhoneNumber objects validate on construction).
- decode a deliver_sm carrying a delivery receipt and parse the receipt. Ours: decode +
  receipt_from_pdu. aiosmpplib: parse_header + DeliverSm.from_pdu + parse_receipt. smpplib:
  parse_pdu only; it has no receipt parser, so its line does less work than the others.
- frame and decode a stream of 100,000 submit_sm_resp, read in 64 KiB chunks. Ours:
  Framer.feed_decoded, the fused frame + decode read a session uses (tests/pdu check it gives
  what feed + decode per frame give; the breakdown also times the unfused pair). The other two
  have no sans-I/O framer (both read a socket per PDU), so they get the same minimal slicing
  loop and their own header/body parsers.

Timing is timeit's: the loop count from autorange, the best of several interleaved rounds
(see best_microseconds); the stream line is timed whole and divided by its length. Figures
are µs per operation (per PDU for the stream); compare the ratios, the absolute numbers
depend on the machine.
"""

from __future__ import annotations

import struct
import timeit
from collections.abc import Callable, Iterator
from typing import Any

import smpplib.gsm
import smpplib.smpp
from aiosmpplib import protocol as aio
from aiosmpplib.state import NPI, TON, PhoneNumber

from pdu.codec import decode, encode
from pdu.constants import ESM_DELIVERY_RECEIPT, Npi, Ton
from pdu.framer import Framer
from pdu.pdus import DeliverSm, SubmitSm, SubmitSmResp
from pdu.receipt import receipt_from_pdu, receipt_outcome_from_pdu
from pdu.receipt_frame import receipt_outcome_from_frame
from pdu.submit_sm import encode_submit_sm
from pdu.text import encode_text
from pdu.tlv import Tag

GSM_TEXT = "Hello world, this is a test message"
UCS2_TEXT = "Привет! Это тестовое сообщение"
# 10-digit dates: aiosmpplib's parser raises on the 12-digit form (smpp-anchors.md §1.7 #11).
RECEIPT_TEXT = (
    "id:1234567890 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 "
    "stat:DELIVRD err:000 text:Hello world"
)
SENDER = "DEVINO"
RECIPIENT = "79031234567"
STREAM_LENGTH = 100_000
READ_SIZE = 65536
REPEATS = 5
SHORT_ROUNDS = 3 * REPEATS


class _SmpplibSequence:
    """smpplib's PDUs draw sequence numbers from a client object; this is the smallest one."""

    sequence = 0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


_SMPPLIB_CLIENT = _SmpplibSequence()


# --- encode a submit_sm from text -----------------------------------------------------------


def our_submit_sm_pdu(data_coding: int, short_message: bytes) -> SubmitSm:
    """The dataclass path of the encode lines, timed in the breakdown: the fields of
    `ours_submit_sm`, spelled out in both so each call is timed as a user writes it (built from
    one dict, the keyword call took half as long again)."""
    return SubmitSm(
        source_addr_ton=Ton.ALPHANUMERIC,
        source_addr_npi=Npi.ISDN,
        source_addr=SENDER,
        dest_addr_ton=Ton.INTERNATIONAL,
        dest_addr_npi=Npi.ISDN,
        destination_addr=RECIPIENT,
        registered_delivery=1,
        data_coding=data_coding,
        short_message=short_message,
        sequence_number=7,
    )


def ours_submit_sm(text: str) -> bytes:
    data_coding, short_message = encode_text(text)
    return encode_submit_sm(
        source_addr_ton=Ton.ALPHANUMERIC,
        source_addr_npi=Npi.ISDN,
        source_addr=SENDER,
        dest_addr_ton=Ton.INTERNATIONAL,
        dest_addr_npi=Npi.ISDN,
        destination_addr=RECIPIENT,
        registered_delivery=1,
        data_coding=data_coding,
        short_message=short_message,
        sequence_number=7,
    )


def ours_submit_sm_through_the_dataclass(text: str) -> bytes:
    return encode(our_submit_sm_pdu(*encode_text(text)))


_AIO_SOURCE = PhoneNumber(SENDER, TON.ALPHANUMERIC, NPI.ISDN)
_AIO_DESTINATION = PhoneNumber(RECIPIENT, TON.INTERNATIONAL, NPI.ISDN)


def aiosmpplib_submit_sm(text: str) -> bytes:
    message = aio.SubmitSm(
        sequence_num=7,
        short_message=text,
        source=_AIO_SOURCE,
        destination=_AIO_DESTINATION,
        registered_delivery=1,
    )
    return bytes(message.pdu())


def smpplib_submit_sm(text: str) -> bytes:
    parts, data_coding, esm_class = smpplib.gsm.make_parts(text)
    pdu = smpplib.smpp.make_pdu(
        "submit_sm",
        client=_SMPPLIB_CLIENT,
        source_addr_ton=Ton.ALPHANUMERIC,
        source_addr_npi=Npi.ISDN,
        source_addr=SENDER,
        dest_addr_ton=Ton.INTERNATIONAL,
        dest_addr_npi=Npi.ISDN,
        destination_addr=RECIPIENT,
        esm_class=esm_class,
        registered_delivery=1,
        data_coding=data_coding,
        short_message=parts[0],
    )
    pdu.sequence = 7
    return bytes(pdu.generate())


# --- decode a deliver_sm receipt and parse it -----------------------------------------------


def _receipt_frame(text: str) -> bytes:
    return encode(
        DeliverSm(
            source_addr_ton=Ton.INTERNATIONAL,
            source_addr_npi=Npi.ISDN,
            source_addr=RECIPIENT,
            dest_addr_ton=Ton.ALPHANUMERIC,
            destination_addr=SENDER,
            esm_class=ESM_DELIVERY_RECEIPT,
            short_message=text.encode("ascii"),
            tlvs={Tag.RECEIPTED_MESSAGE_ID: b"1234567890\0", Tag.MESSAGE_STATE: b"\x02"},
            sequence_number=11,
        )
    )


RECEIPT_FRAME = _receipt_frame(RECEIPT_TEXT)
# The same receipt with upper-case keys, a layout the one-match reader of pdu.receipt does not
# take: receipt_from_pdu falls back to its lenient scanner (timed in the breakdown).
NON_STANDARD_RECEIPT_FRAME = _receipt_frame(
    "ID:1234567890 SUB:001 DLVRD:001 SUBMIT DATE:2401011200 DONE DATE:2401011201 "
    "STAT:DELIVRD ERR:000 TEXT:Hello world"
)


def ours_receipt() -> object:
    return receipt_from_pdu(decode(RECEIPT_FRAME))  # type: ignore[arg-type]


def aiosmpplib_receipt() -> object:
    header = aio.SmppMessage.parse_header(RECEIPT_FRAME)
    message = aio.DeliverSm.from_pdu(RECEIPT_FRAME, header)
    assert isinstance(message, aio.DeliverSm)
    return message.parse_receipt()


def smpplib_receipt() -> object:
    return smpplib.smpp.parse_pdu(RECEIPT_FRAME, client=_SMPPLIB_CLIENT)


# --- frame and decode a stream of submit_sm_resp --------------------------------------------

RESP_STREAM = b"".join(
    encode(SubmitSmResp(message_id=str(1_000_000_000 + n), sequence_number=n + 1))
    for n in range(STREAM_LENGTH)
)


def _chunks() -> Iterator[bytes]:
    for start in range(0, len(RESP_STREAM), READ_SIZE):
        yield RESP_STREAM[start : start + READ_SIZE]


def ours_stream() -> int:
    framer = Framer()
    count = 0
    for chunk in _chunks():
        for _pdu in framer.feed_decoded(chunk):
            count += 1
    return count


def _naive_frames() -> Iterator[bytes]:
    """The framing loop the two other libraries get (neither has one without a socket)."""
    buffer = b""
    for chunk in _chunks():
        buffer += chunk
        position = 0
        while len(buffer) - position >= 16:
            (length,) = struct.unpack_from(">I", buffer, position)
            if len(buffer) - position < length:
                break
            yield buffer[position : position + length]
            position += length
        buffer = buffer[position:]


def aiosmpplib_stream() -> int:
    count = 0
    for frame in _naive_frames():
        aio.SubmitSmResp.from_pdu(frame, aio.SmppMessage.parse_header(frame))
        count += 1
    return count


def smpplib_stream() -> int:
    count = 0
    for frame in _naive_frames():
        smpplib.smpp.parse_pdu(frame, client=_SMPPLIB_CLIENT)
        count += 1
    return count


# --- measuring ------------------------------------------------------------------------------


def best_microseconds(operations: list[Callable[[], Any]], per_call: int = 1) -> list[float]:
    """Best-of-N µs per operation for each callable. The rounds are interleaved (one round of
    every library, then the next round), so a burst of load on a shared machine hits all of
    them rather than one. Operations fast enough get SHORT_ROUNDS rounds a third as long as
    timeit's autorange picks: in the same total time, more chances of a quiet moment."""
    timers = [timeit.Timer(operation) for operation in operations]
    numbers = [timer.autorange()[0] for timer in timers]
    rounds = REPEATS
    if min(numbers) >= 3:
        numbers = [number // 3 for number in numbers]
        rounds = SHORT_ROUNDS
    best = [float("inf")] * len(timers)
    for _ in range(rounds):
        for index, (timer, number) in enumerate(zip(timers, numbers, strict=True)):
            best[index] = min(best[index], timer.timeit(number) / number)
    return [seconds * 1e6 / per_call for seconds in best]


def check_same_work() -> None:
    """Every library must produce the same octets for the encode lines, and read the same
    receipt, or the comparison means nothing."""
    for text in (GSM_TEXT, UCS2_TEXT):
        ours = ours_submit_sm(text)
        assert ours == aiosmpplib_submit_sm(text), text
        assert ours == smpplib_submit_sm(text), text
    receipt = receipt_from_pdu(decode(RECEIPT_FRAME))  # type: ignore[arg-type]
    assert receipt is not None
    theirs = aiosmpplib_receipt()
    assert isinstance(theirs, dict)
    assert receipt.message_id == theirs["id"] == "1234567890"
    assert receipt.state == theirs["stat"] == "DELIVRD"
    assert receipt_from_pdu(decode(NON_STANDARD_RECEIPT_FRAME)) == receipt  # type: ignore[arg-type]
    # the daemon's two ways to its receipt's outcome agree
    outcome = receipt_outcome_from_frame(RECEIPT_FRAME)
    assert outcome is not None
    assert outcome == receipt_outcome_from_pdu(decode(RECEIPT_FRAME))  # type: ignore[arg-type]
    framer = Framer()
    fused = [pdu for chunk in _chunks() for pdu in framer.feed_decoded(chunk)]
    framer = Framer()
    assert fused == [decode(frame) for chunk in _chunks() for frame in framer.feed(chunk)]


def main() -> None:
    check_same_work()
    for stream in (ours_stream, aiosmpplib_stream, smpplib_stream):
        assert stream() == STREAM_LENGTH
    rows = [
        (
            "encode submit_sm from GSM 7-bit text",
            best_microseconds([lambda f=f: f(GSM_TEXT) for f in _SUBMIT_SM]),  # type: ignore[misc]
        ),
        (
            "encode submit_sm from UCS-2 text",
            best_microseconds([lambda f=f: f(UCS2_TEXT) for f in _SUBMIT_SM]),  # type: ignore[misc]
        ),
        (
            "decode deliver_sm + parse receipt (smpplib: decode only)",
            best_microseconds([ours_receipt, aiosmpplib_receipt, smpplib_receipt]),
        ),
        (
            f"frame + decode {STREAM_LENGTH:,} submit_sm_resp (per PDU)",
            best_microseconds(
                [ours_stream, aiosmpplib_stream, smpplib_stream], per_call=STREAM_LENGTH
            ),
        ),
    ]
    print("| operation | ours µs | aiosmpplib µs | smpplib µs | aiosmpplib/ours | smpplib/ours |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, (ours, aiosmpplib, smpplib_us) in rows:
        print(
            f"| {label} | {ours:.2f} | {aiosmpplib:.2f} | {smpplib_us:.2f} "
            f"| {aiosmpplib / ours:.1f}x | {smpplib_us / ours:.1f}x |"
        )
    print_our_breakdown()


def print_our_breakdown() -> None:
    """Where our own time goes, per step, so a slow line points at the module to fix."""
    gsm = encode_text(GSM_TEXT)
    submit_sm = our_submit_sm_pdu(*gsm)
    receipt_pdu = decode(RECEIPT_FRAME)
    non_standard_pdu = decode(NON_STANDARD_RECEIPT_FRAME)
    resp_frame = encode(SubmitSmResp(message_id="1000000001", sequence_number=1))
    steps = {
        "pdu.text.encode_text (GSM 7-bit)": lambda: encode_text(GSM_TEXT),
        "pdu.text.encode_text (UCS-2)": lambda: encode_text(UCS2_TEXT),
        "the GSM line: encode_text + encode_submit_sm(...)": lambda: ours_submit_sm(GSM_TEXT),
        "the same line through the dataclass: encode_text + SubmitSm(...) + encode": lambda: (
            ours_submit_sm_through_the_dataclass(GSM_TEXT)
        ),
        "SubmitSm(...) construction (keywords)": lambda: our_submit_sm_pdu(*gsm),
        "pdu.codec.encode(submit_sm)": lambda: encode(submit_sm),
        "pdu.codec.decode(deliver_sm receipt)": lambda: decode(RECEIPT_FRAME),
        "pdu.receipt.receipt_from_pdu": lambda: receipt_from_pdu(receipt_pdu),  # type: ignore[arg-type]
        "pdu.receipt.receipt_from_pdu (same receipt, upper case: the scanner)": lambda: (
            receipt_from_pdu(non_standard_pdu)  # type: ignore[arg-type]
        ),
        "the daemon's receipt the general way: decode + receipt_outcome_from_pdu": lambda: (
            receipt_outcome_from_pdu(decode(RECEIPT_FRAME))  # type: ignore[arg-type]
        ),
        "the daemon's receipt from its frame: pdu.receipt_frame.receipt_outcome_from_frame": (
            lambda: receipt_outcome_from_frame(RECEIPT_FRAME)
        ),
        "pdu.codec.decode(submit_sm_resp)": lambda: decode(resp_frame),
        "pdu.framer.Framer.feed + decode per frame (per PDU of the stream)": _feed_then_decode,
        "pdu.framer.Framer.feed alone (per PDU of the stream)": _frame_only,
        "pdu.framer.Framer.feed_decoded (per PDU of the stream)": ours_stream,
        "floor, not an API: unpack header + allocate SubmitSmResp + set 4 slots (per PDU)": (
            _object_floor
        ),
    }
    timings = best_microseconds(list(steps.values()))
    for stream_step in (-4, -3, -2, -1):
        timings[stream_step] /= STREAM_LENGTH
    rows = list(zip(steps, timings, strict=True))
    # the line's second step, from the same rounds (timed alone, its fields would be spelled
    # out a third time)
    second_step = rows[2][1] - rows[0][1]
    rows.insert(3, ("encode_submit_sm(...) (the GSM line minus encode_text)", second_step))
    print()
    print("| our step | µs |")
    print("|---|---:|")
    for name, microseconds in rows:
        print(f"| {name} | {microseconds:.2f} |")


def _frame_only() -> int:
    framer = Framer()
    return sum(len(framer.feed(chunk)) for chunk in _chunks())


def _object_floor() -> int:
    """The least any pure-Python reader of the stream does per PDU, body not even read: unpack
    the header, allocate the SubmitSmResp, set its four slots (a fresh tlvs dict included)."""
    unpack_header = struct.Struct(">IIII").unpack_from
    allocate = object.__new__
    pdus: list[SubmitSmResp] = []
    append = pdus.append
    position = 0
    end = len(RESP_STREAM)
    while position < end:
        length, _, command_status, sequence_number = unpack_header(RESP_STREAM, position)
        pdu = allocate(SubmitSmResp)
        pdu.message_id = ""
        pdu.tlvs = {}
        pdu.sequence_number = sequence_number
        pdu.command_status = command_status
        append(pdu)
        position += length
    return len(pdus)


def _feed_then_decode() -> int:
    framer = Framer()
    count = 0
    for chunk in _chunks():
        for frame in framer.feed(chunk):
            decode(frame)
            count += 1
    return count


_SUBMIT_SM = (ours_submit_sm, aiosmpplib_submit_sm, smpplib_submit_sm)


if __name__ == "__main__":
    main()
