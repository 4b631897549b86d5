"""Cut a TCP byte stream into whole SMPP frames (bytes in, frames out; no I/O).

The I/O layer feeds whatever `read()` returned; `feed` returns every frame now complete, in
order, each as the `bytes` that `pdu.codec.decode` takes. Chunking does not matter: a header
split over several reads, one byte per read, or thousands of PDUs in one read.

`feed_decoded` does the same and decodes the frames too, in one pass over the read: it gives
exactly what `[decode(frame) for frame in feed(data)]` would, except that a frame `decode`
rejects comes back as an `UndecodableFrame` in its place instead of raising, so one bad PDU
costs only itself. It is the fast way to read a stream: the message_id responses (the bulk of
an ESME's inbound traffic) are read straight from the buffer, without a frame copy or a call
per PDU.

A command_length below 16 or above the maximum means the stream has lost its framing (or the
peer is not speaking SMPP): there is no way to find the next PDU, so `feed` and
`feed_decoded` raise PDUError, now and on every later call, and the session must drop the
connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pdu.codec import Header, decode, peek_header, u32_at
from pdu.constants import HEADER_LENGTH
from pdu.errors import PDUError
from pdu.pdus import DataSmResp, DeliverSmResp, Pdu, SubmitSmResp

_LENGTH_SIZE: Final = 4

DEFAULT_MAX_COMMAND_LENGTH: Final = 65536
"""Room for any PDU an SMSC sends in practice (short_message is at most 255 octets and a
message_payload of a few KiB is already rare), and a bound so that a corrupt length cannot make
the session buffer gigabytes."""

# The responses feed_decoded reads in place: a message_id, its NUL, and (then) nothing else.
_MESSAGE_ID_RESPONSES: Final[dict[int, type[SubmitSmResp | DeliverSmResp | DataSmResp]]] = {
    cls.command_id: cls for cls in (SubmitSmResp, DeliverSmResp, DataSmResp)
}


@dataclass(frozen=True, slots=True)
class UndecodableFrame:
    """A whole frame whose body `decode` rejects. The stream is still in step (the next frame is
    read as usual); the header still gives the sequence_number to answer it with (a deliver_sm
    must be acknowledged even so)."""

    frame: bytes
    error: PDUError

    @property
    def header(self) -> Header:
        return peek_header(self.frame)


class Framer:
    def __init__(self, max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH) -> None:
        if max_command_length < HEADER_LENGTH:
            raise ValueError(f"max_command_length must be at least {HEADER_LENGTH}")
        self._max = max_command_length
        self._pending = bytearray()
        # Octets `_pending` must reach before a frame can complete: the 4-octet length first,
        # then the whole frame once the length is known. Lets a 1-byte feed return at once.
        self._needed = _LENGTH_SIZE
        self._error: PDUError | None = None

    @property
    def buffered(self) -> int:
        """Octets received that do not yet form a whole frame (non-zero at EOF = a cut PDU)."""
        return len(self._pending)

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        stream = self._take(data)
        if stream is None:
            return []
        frames: list[bytes] = []
        pos = 0
        end = len(stream)
        while end - pos >= _LENGTH_SIZE:
            length = u32_at(stream, pos)
            if length < HEADER_LENGTH or length > self._max:
                raise self._lose_framing(length)
            if end - pos < length:
                break
            frames.append(stream[pos : pos + length])
            pos += length
        self._keep(stream, pos)
        return frames

    def feed_decoded(self, data: bytes | bytearray | memoryview) -> list[Pdu | UndecodableFrame]:
        """`feed` and `decode` in one pass: each complete frame as its PDU, in order, or as an
        UndecodableFrame when decode would raise. Raises PDUError only for lost framing."""
        stream = self._take(data)
        if stream is None:
            return []
        pdus: list[Pdu | UndecodableFrame] = []
        pos = 0
        end = len(stream)
        # One character per octet: a message_id is then a slice of this, not a slice to decode.
        text = stream.decode("latin-1")
        while end - pos >= HEADER_LENGTH:
            length = u32_at(stream, pos)
            if length < HEADER_LENGTH or length > self._max:
                raise self._lose_framing(length)
            frame_end = pos + length
            if frame_end > end:
                break
            # A body that is exactly a message_id and its NUL is read here, as decode would.
            response_class = _MESSAGE_ID_RESPONSES.get(u32_at(stream, pos + 4))
            if response_class is not None and length > HEADER_LENGTH and stream[frame_end - 1] == 0:
                message_id = text[pos + HEADER_LENGTH : frame_end - 1]
                if "\x00" not in message_id:
                    pdus.append(
                        response_class(
                            message_id, {}, u32_at(stream, pos + 12), u32_at(stream, pos + 8)
                        )
                    )
                    pos = frame_end
                    continue
            frame = stream[pos:frame_end]
            try:
                pdus.append(decode(frame))
            except PDUError as error:
                pdus.append(UndecodableFrame(frame, error))
            pos = frame_end
        if end - pos >= _LENGTH_SIZE:
            # A partial header whose length is already readable is checked now, as feed does.
            length = u32_at(stream, pos)
            if length < HEADER_LENGTH or length > self._max:
                raise self._lose_framing(length)
        self._keep(stream, pos)
        return pdus

    def _take(self, data: bytes | bytearray | memoryview) -> bytes | None:
        """The stream to cut frames from: what was pending plus `data`, or None while the
        pending frame is still incomplete."""
        if self._error is not None:
            raise self._error
        if not self._pending:
            return bytes(data)
        self._pending += data
        if len(self._pending) < self._needed:
            return None
        stream = bytes(self._pending)
        self._pending.clear()
        return stream

    def _keep(self, stream: bytes, pos: int) -> None:
        """Keep the incomplete tail of `stream` (from `pos`) for the next feed."""
        end = len(stream)
        if pos < end:
            self._pending += stream[pos:]
            self._needed = u32_at(stream, pos) if end - pos >= _LENGTH_SIZE else _LENGTH_SIZE
        else:
            self._needed = _LENGTH_SIZE

    def _lose_framing(self, length: int) -> PDUError:
        self._error = PDUError(
            f"command_length {length} is outside {HEADER_LENGTH}..{self._max}: "
            "the stream has lost its framing"
        )
        return self._error
