"""A tiny ESME over asyncio streams and the pdu codec, to drive the simulator in tests.

Not the dispatcher's engine: it sends exactly what a test asks, and keeps everything the SMSC
sends. Responses are matched by sequence_number; requests from the SMSC (deliver_sm, unbind,
enquire_link) go to `inbox`, and deliver_sm is acknowledged with status 0 when `auto_ack`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any, Final

from pdu.codec import decode, encode
from pdu.constants import RESP_BIT, CommandId
from pdu.errors import PDUError
from pdu.framer import Framer
from pdu.pdus import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DeliverSm,
    DeliverSmResp,
    Pdu,
    UnbindResp,
)

TIMEOUT: Final = 3.0  # real seconds; only reached when a test fails

_BIND_CLASSES: Final[dict[str, type[BindTransmitter | BindReceiver | BindTransceiver]]] = {
    "tx": BindTransmitter,
    "rx": BindReceiver,
    "trx": BindTransceiver,
}


class TinyEsme:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, auto_ack: bool
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.auto_ack = auto_ack
        self._sequence = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self.inbox: asyncio.Queue[Pdu] = asyncio.Queue()
        self.delivered: list[DeliverSm] = []
        self.stream_error: PDUError | None = None
        self.eof = asyncio.Event()
        self._task = asyncio.create_task(self._read_loop())

    @classmethod
    async def connect(cls, port: int, *, auto_ack: bool = True) -> TinyEsme:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, auto_ack)

    @classmethod
    async def bound(
        cls, port: int, system_id: str, password: str, mode: str = "trx", *, auto_ack: bool = True
    ) -> TinyEsme:
        esme = await cls.connect(port, auto_ack=auto_ack)
        response = await esme.bind(system_id, password, mode)
        assert response.command_status == 0, hex(response.command_status)
        return esme

    async def bind(
        self, system_id: str, password: str, mode: str = "trx", timeout: float = TIMEOUT
    ) -> Any:
        bind = _BIND_CLASSES[mode](system_id=system_id, password=password)
        return await self.request(bind, timeout)

    def send(self, pdu: Pdu) -> int:
        """Write `pdu` (a fresh sequence_number unless it has one); the sequence_number."""
        if not pdu.sequence_number:
            pdu.sequence_number = next(self._sequence)
        self._writer.write(encode(pdu))
        return pdu.sequence_number

    def send_raw(self, frame: bytes) -> None:
        self._writer.write(frame)

    def expect(self, sequence_number: int) -> asyncio.Future[Any]:
        """The future response to a request sent with `send`."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[sequence_number] = future
        return future

    # The response as `Any`: a test reads the fields of the response class it expects, and the
    # assertions on them are the check.
    async def request(self, pdu: Pdu, timeout: float = TIMEOUT) -> Any:
        if not pdu.sequence_number:
            pdu.sequence_number = next(self._sequence)
        response = self.expect(pdu.sequence_number)
        self.send(pdu)
        return await asyncio.wait_for(response, timeout)

    async def next_request(self, timeout: float = TIMEOUT) -> Pdu:
        """The next PDU the SMSC sent on its own (deliver_sm, unbind, enquire_link)."""
        return await asyncio.wait_for(self.inbox.get(), timeout)

    async def wait_closed(self, timeout: float = TIMEOUT) -> None:
        await asyncio.wait_for(self.eof.wait(), timeout)

    async def close(self) -> None:
        self._task.cancel()
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()

    async def _read_loop(self) -> None:
        framer = Framer()
        try:
            while data := await self._reader.read(65536):
                for frame in framer.feed(data):
                    self._dispatch(decode(frame))
        except PDUError as exc:
            self.stream_error = exc
        except ConnectionError:
            pass
        finally:
            self.eof.set()

    def _dispatch(self, pdu: Pdu) -> None:
        if pdu.command_id & RESP_BIT:
            future = self._waiting.pop(pdu.sequence_number, None)
            if future is not None and not future.done():
                future.set_result(pdu)
            return
        if isinstance(pdu, DeliverSm):
            self.delivered.append(pdu)
            if self.auto_ack:
                self.send(DeliverSmResp(sequence_number=pdu.sequence_number))
        if pdu.command_id == CommandId.UNBIND and self.auto_ack:
            self.send(UnbindResp(sequence_number=pdu.sequence_number))
        self.inbox.put_nowait(pdu)
