"""The provider's four sessions per account, held across every daemon sharing the database.

seed 004_80a28bca441860d4.txt L2922-2923: "количество сессий до 4-х" (up to 4 sessions). Each
daemon numbers its own binds 0..n-1; the lock slots 0..3 are shared by all daemons. A daemon's
bind takes whichever lock slot is free and waits (polling) while all four are held elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable

from dispatcher.clock import Clock
from dispatcher.outbox.slots import AdvisorySlotGuard

# How often a bind waiting for a free slot looks again.
SLOT_RETRY_SECONDS = 5.0


class SharedSlotGuard:
    """The engine's `SlotGuard` on top of PostgreSQL advisory locks.

    A lock can be lost while its session runs (the database was away longer than the lock's
    grace period, and another daemon may have taken it): `lock_lost` then has that session
    closed through `drop_session(account, slot)`; it reconnects and waits for a free lock.
    """

    def __init__(
        self, dsn: str, clock: Clock, drop_session: Callable[[str, int], None]
    ) -> None:
        self._locks = AdvisorySlotGuard(dsn, clock=clock, on_lost=self.lock_lost)
        self._clock = clock
        self._lock_of: dict[tuple[str, int], int] = {}
        self._drop_session = drop_session

    def lock_lost(self, account: str, lock_slot: int) -> None:
        for (held_account, slot), held_lock in list(self._lock_of.items()):
            if held_account == account and held_lock == lock_slot:
                del self._lock_of[(held_account, slot)]
                self._drop_session(account, slot)

    async def acquire(self, account: str, slot: int) -> None:
        while True:
            lock_slot = await self._locks.acquire_any(account)
            if lock_slot is not None:
                self._lock_of[(account, slot)] = lock_slot
                return
            await self._clock.sleep(SLOT_RETRY_SECONDS)

    async def release(self, account: str, slot: int) -> None:
        lock_slot = self._lock_of.pop((account, slot), None)
        if lock_slot is not None:
            await self._locks.release(account, lock_slot)

    async def close(self) -> None:
        await self._locks.close()
