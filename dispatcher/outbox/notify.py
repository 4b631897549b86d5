"""Waking the claimer the moment a producer INSERTs into the outbox.

The migration's statement trigger NOTIFYs `NOTIFY_CHANNEL` on every INSERT into outbox.
`OutboxWaiter` LISTENs on a dedicated connection and `wait()` returns as soon as a notification
arrives, or after `poll_seconds` anyway: the slow poll is the safety net for everything a
notification does not announce (delayed rows becoming due, rows requeued by recovery, a
notification lost with a connection).

The connection is watched: when it drops (PostgreSQL restarted, network), the waiter reconnects
with back-off and then wakes the claimer once, since notifications sent meanwhile are lost. Each
poll interval also runs `SELECT 1` on it, so a silently dead connection is noticed too.
"""

from __future__ import annotations

import asyncio
import contextlib
import random

import asyncpg
import structlog

from dispatcher.clock import Clock, SystemClock
from dispatcher.outbox.retry import RetryPolicy, is_retryable
from dispatcher.tasks import cancel_and_wait

# the channel the trigger in migrations/0001_outbox.sql notifies
NOTIFY_CHANNEL = "smpp_dispatcher_outbox"
DEFAULT_POLL_SECONDS = 5.0
APPLICATION_NAME = "smpp-dispatcher listener"  # how the connection shows in pg_stat_activity
log = structlog.get_logger(__name__)


class OutboxWaiter:
    def __init__(
        self,
        dsn: str,
        *,
        clock: Clock | None = None,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        reconnect: RetryPolicy | None = None,
    ) -> None:
        self._dsn = dsn
        self._clock = clock or SystemClock()
        self.poll_seconds = poll_seconds
        self._reconnect = reconnect or RetryPolicy(first_delay=0.1, max_delay=5.0)
        self._wake = asyncio.Event()
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def listening(self) -> bool:
        """True while a LISTEN connection is up."""
        return self._listening.is_set()

    async def start(self, *, wait_connected: bool = True) -> None:
        """Start listening in the background (and by default wait until the first LISTEN is
        in place, so an INSERT committed after this returns is never missed)."""
        if self._task is None:
            self._task = asyncio.create_task(self._keep_listening(), name="outbox-listener")
        if wait_connected:
            await self._listening.wait()

    async def wait(self, timeout: float | None = None) -> bool:
        """Return True when woken by a notification (or a reconnect), False when the poll
        interval (or `timeout`) passed without one."""
        try:
            limit = self.poll_seconds if timeout is None else timeout
            await self._clock.wait_for(self._wake.wait(), limit)
            woken = True
        except TimeoutError:
            woken = False
        self._wake.clear()
        return woken

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait(task)

    def _on_notification(self, *_: object) -> None:
        self._wake.set()

    async def _keep_listening(self) -> None:
        delay = self._reconnect.first_delay
        while True:
            try:
                await self._listen_once()
                delay = self._reconnect.first_delay
            except Exception as error:
                # never give up: without the listener the claimer still polls, and a wrong
                # setting (an error that is not retryable) is reported on every attempt
                report = log.warning if is_retryable(error) else log.error
                report("outbox.listen_lost", error=f"{type(error).__name__}: {error}")
            self._listening.clear()
            await self._clock.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self._reconnect.max_delay)

    async def _listen_once(self) -> None:
        """One connection's life: LISTEN, then watch it until it drops."""
        connection = await asyncpg.connect(
            self._dsn, server_settings={"application_name": APPLICATION_NAME}
        )
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            await connection.add_listener(NOTIFY_CHANNEL, self._on_notification)
            self._listening.set()
            # rows inserted while nobody listened are only found by claiming now
            self._wake.set()
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await self._clock.wait_for(lost.wait(), self.poll_seconds)
                if not lost.is_set():
                    await connection.fetchval(
                        "SELECT 1", timeout=self._clock.real_seconds(self.poll_seconds)
                    )
        finally:
            self._listening.clear()
            connection.terminate()
