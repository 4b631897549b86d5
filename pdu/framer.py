"""Cut a TCP byte stream into whole SMPP frames (bytes in, frames out; no I/O).

The I/O layer feeds whatever `read()` returned; `feed` returns every frame now complete, in
order, each as the `bytes` that `pdu.codec.decode` takes. Chunking does not matter: a header
split over several reads, one byte per read, or thousands of PDUs in one read.

A command_length below 16 or above the maximum means the stream has lost its framing (or the
peer is not speaking SMPP): there is no way to find the next PDU, so `feed` raises PDUError,
now and on every later call, and the session must drop the connection.
"""

from __future__ import annotations

import struct
from typing import Final

from pdu.constants import HEADER_LENGTH
from pdu.errors import PDUError

_LENGTH: Final = struct.Struct(">I")
_LENGTH_SIZE: Final = 4

DEFAULT_MAX_COMMAND_LENGTH: Final = 65536
"""Room for any PDU an SMSC sends in practice (short_message is at most 255 octets and a
message_payload of a few KiB is already rare), and a bound so that a corrupt length cannot make
the session buffer gigabytes."""


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

    def feed(self, data: bytes) -> list[bytes]:
        if self._error is not None:
            raise self._error
        if self._pending:
            self._pending += data
            if len(self._pending) < self._needed:
                return []
            stream = bytes(self._pending)
            self._pending.clear()
        else:
            stream = bytes(data)
        frames: list[bytes] = []
        pos = 0
        end = len(stream)
        unpack_length = _LENGTH.unpack_from
        maximum = self._max
        while end - pos >= _LENGTH_SIZE:
            (length,) = unpack_length(stream, pos)
            if length < HEADER_LENGTH or length > maximum:
                self._error = PDUError(
                    f"command_length {length} is outside {HEADER_LENGTH}..{maximum}: "
                    "the stream has lost its framing"
                )
                raise self._error
            if end - pos < length:
                break
            frames.append(stream[pos : pos + length])
            pos += length
        if pos < end:
            self._pending += stream[pos:]
            self._needed = (
                _LENGTH.unpack_from(stream, pos)[0] if end - pos >= _LENGTH_SIZE else _LENGTH_SIZE
            )
        else:
            self._needed = _LENGTH_SIZE
        return frames
