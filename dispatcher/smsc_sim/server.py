"""`SmscSimulator`: the listening SMSC, its accounts and sessions, and the test controls.

Per-connection protocol work is in session.py and what happens to messages in
message_center.py; this module listens, admits binds (passwords, the session limit), tracks
sessions and offers the controls a test drives (MO injection, server unbinds, enquire_link,
garbage, drops, stop and listen again).

Connections, binds and sessions are recorded always (they are few); per-message records
(submits, enquire_links, deliveries, re-joined messages, violations) and the message store
only while `SimConfig.record` is on.
"""

from __future__ import annotations

import asyncio
import hmac
from collections import defaultdict
from collections.abc import Callable
from itertools import count
from typing import Final

import structlog

from dispatcher.clock import Clock, SystemClock
from dispatcher.smsc_sim.config import SimConfig
from dispatcher.smsc_sim.delivery import DeliveryRouter, OutboundDeliver
from dispatcher.smsc_sim.message_center import MessageCenter
from dispatcher.smsc_sim.mo import build_mo
from dispatcher.smsc_sim.records import BindAttempt, BindMode, ConnectionAttempt, Recording
from dispatcher.smsc_sim.session import SmscSession
from pdu.codec import encode
from pdu.constants import HEADER_LENGTH, CommandStatus, status_name

log = structlog.get_logger("dispatcher.smsc_sim")

# How long `stop()` lets connections flush before it cuts them (real seconds).
_STOP_GRACE_SECONDS: Final = 1.0


