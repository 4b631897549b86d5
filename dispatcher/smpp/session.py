"""One SMPP session: one TCP (optionally TLS) connection and one bind, as an asyncio.Protocol.

The hot path is synchronous: `fill()` pulls requests from a `WorkSource` while the window has
room, `data_received` frames and correlates the responses and pulls again. Every frame written
in one loop tick leaves in a single `transport.write`. While the transport's buffer is over its
high-water mark (`pause_writing`) the session takes no new work, so a slow SMSC cannot make
memory grow.

Provider rules held here (seed 004_80a28bca441860d4.txt):
- L2932-2934: every deliver_sm / data_sm is answered with status 0, even when its body cannot
  be decoded; never generic_nack. The answer is queued before the PDU is handed up.
- L2936-2938: enquire_link only after `enquire_link_idle` (60 s) without any inbound PDU; no
  enquire_link_resp within `enquire_link_timeout` -> unbind and close.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol, cast

import structlog

from dispatcher.clock import Clock
from dispatcher.smpp.errors import BindFailed
from dispatcher.smpp.observer import EngineObserver
from dispatcher.smpp.session_info import SessionInfo, SessionState
from dispatcher.smpp.settings import AccountSettings, BindMode
from dispatcher.smpp.timers import AtLeastTimer
from dispatcher.smpp.window import Window
from pdu import pdus
from pdu.codec import decode, encode
from pdu.constants import CommandStatus, status_name
from pdu.errors import PDUError
from pdu.framer import Framer

log = structlog.get_logger(__name__)

RESPONSE_BIT: Final = 0x80000000
_HEADER: Final = struct.Struct(">IIII")  # command_length, command_id, command_status, seq
_pack_seq: Final = struct.Struct(">I").pack

_BIND_PDUS: Final = {
    BindMode.TX: pdus.BindTransmitter,
    BindMode.RX: pdus.BindReceiver,
    BindMode.TRX: pdus.BindTransceiver,
}
# Answers whose only variable field is the sequence number: encoded once, sequence spliced in.
_DELIVER_SM_RESP: Final = encode(pdus.DeliverSmResp())
_DATA_SM_RESP: Final = encode(pdus.DataSmResp())
# deliver_sm / data_sm -> their answer's octets before and after the sequence number
_INBOUND_ACKS: Final = {
    pdus.DeliverSm.command_id: (_DELIVER_SM_RESP[:12], _DELIVER_SM_RESP[16:]),
    pdus.DataSm.command_id: (_DATA_SM_RESP[:12], _DATA_SM_RESP[16:]),
}
_ENQUIRE_LINK_RESP: Final = encode(pdus.EnquireLinkResp())
_UNBIND_RESP: Final = encode(pdus.UnbindResp())
_INVALID_COMMAND_NACK: Final = encode(
    pdus.GenericNack(command_status=CommandStatus.ESME_RINVCMDID)
)

# An Enum member lookup costs 0.2-0.5 µs on Python 3.11: the per-batch checks use this alias.
_BOUND: Final = SessionState.BOUND

# Called with every decoded deliver_sm / data_sm. It may return an awaitable that completes
# once the message is stored: the session then holds the answer until it does (or for
# `inbound_ack_timeout` at most), so an acknowledged message is never only in memory.
InboundHandler = Callable[[SessionInfo, Any], "Awaitable[object] | None"]
# Optional, asked first with every deliver_sm / data_sm frame: it reads the frames it knows
# itself (the daemon's receipts: pdu.receipt_frame), sparing their decoding, and returns what
# an InboundHandler returns; for any other frame it returns FRAME_NOT_READ and the session
# decodes the frame for the InboundHandler.
InboundFrameReader = Callable[[SessionInfo, bytes], object]
FRAME_NOT_READ: Final = object()


class Ticket(Protocol):
    """What a session carries in its window for one request it writes."""

    frame: bytes  # the whole encoded request; the session writes its own sequence_number
    sent_at: float  # set by the session (clock seconds) when the frame is written

    def on_response(self, session: SmppSession, command_status: int, frame: bytes) -> None:
        """The response came: its whole frame, for the ticket to read what it needs (most
        tickets need only the status, or the message_id: decoding every response whole was
        the costliest step of an answer)."""

    def on_lost(self, session: SmppSession, written: bool, reason: str) -> None:
        """No response will come: `written` False only when no byte of it reached the socket."""


class WorkSource(Protocol):
    def pull(self, session: SmppSession) -> Ticket | None:
        """The next request for this session, or None (nothing to send, or not now)."""


def with_sequence(frame: bytes, seq: int) -> bytes:
    """`frame` with its header's sequence_number replaced."""
    return frame[:12] + _pack_seq(seq) + frame[16:]


