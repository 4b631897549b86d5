"""One client connection: the SMPP 3.4 session state machine on the SMSC side.

Requests are answered as they are read and the answers of one loop tick go out in one write
(the engine benchmark drives 30,000+ submit_sm/s through this). A submit_sm is decoded beyond
its header only when something needs its body (recording, receipts, a per-destination rule).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import Final, Protocol, cast

from dispatcher.clock import Clock
from dispatcher.smsc_sim.config import SimConfig
from dispatcher.smsc_sim.delivery import OutboundDeliver
from dispatcher.smsc_sim.message_center import MessageCenter
from dispatcher.smsc_sim.records import (
    BindMode,
    DeliverRecord,
    EnquireLinkRecord,
    Recording,
    SessionRecord,
)
from dispatcher.smsc_sim.wire import deliver_sm_header, header_frame
from pdu.codec import decode, encode
from pdu.constants import RESP_BIT, CommandId, CommandStatus, command_name, status_name
from pdu.errors import PDUError
from pdu.framer import Framer
from pdu.pdus import (
    BindReceiverResp,
    BindRequest,
    BindTransceiverResp,
    BindTransmitterResp,
    CancelSm,
    DataSm,
    EnquireLink,
    EnquireLinkResp,
    QuerySm,
    ReplaceSm,
    SubmitMulti,
    Unbind,
    UnbindResp,
)
from pdu.tlv import Tag

_HEADER: Final = struct.Struct(">IIII")
_MAX_SEQUENCE: Final = 0x7FFFFFFF
# command_length 10 is below the 16-octet header: no SMPP reader can frame past it.
GARBAGE_FRAME: Final = _HEADER.pack(10, 0xDEADBEEF, 0, 0)
_SUBMIT_LIKE: Final = frozenset({CommandId.SUBMIT_SM, CommandId.DATA_SM, CommandId.SUBMIT_MULTI})
BindResp = BindTransmitterResp | BindReceiverResp | BindTransceiverResp
_BIND_RESPONSES: Final[dict[int, tuple[BindMode, type[BindResp]]]] = {
    CommandId.BIND_TRANSMITTER: ("tx", BindTransmitterResp),
    CommandId.BIND_RECEIVER: ("rx", BindReceiverResp),
    CommandId.BIND_TRANSCEIVER: ("trx", BindTransceiverResp),
}
_INTERFACE_VERSION_TLV: Final = {Tag.SC_INTERFACE_VERSION: b"\x34"}
# SMPP 3.4 §5.1.3: a request the session's bind state does not allow.
_UNBOUND: Final = CommandStatus.ESME_RINVBNDSTS
_DELIVER_SM_RESP: Final = int(CommandId.DELIVER_SM_RESP)

Handler = Callable[[bytes, int], None]


class SessionHost(Protocol):
    """What a session needs of the simulator that accepted its connection (smsc_sim.server's
    SmscSimulator): the shared settings, recording and message center, and the bookkeeping of
    connections and binds across sessions."""

    clock: Clock
    config: SimConfig
    recording: Recording
    messages: MessageCenter

    def connection_opened(self, session: SmscSession) -> bool: ...

    def authorize_bind(
        self, session: SmscSession, system_id: str, password: str, mode: BindMode
    ) -> int: ...

    def session_bound(self, session: SmscSession) -> None: ...

    def session_unbinding(self, session: SmscSession) -> None: ...

    def session_closed(
        self, session: SmscSession, unacknowledged: list[OutboundDeliver]
    ) -> None: ...

    def violation(self, text: str) -> None: ...


class SmscSession(asyncio.Protocol):
    def __init__(self, sim: SessionHost, session_id: int) -> None:
        self._sim = sim
        self._clock = sim.clock
        self.session_id = session_id
        self.record = SessionRecord(session_id, peer="", opened=self._clock.monotonic())
        self.system_id: str | None = None
        self.mode: BindMode | None = None
        self.unbinding = False
        self._loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[None] = self._loop.create_future()
        self._transport: asyncio.Transport | None = None
        self._closing = False
        self._framer = Framer()
        self._out: list[bytes] = []
        self._answers_in_out = 0
        self._flush_scheduled = False
        self._outstanding = 0
        self._last_sent = self.record.opened
        self._sequence = 0
        # deliver_sm sent and not yet acknowledged, and (while recording) their records
        self._awaiting_ack: dict[int, OutboundDeliver] = {}
        self._deliver_records: dict[int, DeliverRecord] = {}
        self._unbind_timer: asyncio.TimerHandle | None = None
        self._link_checks: dict[int, asyncio.Future[None]] = {}
        self._handlers: dict[int, Handler] = {
            CommandId.BIND_TRANSMITTER: self._on_bind,
            CommandId.BIND_RECEIVER: self._on_bind,
            CommandId.BIND_TRANSCEIVER: self._on_bind,
            CommandId.SUBMIT_SM: self._on_submit_sm,
            CommandId.DATA_SM: self._on_data_sm,
            CommandId.SUBMIT_MULTI: self._on_submit_multi,
            CommandId.QUERY_SM: self._on_query_sm,
            CommandId.CANCEL_SM: self._on_cancel_sm,
            CommandId.REPLACE_SM: self._on_replace_sm,
            CommandId.ENQUIRE_LINK: self._on_enquire_link,
            CommandId.UNBIND: self._on_unbind,
            CommandId.UNBIND_RESP: self._on_unbind_resp,
            CommandId.GENERIC_NACK: self._on_generic_nack,
            CommandId.ENQUIRE_LINK_RESP: self._on_enquire_link_resp,
        }

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport implements asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.record.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        if not self._sim.connection_opened(self):
            self._closing = True
            transport.close()

    def data_received(self, data: bytes) -> None:
        if not self.is_open:
            return
        try:
            frames = self._framer.feed(data)
        except PDUError as exc:
            # The stream has lost its framing: no later PDU can be found, so drop the link.
            self._sim.violation(f"session {self.session_id}: unreadable stream ({exc})")
            self._write(header_frame(CommandId.GENERIC_NACK, CommandStatus.ESME_RINVCMDLEN, 0))
            self.close()
            return
        # Faults are changed by tests between reads, never while one is handled: whether any
        # per-PDU fault is set is looked up once per read.
        faults = self._sim.config.faults
        inject_faults = (
            faults.garbage_after_pdus is not None
            or faults.unbind_after_pdus is not None
            or faults.drop_after_pdus is not None
        )
        for frame in frames:
            if self._closing:  # a fault or an unbind closed it mid-chunk
                return
            self._handle(frame)
            if inject_faults:
                self._inject_faults()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._transport = None
        if self._unbind_timer is not None:
            self._unbind_timer.cancel()
        self.record.closed = self._clock.monotonic()
        unacknowledged = list(self._awaiting_ack.values())
        self._awaiting_ack.clear()
        self._sim.session_closed(self, unacknowledged)
        if not self.closed.done():
            self.closed.set_result(None)

    # ------------------------------------------------------------------ what the server calls

    @property
    def is_open(self) -> bool:
        return not self._closing

    def respond(self, frame: bytes, delay: float = 0.0) -> None:
        """Answer a submit_sm / data_sm / submit_multi, now or after `delay` clock seconds."""
        if delay > 0:
            self._clock.call_later(delay, self._write_answer, frame)
            return
        # _write_answer, written out: this is once per submit_sm
        if self._closing:
            return
        self._answers_in_out += 1
        self._out.append(frame)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def send_delivers(self, items: list[OutboundDeliver]) -> None:
        """Send these deliver_sm, numbered in order, in this tick's write."""
        record = self._sim.config.record
        awaiting_ack = self._awaiting_ack
        out = self._out
        sequence_number = self._sequence
        for item in items:
            sequence_number = sequence_number % _MAX_SEQUENCE + 1  # as _next_sequence numbers
            awaiting_ack[sequence_number] = item
            if record:
                self._record_deliver(sequence_number, item)
            # header and body as two pieces of the write: no copy of the body to join them
            out += (deliver_sm_header(sequence_number, len(item.body)), item.body)
        self._sequence = sequence_number
        self._schedule_flush()

    def _record_deliver(self, sequence_number: int, item: OutboundDeliver) -> None:
        record = DeliverRecord(
            self._clock.monotonic(), self.session_id, sequence_number, item.kind, item.message_id
        )
        self._deliver_records[sequence_number] = record
        self._sim.recording.delivers.append(record)

    def start_unbind(self) -> None:
        """Unbind from the server side; the connection closes on unbind_resp or after
        `SimConfig.unbind_timeout`."""
        if self._closing or self.unbinding:
            return
        if self.mode is None:
            self.close()
            return
        self.unbinding = True
        self._sim.session_unbinding(self)
        self._write(encode(Unbind(sequence_number=self._next_sequence())))
        self._unbind_timer = self._clock.call_later(self._sim.config.unbind_timeout, self.close)

    def send_enquire_link(self) -> asyncio.Future[None]:
        """Ask the client whether it is alive; the future resolves on its enquire_link_resp."""
        sequence_number = self._next_sequence()
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._link_checks[sequence_number] = answered
        self._write(encode(EnquireLink(sequence_number=sequence_number)))
        return answered

    def send_garbage(self) -> None:
        if not self._closing:
            self._write(GARBAGE_FRAME)

    def close(self) -> None:
        """Close after what is queued has been written."""
        self._flush()
        self._closing = True
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        """Drop the TCP connection at once (no unbind, unwritten output lost)."""
        self._closing = True
        if self._transport is not None:
            self._transport.abort()

    # ------------------------------------------------------------------ dispatch

    def _handle(self, frame: bytes) -> None:
        _, command_id, command_status, sequence_number = _HEADER.unpack_from(frame)
        self.record.pdus_received += 1
        if command_id == _DELIVER_SM_RESP:  # one per receipt: its status is read here
            self._on_deliver_sm_resp(command_status, sequence_number)
            return
        handler = self._handlers.get(command_id)
        try:
            if handler is not None:
                handler(frame, sequence_number)
            elif not command_id & RESP_BIT:
                # SMPP 3.4 §4.3: an id the SMSC does not take from an ESME (unknown, outbind,
                # deliver_sm, alert_notification) is answered with generic_nack.
                self._write(
                    header_frame(
                        CommandId.GENERIC_NACK, CommandStatus.ESME_RINVCMDID, sequence_number
                    )
                )
        except PDUError as exc:
            self._sim.violation(
                f"session {self.session_id}: malformed {command_name(command_id)} "
                f"seq {sequence_number} ({exc})"
            )
            nack = header_frame(
                CommandId.GENERIC_NACK, CommandStatus.ESME_RINVCMDLEN, sequence_number
            )
            self._write_answer(nack) if command_id in _SUBMIT_LIKE else self._write(nack)

    def _inject_faults(self) -> None:
        faults = self._sim.config.faults
        count = self.record.pdus_received
        if faults.garbage_after_pdus == count:
            self.send_garbage()
        if faults.unbind_after_pdus == count:
            self.start_unbind()
        if faults.drop_after_pdus == count:
            self.close()

    # ------------------------------------------------------------------ handlers

    def _on_bind(self, frame: bytes, sequence_number: int) -> None:
        request = decode(frame)
        assert isinstance(request, BindRequest)
        mode, response_class = _BIND_RESPONSES[request.command_id]
        if self.mode is not None:
            status = CommandStatus.ESME_RALYBND
        else:
            status = self._sim.authorize_bind(self, request.system_id, request.password, mode)
        if status != CommandStatus.ESME_ROK:
            self._write(header_frame(response_class.command_id, status, sequence_number))
            if self.mode is None:
                self.close()
            return
        self.system_id, self.mode = request.system_id, mode
        self.record.system_id, self.record.mode = request.system_id, mode
        self._write(
            encode(
                response_class(
                    system_id=self._sim.config.smsc_system_id,
                    tlvs=dict(_INTERFACE_VERSION_TLV),
                    sequence_number=sequence_number,
                )
            )
        )
        self._sim.session_bound(self)

    def _may_submit(self) -> bool:
        return self.mode in ("tx", "trx") and not self.unbinding

    def _begin_submit(self) -> None:
        self._outstanding += 1
        if self._outstanding > self.record.max_outstanding:
            self.record.max_outstanding = self._outstanding

    def _refuse_unbound(self, response_id: int, sequence_number: int) -> None:
        self.respond(header_frame(response_id, _UNBOUND, sequence_number))

    def _on_submit_sm(self, frame: bytes, sequence_number: int) -> None:
        self._begin_submit()
        if not self._may_submit():
            self._refuse_unbound(CommandId.SUBMIT_SM_RESP, sequence_number)
            return
        self._sim.messages.submit_sm(self, frame, sequence_number)

    def _on_data_sm(self, frame: bytes, sequence_number: int) -> None:
        self._begin_submit()
        if not self._may_submit():
            self._refuse_unbound(CommandId.DATA_SM_RESP, sequence_number)
            return
        request = decode(frame)
        assert isinstance(request, DataSm)
        self._sim.messages.data_sm(self, request)

    def _on_submit_multi(self, frame: bytes, sequence_number: int) -> None:
        self._begin_submit()
        if not self._may_submit():
            self._refuse_unbound(CommandId.SUBMIT_MULTI_RESP, sequence_number)
            return
        request = decode(frame)
        assert isinstance(request, SubmitMulti)
        self._sim.messages.submit_multi(self, request)

    def _on_query_sm(self, frame: bytes, sequence_number: int) -> None:
        if not self._may_submit():
            self._write(header_frame(CommandId.QUERY_SM_RESP, _UNBOUND, sequence_number))
            return
        request = decode(frame)
        assert isinstance(request, QuerySm)
        self._write(self._sim.messages.query_sm(self, request))

    def _on_cancel_sm(self, frame: bytes, sequence_number: int) -> None:
        if not self._may_submit():
            self._write(header_frame(CommandId.CANCEL_SM_RESP, _UNBOUND, sequence_number))
            return
        request = decode(frame)
        assert isinstance(request, CancelSm)
        self._write(self._sim.messages.cancel_sm(self, request))

    def _on_replace_sm(self, frame: bytes, sequence_number: int) -> None:
        if not self._may_submit():
            self._write(header_frame(CommandId.REPLACE_SM_RESP, _UNBOUND, sequence_number))
            return
        request = decode(frame)
        assert isinstance(request, ReplaceSm)
        self._write(self._sim.messages.replace_sm(self, request))

    def _on_enquire_link(self, frame: bytes, sequence_number: int) -> None:
        faults = self._sim.config.faults
        answered = not (faults.ignore_enquire_link or faults.silent)
        if self._sim.config.record:
            now = self._clock.monotonic()
            self._sim.recording.enquire_links.append(
                EnquireLinkRecord(now, self.session_id, now - self._last_sent, answered)
            )
        if answered:
            self._write(encode(EnquireLinkResp(sequence_number=sequence_number)))

    def _on_enquire_link_resp(self, frame: bytes, sequence_number: int) -> None:
        answered = self._link_checks.pop(sequence_number, None)
        if answered is not None and not answered.done():
            answered.set_result(None)

    def _on_unbind(self, frame: bytes, sequence_number: int) -> None:
        self._sim.session_unbinding(self)
        self.unbinding = True
        self._write(encode(UnbindResp(sequence_number=sequence_number)))
        self.close()

    def _on_unbind_resp(self, frame: bytes, sequence_number: int) -> None:
        if self.unbinding:
            self.close()

    def _on_deliver_sm_resp(self, command_status: int, sequence_number: int) -> None:
        item = self._awaiting_ack.pop(sequence_number, None)
        if item is None:
            self._sim.violation(
                f"session {self.session_id}: deliver_sm_resp for seq {sequence_number}, "
                "which the simulator never sent or was already answered"
            )
            return
        if self._deliver_records:
            record = self._deliver_records.pop(sequence_number, None)
            if record is not None:
                record.ack_status = command_status
        if command_status != CommandStatus.ESME_ROK:
            self._sim.violation(
                f"session {self.session_id}: deliver_sm_resp with {status_name(command_status)}; "
                "seed 004 L2932-2933 requires status 0 for every deliver_sm"
            )
        if item.on_ack is not None:
            item.on_ack(command_status)

    def _on_generic_nack(self, frame: bytes, sequence_number: int) -> None:
        # seed 004_80a28bca441860d4.txt L2933-2934: "Generic_nack не допускаются! В случае
        # отправки будет произведен сброс сессии путем отправки пакета unbind".
        self._sim.violation(
            f"session {self.session_id}: client sent generic_nack (seq {sequence_number}); "
            "seed 004 L2933-2934: the SMSC answers with unbind"
        )
        self.start_unbind()

    # ------------------------------------------------------------------ output

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % _MAX_SEQUENCE + 1
        return self._sequence

    def _write(self, frame: bytes) -> None:
        self._out.append(frame)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _write_answer(self, frame: bytes) -> None:
        if self._closing:
            return
        self._answers_in_out += 1
        self._write(frame)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._out:
            return
        out, self._out = self._out, []
        answers, self._answers_in_out = self._answers_in_out, 0
        if self._transport is None or self._transport.is_closing():
            return
        if self._sim.config.faults.silent:
            return  # a hung SMSC: nothing goes out, the answers stay outstanding
        self._transport.write(b"".join(out))
        self._outstanding -= answers
        self._last_sent = self._clock.monotonic()
