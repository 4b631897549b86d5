"""One bind slot of an account: connect, bind, serve, and wait before trying again.

Provider rules (seed 004_80a28bca441860d4.txt):
- L2928-2929: after a bound session drops (for any reason: TCP loss, unbind from the SMSC,
  enquire_link unanswered, our own move back to the primary), wait `reconnect_delay` (60 s)
  before the next TCP connect + bind.
- L2929-2930: after a failed attempt (TCP connect failed, bind refused or unanswered), wait
  `reconnect_failed_delay` (90 s) before the next attempt, whichever host that is.

Hosts (our rule, the seed only lists a primary and a backup per traffic class, L2875-2887):
- A slot starts on the primary (hosts[0]). A failed attempt moves it to the next host in
  order for its next attempt (wrapping round), so a dead primary costs one 90 s wait.
- A slot bound to another host checks the primary every `primary_probe_interval` with a bare
  TCP connect (no bind: a bind would be a fifth session). When the primary accepts, the slot
  closes its session gracefully and, after the 60 s wait, binds to the primary. Only one slot
  of the account moves back at a time, and the next may follow only once that one is bound
  there, so the account never loses all its sessions to a primary that accepts TCP but
  refuses binds.

The old connection is always fully closed (connection_lost seen) before the next attempt:
no parallel connections (smpp-anchors.md §3.6).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from enum import StrEnum

import structlog

from dispatcher.clock import Clock
from dispatcher.smpp.errors import BindFailed
from dispatcher.smpp.observer import EngineObserver
from dispatcher.smpp.session import SmppSession
from dispatcher.smpp.session_info import SessionInfo
from dispatcher.smpp.settings import AccountSettings, BindMode, HostAddress
from dispatcher.smpp.slot_guard import SlotGuard
from dispatcher.smpp.timers import sleep_at_least
from dispatcher.tasks import wait_finished

log = structlog.get_logger(__name__)

OpenSession = Callable[[SessionInfo], Awaitable[SmppSession]]


class Phase(StrEnum):
    WAITING = "waiting"  # before an attempt: the reconnect delay, or the slot guard
    OPENING = "opening"  # TCP connect + bind in progress
    SERVING = "serving"  # bound
    STOPPED = "stopped"


class ReturnToPrimary:
    """Lets one slot of an account at a time move back to the primary host."""

    def __init__(self) -> None:
        self.holder: int | None = None

    def claim(self, slot: int) -> bool:
        if self.holder is None:
            self.holder = slot
        return self.holder == slot

    def release(self, slot: int) -> None:
        if self.holder == slot:
            self.holder = None


class SlotRunner:
    def __init__(
        self,
        settings: AccountSettings,
        slot: int,
        mode: BindMode,
        *,
        clock: Clock,
        guard: SlotGuard,
        observer: EngineObserver,
        open_session: OpenSession,
        on_bound: Callable[[SmppSession], None],
        returning: ReturnToPrimary,
    ) -> None:
        self.settings = settings
        self.slot = slot
        self.mode = mode
        self._clock = clock
        self._guard = guard
        self._observer = observer
        self._open_session = open_session
        self._on_bound = on_bound
        self._returning = returning
        self._hosts: tuple[HostAddress, ...] = settings.host_addresses
        self.host_index = 0
        self.phase = Phase.WAITING
        self.session: SmppSession | None = None
        self.attempted = False  # a connect-and-bind has finished once, bound or refused
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def info_for(self, host: HostAddress) -> SessionInfo:
        return SessionInfo(self.settings.name, self.slot, host.host, host.port, self.mode)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"smpp-slot-{self.settings.name}-{self.slot}"
        )

    def stop(self) -> None:
        """No further attempts. A wait in progress ends now; an attempt in progress finishes
        (bounded by bind_timeout) and its session is closed; a bound session is left to the
        caller to close gracefully."""
        self._stopping = True
        if self._task is not None and self.phase is Phase.WAITING:
            self._task.cancel()

    async def wait_stopped(self) -> None:
        if self._task is not None:
            await wait_finished(self._task)

    async def _run(self) -> None:
        delay = 0.0
        after_failure = False
        try:
            while not self._stopping:
                host = self._hosts[self.host_index]
                self.phase = Phase.WAITING
                if delay > 0:
                    self._observer.reconnect_wait(self.info_for(host), delay, after_failure)
                    await sleep_at_least(self._clock, delay)
                await self._guard.acquire(self.settings.name, self.slot)
                try:
                    self.phase = Phase.OPENING
                    bound = await self._attempt(host)
                    self.attempted = True
                    if bound is None:
                        delay, after_failure = self.settings.reconnect_failed_delay, True
                        self.host_index = (self.host_index + 1) % len(self._hosts)
                        continue
                    self.phase = Phase.SERVING
                    moving_back = await self._serve(bound)
                finally:
                    await self._guard.release(self.settings.name, self.slot)
                delay, after_failure = self.settings.reconnect_delay, False
                if moving_back:
                    self.host_index = 0
        finally:
            self._returning.release(self.slot)
            self.phase = Phase.STOPPED

    async def _attempt(self, host: HostAddress) -> SmppSession | None:
        """Connect and bind to `host`; None when that failed (the connection is closed)."""
        info = self.info_for(host)
        try:
            session = await self._open_session(info)
        except BindFailed as exc:
            log.warning(
                "smpp.bind_failed",
                session=str(info),
                reason=exc.reason,
                command_status=exc.command_status,
            )
            self._observer.bind_failed(info, exc.command_status, exc.reason)
            return None
        if self._stopping:
            await session.close(0.0, "pool closing")
            return None
        if self.host_index == 0:
            self._returning.release(self.slot)  # back on the primary: the next may follow
        self.session = session
        log.info("smpp.bound", session=str(info))
        self._on_bound(session)
        return session

    async def _serve(self, session: SmppSession) -> bool:
        """Wait until the session closes; True when we closed it to move back to the primary."""
        try:
            if self.host_index == 0:
                reason = await session.wait_closed()
                log.info("smpp.session_closed", session=str(session.info), reason=reason)
                return False
            primary = self._hosts[0]
            while True:
                try:
                    reason = await self._clock.wait_for(
                        session.wait_closed(), self.settings.primary_probe_interval
                    )
                    log.info("smpp.session_closed", session=str(session.info), reason=reason)
                    return False
                except TimeoutError:
                    pass
                if self._stopping or not await self._primary_answers(primary):
                    continue
                if not self._returning.claim(self.slot):
                    continue
                log.info("smpp.moving_back_to_primary", session=str(session.info))
                await session.close(self.settings.response_timeout, "moving back to the primary")
                return True
        finally:
            self.session = None

    async def _primary_answers(self, primary: HostAddress) -> bool:
        """A bare TCP connect (and TLS handshake, when configured) to the primary."""
        tls = self.settings.tls
        try:
            _, writer = await self._clock.wait_for(
                asyncio.open_connection(
                    primary.host,
                    primary.port,
                    ssl=tls,
                    server_hostname=primary.host if tls is not None else None,
                ),
                self.settings.bind_timeout,
            )
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await self._clock.wait_for(writer.wait_closed(), self.settings.unbind_timeout)
        return True