class _CallbackTicket:
    """A request the session makes for itself (bind, enquire_link, unbind)."""

    __slots__ = ("_done", "frame", "sent_at")

    def __init__(self, frame: bytes, done: Callable[[int | None, Any, str], None]) -> None:
        self.frame = frame
        self.sent_at = 0.0
        self._done = done

    def on_response(self, session: SmppSession, command_status: int, frame: bytes) -> None:
        self._done(command_status, session.decode_response(frame), "")

    def on_lost(self, session: SmppSession, written: bool, reason: str) -> None:
        self._done(None, None, reason)


class SmppSession(asyncio.Protocol):
    def __init__(
        self,
        settings: AccountSettings,
        info: SessionInfo,
        *,
        clock: Clock,
        source: WorkSource | None = None,
        on_inbound: InboundHandler | None = None,
        read_inbound_frame: InboundFrameReader | None = None,
        on_closed: Callable[[SmppSession], None] | None = None,
        observer: EngineObserver | None = None,
        first_sequence: int = 1,
    ) -> None:
        self.settings = settings
        self.info = info
        self._clock = clock
        self._source = source if info.mode.can_submit else None
        self._on_inbound = on_inbound
        self._read_inbound_frame = read_inbound_frame
        self._on_closed = on_closed
        self._observer = observer or EngineObserver()
        self._loop = asyncio.get_running_loop()
        self._state = SessionState.CONNECTING
        self._transport: asyncio.Transport | None = None
        self._framer = Framer(settings.max_command_length)
        self._window: Window[Ticket] = Window(
            settings.window, settings.response_timeout, first_sequence
        )
        self._out: list[bytes] = []
        self._flush_handle: asyncio.Handle | None = None
        self._can_write = True
        self._throttled = False
        self._throttle_timer: AtLeastTimer | None = None
        self._expiry_handle: asyncio.TimerHandle | None = None
        self._idle_handle: asyncio.TimerHandle | None = None
        self._enquire_timeout_handle: asyncio.TimerHandle | None = None
        # clock time the last inbound PDUs were read (the answers of one read share it)
        self.last_inbound = clock.monotonic()
        self._drained: asyncio.Future[None] | None = None
        self._closing_task: asyncio.Task[None] | None = None
        self._closed: asyncio.Future[str] = self._loop.create_future()
        self.close_reason: str | None = None
        # answers held for a store to finish, grouped by what the handler returned: a batched
        # store hands one future to every message of a batch, so a batch of receipts costs
        # one callback and one timer, not one per receipt
        self._held_acks: dict[Awaitable[object], list[bytes]] = {}

    def __repr__(self) -> str:
        return f"<SmppSession {self.info} {self._state.value}>"

    # ---- state -------------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def in_flight(self) -> int:
        return len(self._window)

    @property
    def is_bound(self) -> bool:
        return self._state is SessionState.BOUND

    def _set_state(self, state: SessionState) -> None:
        self._state = state
        self._observer.session_state(self.info, state)

    # ---- connecting and binding --------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        settings: AccountSettings,
        info: SessionInfo,
        *,
        clock: Clock,
        **kwargs: Any,
    ) -> SmppSession:
        """Connect and bind; BindFailed (the connection closed) when either does not succeed."""
        loop = asyncio.get_running_loop()
        session = cls(settings, info, clock=clock, **kwargs)
        session._set_state(SessionState.CONNECTING)
        tls = settings.tls
        try:
            await clock.wait_for(
                loop.create_connection(
                    lambda: session,
                    info.host,
                    info.port,
                    ssl=tls,
                    server_hostname=info.host if tls is not None else None,
                ),
                settings.bind_timeout,
            )
        except (OSError, TimeoutError) as exc:
            session._set_state(SessionState.CLOSED)
            reason = "connect timed out" if isinstance(exc, TimeoutError) else str(exc)
            raise BindFailed(f"connect to {info.host}:{info.port} failed: {reason}") from None
        await session._bind()
        return session

    async def _bind(self) -> None:
        if self._closed.done():  # the SMSC closed the connection as soon as it was opened
            raise BindFailed(f"connection closed before the bind: {self.close_reason}")
        self._set_state(SessionState.BINDING)
        s = self.settings
        request = _BIND_PDUS[self.info.mode](
            system_id=s.system_id,
            password=s.password,
            system_type=s.system_type,
            interface_version=s.interface_version,
            addr_ton=s.addr_ton,
            addr_npi=s.addr_npi,
            address_range=s.address_range,
        )
        answer: asyncio.Future[tuple[int | None, str]] = self._loop.create_future()

        def done(command_status: int | None, pdu: Any, reason: str) -> None:
            if not answer.done():
                answer.set_result((command_status, reason))

        self._request(request, done)
        try:
            command_status, reason = await self._clock.wait_for(answer, s.bind_timeout)
        except TimeoutError:
            await self._shut("no bind_resp")
            raise BindFailed(f"no bind_resp within {s.bind_timeout:g} s") from None
        if command_status is None:
            await self._shut(reason)
            raise BindFailed(f"connection lost while binding: {reason}")
        if command_status != CommandStatus.ESME_ROK:
            await self._shut("bind refused")
            raise BindFailed(f"bind refused: {status_name(command_status)}", command_status)
        self._set_state(SessionState.BOUND)
        self._arm_idle_timer(s.enquire_link_idle)
        self.fill()

    # ---- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A TCP transport (uvloop's is not an asyncio.Transport subclass, hence the cast).
        self._transport = cast(asyncio.Transport, transport)

    def pause_writing(self) -> None:
        self._can_write = False

    def resume_writing(self) -> None:
        self._can_write = True
        self.fill()

    def data_received(self, data: bytes) -> None:
        try:
            frames = self._framer.feed(data)
        except PDUError as exc:
            log.error("smpp.malformed_frame", session=str(self.info), error=str(exc))
            self._reset(f"malformed frame: {exc}")
            return
        if not frames:
            return
        self.last_inbound = self._clock.monotonic()
        window = self._window
        for frame in frames:
            _, command_id, command_status, seq = _HEADER.unpack_from(frame)
            try:
                if command_id & RESPONSE_BIT:
                    ticket = window.pop(seq)
                    if ticket is None:
                        self._late_response(command_id, seq)
                        continue
                    ticket.on_response(self, command_status, frame)
                else:
                    self._on_request(command_id, seq, frame)
            except Exception:
                log.exception("smpp.frame_handling_failed", session=str(self.info))
        self._note_drained()
        self.fill()

    def connection_lost(self, exc: Exception | None) -> None:
        reason = self.close_reason or (f"connection lost: {exc}" if exc else "closed by the SMSC")
        self.close_reason = reason
        self._transport = None
        for handle in (
            self._flush_handle,
            self._throttle_timer,
            self._expiry_handle,
            self._idle_handle,
            self._enquire_timeout_handle,
        ):
            if handle is not None:
                handle.cancel()
        never_written = {_HEADER.unpack_from(frame)[3] for frame in self._out}
        self._out.clear()
        self._set_state(SessionState.CLOSED)
        for seq, ticket in self._window.take_all():
            self._report_lost(ticket, seq not in never_written, reason)
        self._note_drained()
        if not self._closed.done():
            self._closed.set_result(reason)
        if self._on_closed is not None:
            try:
                self._on_closed(self)
            except Exception:
                log.exception("smpp.on_closed_failed", session=str(self.info))

    def decode_response(self, frame: bytes) -> Any:
        """The PDU of a response frame a ticket was handed, or None (logged) when its body
        cannot be decoded."""
        try:
            return decode(frame)
        except PDUError as exc:
            log.warning(
                "smpp.undecodable_response",
                session=str(self.info),
                command_id=f"0x{_HEADER.unpack_from(frame)[1]:08X}",
                error=str(exc),
            )
            return None

    def _report_lost(self, ticket: Ticket, written: bool, reason: str) -> None:
        """A request that will get no answer: written ones are in doubt (maybe accepted)."""
        if written:
            self._observer.in_doubt(self.info, reason)
        try:
            ticket.on_lost(self, written, reason)
        except Exception:
            log.exception("smpp.ticket_on_lost_failed", session=str(self.info))

    def _note_drained(self) -> None:
        """Wake a graceful close waiting for the window to empty, once it has."""
        if self._drained is not None and not self._window and not self._drained.done():
            self._drained.set_result(None)

    # ---- requests from the SMSC --------------------------------------------------------------

    def _on_request(self, command_id: int, seq: int, frame: bytes) -> None:
        ack_octets = _INBOUND_ACKS.get(command_id)
        if ack_octets is not None:  # deliver_sm or data_sm: the receipts and MO (the hot path)
            # seed L2932-2934: ack with status 0, always, before anything else happens to it.
            ack = ack_octets[0] + _pack_seq(seq) + ack_octets[1]
            stored: object = FRAME_NOT_READ
            if self._read_inbound_frame is not None:
                try:
                    stored = self._read_inbound_frame(self.info, frame)
                except Exception:  # a fault of the reader's: the general way still has a go
                    log.exception("smpp.inbound_frame_reader_failed", session=str(self.info))
            if stored is FRAME_NOT_READ:
                try:
                    pdu = decode(frame)
                except PDUError as exc:
                    self._queue(ack)
                    log.warning(
                        "smpp.undecodable_inbound_acked", session=str(self.info), error=str(exc)
                    )
                    return
                stored = None
                if self._on_inbound is not None:
                    try:
                        stored = self._on_inbound(self.info, pdu)
                    except Exception:
                        log.exception("smpp.inbound_handler_failed", session=str(self.info))
            if stored is None:
                self._queue(ack)
            else:
                self._ack_when_stored(ack, cast("Awaitable[object]", stored))
        elif command_id == pdus.EnquireLink.command_id:
            self._queue(with_sequence(_ENQUIRE_LINK_RESP, seq))
        elif command_id == pdus.Unbind.command_id:
            self._queue(with_sequence(_UNBIND_RESP, seq))
            log.info("smpp.unbind_from_smsc", session=str(self.info))
            self.close_reason = "unbind from the SMSC"
            if self._state is not SessionState.CLOSED:
                self._set_state(SessionState.UNBINDING)
            self._flush()
            if self._transport is not None:
                self._transport.close()
        elif command_id in (pdus.AlertNotification.command_id, pdus.Outbind.command_id):
            log.info("smpp.ignored_request", session=str(self.info), command_id=hex(command_id))
        else:
            log.warning(
                "smpp.unknown_request_nacked", session=str(self.info), command_id=hex(command_id)
            )
            self._queue(with_sequence(_INVALID_COMMAND_NACK, seq))

    def _ack_when_stored(self, ack: bytes, stored: Awaitable[object]) -> None:
        """Status 0 whatever happens; only the moment waits for the store (bounded)."""
        held = self._held_acks.get(stored)
        if held is not None:
            held.append(ack)
            return
        held = self._held_acks[stored] = [ack]
        future = asyncio.ensure_future(stored)

        def answer(*_: object) -> None:
            if self._held_acks.get(stored) is not held:
                # answered already (the store finished, or the timer ran out; a later group
                # may wait on the same store meanwhile)
                return
            del self._held_acks[stored]
            timer.cancel()
            if self._state is not SessionState.CLOSED:
                for each in held:
                    self._queue(each)

        timer = self._clock.call_later(self.settings.inbound_ack_timeout, answer)
        future.add_done_callback(answer)

    def _late_response(self, command_id: int, seq: int) -> None:
        log.warning(
            "smpp.unmatched_response",
            session=str(self.info),
            command_id=f"0x{command_id:08X}",
            sequence_number=seq,
        )
        self._observer.late_response(self.info, command_id, seq)

    # ---- writing -----------------------------------------------------------------------------

    def fill(self) -> None:
        """Write requests from the source while the window has room (the hot path)."""
        if (
            self._source is None
            or self._state is not _BOUND
            or self._throttled
            or not self._can_write
        ):
            return
        window = self._window
        room = window.size - len(window)  # nothing else touches the window during this loop
        if room <= 0:
            return
        pull = self._source.pull
        out = self._out
        now = self._clock.monotonic()
        wrote = False
        while room:
            ticket = pull(self)
            if ticket is None:
                break
            seq = window.next_sequence()
            frame = ticket.frame
            out.append(frame[:12] + _pack_seq(seq) + frame[16:])
            ticket.sent_at = now
            window.add(seq, ticket, now)
            room -= 1
            wrote = True
        if wrote:
            if self._flush_handle is None:
                self._flush_handle = self._loop.call_soon(self._flush)
            if self._expiry_handle is None:
                self._arm_expiry(now)

    def _queue(self, frame: bytes) -> None:
        self._out.append(frame)
        if self._flush_handle is None:
            self._flush_handle = self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        if not self._out or self._transport is None:
            return
        data = b"".join(self._out)
        self._out.clear()
        self._transport.write(data)
        self._observer.window_occupancy(self.info, len(self._window), self._window.size)

    def _request(self, request: Any, done: Callable[[int | None, Any, str], None]) -> None:
        """Send one of our own requests (bind, enquire_link, unbind) outside the timed window."""
        if self._closed.done():
            done(None, None, self.close_reason or "closed")
            return
        seq = self._window.next_sequence()
        request.sequence_number = seq
        frame = encode(request)
        self._window.add_untimed(seq, _CallbackTicket(frame, done))
        self._queue(frame)

    # ---- throttling (seed L2962-2963) --------------------------------------------------------

    def pause(self, seconds: float) -> None:
        """Send nothing new for `seconds` (ESME_RTHROTTLED); a new pause restarts the time."""
        self._throttled = True
        if self._throttle_timer is not None:
            self._throttle_timer.cancel()
        self._throttle_timer = AtLeastTimer(self._clock, seconds, self._end_pause)
        self._observer.throttle_pause(self.info, seconds)

    def _end_pause(self) -> None:
        self._throttle_timer = None
        self._throttled = False
        self.fill()

    # ---- response timeouts -------------------------------------------------------------------

    def _arm_expiry(self, now: float) -> None:
        deadline = self._window.next_deadline()
        if deadline is not None:
            self._expiry_handle = self._clock.call_later(deadline - now, self._on_expiry)

    def _on_expiry(self) -> None:
        self._expiry_handle = None
        now = self._clock.monotonic()
        expired = self._window.expire(now)
        if expired:
            reason = f"no response within {self._window.timeout:g} s"
            log.warning("smpp.response_timeout", session=str(self.info), requests=len(expired))
            for ticket in expired:
                self._report_lost(ticket, True, reason)
            self._note_drained()
        self._arm_expiry(now)
        self.fill()

    # ---- keep-alive (seed L2936-2938) --------------------------------------------------------

    def _arm_idle_timer(self, delay: float) -> None:
        self._idle_handle = self._clock.call_later(delay, self._on_idle_timer)

    def _on_idle_timer(self) -> None:
        self._idle_handle = None
        if self._state is not SessionState.BOUND:
            return
        idle = self._clock.monotonic() - self.last_inbound
        remaining = self.settings.enquire_link_idle - idle
        if remaining > 0:
            self._arm_idle_timer(remaining)
            return
        self._request(pdus.EnquireLink(), self._on_enquire_link_answer)
        self._enquire_timeout_handle = self._clock.call_later(
            self.settings.enquire_link_timeout, self._on_enquire_link_timeout
        )

    def _on_enquire_link_answer(self, command_status: int | None, pdu: Any, reason: str) -> None:
        if self._enquire_timeout_handle is not None:
            self._enquire_timeout_handle.cancel()
            self._enquire_timeout_handle = None
        if command_status is not None and self._state is SessionState.BOUND:
            self._arm_idle_timer(self.settings.enquire_link_idle)

    def _on_enquire_link_timeout(self) -> None:
        self._enquire_timeout_handle = None
        log.warning(
            "smpp.enquire_link_unanswered",
            session=str(self.info),
            timeout=self.settings.enquire_link_timeout,
        )
        self.start_close(0.0, "no enquire_link_resp")

    # ---- closing -----------------------------------------------------------------------------

    async def wait_closed(self) -> str:
        """Wait until the connection is closed; the reason it closed."""
        return await asyncio.shield(self._closed)

    def start_close(self, drain_timeout: float, reason: str) -> None:
        """`close()` in the background (from a callback that cannot await)."""
        if self._closing_task is None and self._state is not SessionState.CLOSED:
            self._closing_task = self._loop.create_task(self.close(drain_timeout, reason))

    async def close(self, drain_timeout: float, reason: str = "closed by us") -> None:
        """Graceful close: no new work; wait up to `drain_timeout` for the window to empty;
        unbind and wait up to `unbind_timeout` for unbind_resp; close the connection. Requests
        still in the window then are reported lost (IN DOUBT)."""
        if self._state in (SessionState.UNBINDING, SessionState.CLOSED):
            await self.wait_closed()
            return
        was_bound = self._state is SessionState.BOUND
        self.close_reason = reason
        self._set_state(SessionState.UNBINDING)
        if was_bound and self._window and drain_timeout > 0:
            self._drained = self._loop.create_future()
            try:
                await self._clock.wait_for(asyncio.shield(self._drained), drain_timeout)
            except TimeoutError:
                log.warning(
                    "smpp.close_with_requests_in_flight",
                    session=str(self.info),
                    in_flight=len(self._window),
                )
        if was_bound and self._transport is not None:
            answered: asyncio.Future[None] = self._loop.create_future()

            def done(command_status: int | None, pdu: Any, why: str) -> None:
                if not answered.done():
                    answered.set_result(None)

            self._request(pdus.Unbind(), done)
            try:
                await self._clock.wait_for(answered, self.settings.unbind_timeout)
            except TimeoutError:
                log.warning("smpp.no_unbind_resp", session=str(self.info))
        await self._shut(reason)

    async def _shut(self, reason: str) -> None:
        """Close the transport (flushing what is queued) and wait until it is really gone."""
        if self.close_reason is None:
            self.close_reason = reason
        transport = self._transport
        if transport is None:
            if not self._closed.done():  # never connected: nothing will call connection_lost
                self.connection_lost(None)
            return
        self._flush()
        transport.close()
        try:
            await self._clock.wait_for(self.wait_closed(), self.settings.unbind_timeout)
        except TimeoutError:
            transport.abort()
            await self.wait_closed()

    def _reset(self, reason: str) -> None:
        """Drop the connection at once (a stream we can no longer frame)."""
        self.close_reason = reason
        if self._transport is not None:
            self._transport.abort()