class SmscSimulator:
    """An SMPP 3.4 SMSC on a TCP port. See the package docstring for an example.

    Change behaviour while running by mutating `sim.config` and `sim.config.faults` (fields or
    the whole `faults`); do not replace `sim.config` itself, the policy reads it in place.
    """

    def __init__(self, config: SimConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config if config is not None else SimConfig()
        self.clock = clock if clock is not None else SystemClock()
        self.recording = Recording()
        self._router = DeliveryRouter()
        self.messages = MessageCenter(
            self.config, self.clock, self.recording, self._router, self.violation
        )
        self._server: asyncio.Server | None = None
        self._sessions: set[SmscSession] = set()
        self._bound: dict[str, set[SmscSession]] = defaultdict(set)
        self._session_ids = count(1)
        self._mo_references = count(1)
        self._host = ""
        self._port = 0

    # ------------------------------------------------------------------ listening

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen (port 0: any free port, then read `sim.port`). Messages, pending receipts and
        recordings survive `stop()` / `start()`, as on an SMSC that restarts its listener."""
        if self._server is not None:
            raise RuntimeError("the simulator is already listening")
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SmscSession(self, next(self._session_ids)), host, port, reuse_address=True
        )
        self._host, self._port = self._server.sockets[0].getsockname()[:2]
        log.info("smsc_sim.listening", host=self._host, port=self._port)

    @property
    def port(self) -> int:
        return self._port

    @property
    def host(self) -> str:
        return self._host

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def stop(self) -> None:
        """Stop listening and close every connection (no unbind: call `unbind_all()` first for
        a polite shutdown). Receipts not yet acknowledged wait for the next bind."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        await self._close_sessions(list(self._sessions), graceful=True)
        if server is not None:
            await server.wait_closed()
            log.info("smsc_sim.stopped", port=self._port)

    # ------------------------------------------------------------------ test controls

    async def send_mo(
        self,
        system_id: str,
        source: str,
        destination: str,
        text: str,
        *,
        parts: int | None = None,
        method: str = "udh",
        coding: str = "auto",
        reference: int | None = None,
    ) -> list[int]:
        """Deliver an incoming SMS to a bound rx/trx session of `system_id` (waiting for one
        to bind) and return the deliver_sm_resp command_status of each part, once all are
        acknowledged. `parts` forces that many parts (else the text is split only when it does
        not fit one SMS); method "udh" / "udh16" / "sar" / "payload". Wrap in
        `asyncio.wait_for` to bound the wait."""
        if reference is None:
            reference = next(self._mo_references)
        pdus = build_mo(
            source,
            destination,
            text,
            parts=parts,
            method=method,
            coding=coding,
            reference=reference,
        )
        loop = asyncio.get_running_loop()
        acks: list[asyncio.Future[int]] = []
        for pdu in pdus:
            ack: asyncio.Future[int] = loop.create_future()
            acks.append(ack)
            body = encode(pdu)[HEADER_LENGTH:]
            self._router.deliver(OutboundDeliver(system_id, body, "mo", on_ack=_resolver(ack)))
        return list(await asyncio.gather(*acks))

    async def unbind_all(self, system_id: str | None = None) -> None:
        """Send unbind on every bound session (of `system_id`) and wait until they close."""
        sessions = [s for s in self._matching(system_id) if s.mode is not None]
        for session in sessions:
            session.start_unbind()
        if sessions:
            await asyncio.gather(*(s.closed for s in sessions))

    async def send_enquire_link(self, system_id: str | None = None) -> None:
        """Send enquire_link on every bound session (of `system_id`) and wait until each
        client has answered (SMPP 3.4 §4.11: either side may ask). Wrap in `asyncio.wait_for`
        to bound the wait."""
        checks = [s.send_enquire_link() for s in self._matching(system_id) if s.mode is not None]
        await asyncio.gather(*checks)

    async def send_garbage(self, system_id: str | None = None) -> None:
        """Write a frame with an impossible command_length to every connection (of
        `system_id`)."""
        for session in self._matching(system_id):
            session.send_garbage()
        await asyncio.sleep(0)  # let the write go out

    async def drop_connections(self, system_id: str | None = None) -> None:
        """Cut TCP connections at once, without unbind (an SMSC crash or a network drop)."""
        await self._close_sessions(list(self._matching(system_id)), graceful=False)

    def bound_count(self, system_id: str) -> int:
        return len(self._bound.get(system_id, ()))

    def waiting_deliveries(self, system_id: str | None = None) -> int:
        """Receipts and MO parts held because no rx/trx session of the account is bound."""
        return self._router.waiting(system_id)

    def incomplete_messages(self) -> int:
        """Multipart messages some of whose parts have not been accepted yet."""
        return self.messages.incomplete_messages()

    def message_state(self, message_id: str) -> str | None:
        """The current stat word (ENROUTE, DELIVRD, ...) of an accepted message, if recorded."""
        return self.messages.message_state(message_id)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Poll `predicate` until it holds; TimeoutError after `timeout` real seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            await asyncio.sleep(0.002)

    # ------------------------------------------------------------------ called by sessions

    def connection_opened(self, session: SmscSession) -> bool:
        accepted = not self.config.faults.refuse_connections
        self.recording.connections.append(
            ConnectionAttempt(
                self.clock.monotonic(), session.session_id, session.record.peer, accepted
            )
        )
        if accepted:
            self._sessions.add(session)
            self.recording.sessions.append(session.record)
        return accepted

    def authorize_bind(
        self, session: SmscSession, system_id: str, password: str, mode: BindMode
    ) -> int:
        expected = self.config.credentials.get(system_id)
        if expected is None:
            status = CommandStatus.ESME_RINVSYSID
        elif not hmac.compare_digest(expected.encode(), password.encode()):
            status = CommandStatus.ESME_RINVPASWD
        elif len(self._bound[system_id]) >= self.config.max_sessions:
            status = CommandStatus.ESME_RBINDFAIL
        else:
            status = CommandStatus.ESME_ROK
        self.recording.binds.append(
            BindAttempt(self.clock.monotonic(), session.session_id, system_id, mode, status)
        )
        log.info(
            "smsc_sim.bind",
            session=session.session_id,
            system_id=system_id,
            mode=mode,
            status=status_name(status),
        )
        return status

    def session_bound(self, session: SmscSession) -> None:
        assert session.system_id is not None
        bound = self._bound[session.system_id]
        bound.add(session)
        maximum = self.recording.max_concurrent_binds
        maximum[session.system_id] = max(maximum.get(session.system_id, 0), len(bound))
        if session.mode in ("rx", "trx"):
            self._router.add_receiver(session.system_id, session)

    def session_unbinding(self, session: SmscSession) -> None:
        if session.system_id is not None:
            self._router.remove_receiver(session.system_id, session)

    def session_closed(self, session: SmscSession, unacknowledged: list[OutboundDeliver]) -> None:
        self._sessions.discard(session)
        if session.system_id is not None:
            self._bound[session.system_id].discard(session)
            self._router.remove_receiver(session.system_id, session)
        for item in unacknowledged:
            self._router.deliver(item)
        log.info("smsc_sim.closed", session=session.session_id, system_id=session.system_id)

    def violation(self, text: str) -> None:
        if self.config.record:
            self.recording.violations.append(text)

    def _matching(self, system_id: str | None) -> list[SmscSession]:
        return [
            s
            for s in self._sessions
            if s.is_open and (system_id is None or s.system_id == system_id)
        ]

    async def _close_sessions(self, sessions: list[SmscSession], *, graceful: bool) -> None:
        for session in sessions:
            session.close() if graceful else session.abort()
        if not sessions:
            return
        _, lingering = await asyncio.wait(
            [asyncio.ensure_future(s.closed) for s in sessions], timeout=_STOP_GRACE_SECONDS
        )
        if lingering:
            for session in sessions:
                session.abort()
            await asyncio.gather(*(s.closed for s in sessions))


def _resolver(future: asyncio.Future[int]) -> Callable[[int], None]:
    def resolve(status: int) -> None:
        if not future.done():
            future.set_result(status)

    return resolve
