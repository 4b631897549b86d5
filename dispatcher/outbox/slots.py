"""Session slots: at most four SMPP sessions per account across every daemon sharing a database.

Each account has `MAX_BINDS_PER_ACCOUNT` slots, 0..3. Before binding, the engine takes a
slot; it holds it as a session-level PostgreSQL advisory lock on a connection of its own (the
lock lives exactly as long as that connection), and releases it after unbinding. Because the
locks are in the shared database, two daemons can never hold the same slot, whatever machines
they run on.

A slot can be lost: its connection drops (PostgreSQL restarted, network). The guard then tries
to take the lock again for `regain_seconds`; while it tries, `state()` says REGAINING and
`is_held()` stays True, so a short PostgreSQL restart does not cost the session (nobody else
can take the lock while the database is down). If another daemon took the slot first, or the
grace period ends, the slot is LOST: `on_lost(account, slot)` is called and the engine must
unbind that session. In the unlucky race where another daemon takes the slot right after the
database comes back, the account briefly has a fifth session, until `on_lost` has run.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import asyncpg
import structlog

from dispatcher.clock import Clock, SystemClock
from dispatcher.outbox.retry import is_retryable
from dispatcher.smpp.settings import MAX_BINDS_PER_ACCOUNT  # seed L2922-2923
from dispatcher.tasks import cancel_and_wait

DEFAULT_HEARTBEAT_SECONDS = 10.0
DEFAULT_REGAIN_SECONDS = 30.0
APPLICATION_NAME = "smpp-dispatcher slot"  # how the connections show in pg_stat_activity
_REGAIN_FIRST_DELAY = 0.1
_REGAIN_MAX_DELAY = 2.0
log = structlog.get_logger(__name__)

LostCallback = Callable[[str, int], None]


class SlotState(StrEnum):
    HELD = "held"
    REGAINING = "regaining"  # the connection dropped; taking the lock again
    LOST = "lost"  # not held (never taken, released, or lost)


def slot_lock_key(account: str, slot: int) -> int:
    """The advisory lock key of one slot: 64 bits of a hash, the same on every machine."""
    digest = hashlib.sha256(f"smpp-dispatcher session slot\x00{account}\x00{slot}".encode())
    return int.from_bytes(digest.digest()[:8], "big", signed=True)


@dataclass(slots=True, eq=False)
class _HeldSlot:
    account: str
    slot: int
    connection: asyncpg.Connection | None
    state: SlotState = SlotState.HELD
    lost_connection: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class AdvisorySlotGuard:
    def __init__(
        self,
        dsn: str,
        *,
        clock: Clock | None = None,
        on_lost: LostCallback | None = None,
        heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS,
        regain_seconds: float = DEFAULT_REGAIN_SECONDS,
        slots_per_account: int = MAX_BINDS_PER_ACCOUNT,
    ) -> None:
        self._dsn = dsn
        self._clock = clock or SystemClock()
        self._on_lost = on_lost
        self.heartbeat_seconds = heartbeat_seconds
        self.regain_seconds = regain_seconds
        self.slots_per_account = slots_per_account
        self._held: dict[tuple[str, int], _HeldSlot] = {}

    # -- the engine's calls ----------------------------------------------------------------

    async def acquire(self, account: str, slot: int) -> bool:
        """Take the slot if nobody holds it. False when another daemon (or this one, through
        another guard) holds it, or when the database cannot be reached right now."""
        self._check_slot(slot)
        key = (account, slot)
        if key in self._held:
            return self._held[key].state is not SlotState.LOST
        try:
            connection = await self._lock(account, slot)
        except Exception as error:
            if not is_retryable(error):
                raise
            log.warning("outbox.slot_unreachable", account=account, slot=slot,
                        error=f"{type(error).__name__}: {error}")
            return False
        if connection is None:
            return False
        held = _HeldSlot(account, slot, connection)
        self._watch(held, connection)
        held.task = asyncio.create_task(self._guard(held), name=f"slot-{account}-{slot}")
        self._held[key] = held
        return True

    async def acquire_any(self, account: str) -> int | None:
        """Take the first free slot of the account; None when all are held."""
        for slot in range(self.slots_per_account):
            if (account, slot) not in self._held and await self.acquire(account, slot):
                return slot
        return None

    async def release(self, account: str, slot: int) -> None:
        """Give the slot back (after the session unbound)."""
        held = self._held.pop((account, slot), None)
        if held is None:
            return
        await self._stop(held)

    def state(self, account: str, slot: int) -> SlotState:
        held = self._held.get((account, slot))
        return SlotState.LOST if held is None else held.state

    def is_held(self, account: str, slot: int) -> bool:
        """True while the slot is held or being regained after a dropped connection."""
        return self.state(account, slot) is not SlotState.LOST

    def held_slots(self, account: str) -> list[int]:
        return sorted(slot for (name, slot) in self._held if name == account
                      and self.is_held(name, slot))

    async def close(self) -> None:
        """Release every slot."""
        held, self._held = list(self._held.values()), {}
        for item in held:
            await self._stop(item)

    # -- internals -------------------------------------------------------------------------

    def _check_slot(self, slot: int) -> None:
        if not 0 <= slot < self.slots_per_account:
            raise ValueError(f"slot {slot} is outside 0..{self.slots_per_account - 1}")

    async def _lock(self, account: str, slot: int) -> asyncpg.Connection | None:
        """A connection holding the slot's lock, or None when someone else holds it."""
        connection = await asyncpg.connect(
            self._dsn, server_settings={"application_name": APPLICATION_NAME}
        )
        try:
            locked = await connection.fetchval(
                "SELECT pg_try_advisory_lock($1)", slot_lock_key(account, slot)
            )
        except BaseException:
            connection.terminate()
            raise
        if not locked:
            await connection.close()
            return None
        return connection

    @staticmethod
    def _watch(held: _HeldSlot, connection: asyncpg.Connection) -> None:
        held.lost_connection.clear()
        connection.add_termination_listener(lambda _connection: held.lost_connection.set())

    async def _guard(self, held: _HeldSlot) -> None:
        """Heartbeat the lock's connection; on loss, regain or report the slot lost."""
        while True:
            await self._wait_for_loss(held)
            held.state = SlotState.REGAINING
            log.warning("outbox.slot_connection_lost", account=held.account, slot=held.slot)
            if held.connection is not None:
                held.connection.terminate()
                held.connection = None
            if not await self._regain(held):
                held.state = SlotState.LOST
                self._report_lost(held)
                return
            held.state = SlotState.HELD
            log.info("outbox.slot_regained", account=held.account, slot=held.slot)

    async def _wait_for_loss(self, held: _HeldSlot) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await self._clock.wait_for(held.lost_connection.wait(), self.heartbeat_seconds)
            if held.lost_connection.is_set() or held.connection is None:
                return
            try:
                await held.connection.fetchval(
                    "SELECT 1", timeout=self._clock.real_seconds(self.heartbeat_seconds)
                )
            except Exception as error:
                # whatever broke, the lock can no longer be vouched for
                log.warning("outbox.slot_heartbeat_failed", account=held.account,
                            slot=held.slot, error=f"{type(error).__name__}: {error}")
                return

    async def _regain(self, held: _HeldSlot) -> bool:
        deadline = self._clock.monotonic() + self.regain_seconds
        delay = _REGAIN_FIRST_DELAY
        while self._clock.monotonic() < deadline:
            try:
                connection = await self._lock(held.account, held.slot)
            except Exception as error:
                log.warning("outbox.slot_regain_failed", account=held.account, slot=held.slot,
                            error=f"{type(error).__name__}: {error}")
            else:
                if connection is None:
                    return False  # another daemon holds it now
                held.connection = connection
                self._watch(held, connection)
                return True
            await self._clock.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, _REGAIN_MAX_DELAY)
        return False

    def _report_lost(self, held: _HeldSlot) -> None:
        log.warning("outbox.slot_lost", account=held.account, slot=held.slot)
        if self._held.get((held.account, held.slot)) is held:
            del self._held[(held.account, held.slot)]
        if self._on_lost is not None:
            try:
                self._on_lost(held.account, held.slot)
            except Exception:
                log.exception("outbox.slot_lost_callback_failed", account=held.account,
                              slot=held.slot)

    async def _stop(self, held: _HeldSlot) -> None:
        if held.task is not None:
            await cancel_and_wait(held.task)
        held.state = SlotState.LOST
        connection, held.connection = held.connection, None
        if connection is None or connection.is_closed():
            return
        try:
            await connection.execute(
                "SELECT pg_advisory_unlock($1)", slot_lock_key(held.account, held.slot)
            )
            await connection.close()
        except Exception as error:
            # closing the connection frees the lock anyway
            if not is_retryable(error):
                raise
            connection.terminate()
