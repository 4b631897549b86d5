"""Session slots: never more than four per account across guards (daemons) sharing a database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from dispatcher.outbox.slots import (
    APPLICATION_NAME,
    AdvisorySlotGuard,
    SlotState,
    slot_lock_key,
)
from dispatcher.smpp.settings import MAX_BINDS_PER_ACCOUNT


@pytest.fixture
async def guards(migrated_dsn: str) -> AsyncIterator[list[AdvisorySlotGuard]]:
    made = [AdvisorySlotGuard(migrated_dsn) for _ in range(3)]
    try:
        yield made
    finally:
        for guard in made:
            await guard.close()


async def advisory_locks_held(db: asyncpg.Connection) -> int:
    count: int = await db.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    return count


async def test_four_slots_per_account_across_daemons(
    guards: list[AdvisorySlotGuard], db: asyncpg.Connection
) -> None:
    a, b, _ = guards
    for slot in range(MAX_BINDS_PER_ACCOUNT):
        assert await a.acquire("ads", slot)
    assert a.held_slots("ads") == [0, 1, 2, 3]
    assert await b.acquire_any("ads") is None
    assert not await b.acquire("ads", 0)
    assert await b.acquire("otp", 0)  # another account has its own four
    await a.release("ads", 2)
    assert not a.is_held("ads", 2)
    assert await b.acquire_any("ads") == 2
    assert await advisory_locks_held(db) == 5


async def test_guards_racing_never_hold_more_than_four(
    guards: list[AdvisorySlotGuard], db: asyncpg.Connection
) -> None:
    async def grab(guard: AdvisorySlotGuard) -> list[int]:
        return [slot for slot in [await guard.acquire_any("ads") for _ in range(4)] if
                slot is not None]

    taken = await asyncio.gather(*(grab(guard) for guard in guards))
    held = [slot for slots in taken for slot in slots]
    assert sorted(held) == [0, 1, 2, 3]
    assert await advisory_locks_held(db) == 4


async def test_slot_numbers_outside_the_account_limit_are_refused(
    guards: list[AdvisorySlotGuard],
) -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.3"):
        await guards[0].acquire("ads", 4)


async def test_an_unreachable_database_gives_no_slot() -> None:
    guard = AdvisorySlotGuard("postgresql://nobody@127.0.0.1:1/none")
    assert await guard.acquire("ads", 0) is False
    assert guard.state("ads", 0) is SlotState.LOST


async def _terminate_slot_connections(db: asyncpg.Connection) -> int:
    count: int = await db.fetchval(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = $1",
        APPLICATION_NAME,
    )
    return count


async def test_a_dropped_connection_is_regained_when_nobody_took_the_slot(
    migrated_dsn: str, db: asyncpg.Connection
) -> None:
    lost: list[tuple[str, int]] = []
    guard = AdvisorySlotGuard(migrated_dsn, on_lost=lambda *slot: lost.append(slot))
    try:
        assert await guard.acquire("ads", 1)
        assert await _terminate_slot_connections(db) == 1
        for _ in range(500):
            await asyncio.sleep(0.01)
            if guard.state("ads", 1) is SlotState.HELD and await advisory_locks_held(db) == 1:
                break
        assert guard.state("ads", 1) is SlotState.HELD
        assert await advisory_locks_held(db) == 1
        assert lost == []
    finally:
        await guard.close()


async def test_a_slot_taken_by_another_daemon_meanwhile_is_reported_lost(
    migrated_dsn: str, db: asyncpg.Connection
) -> None:
    lost = asyncio.Event()
    reported: list[tuple[str, int]] = []

    def on_lost(account: str, slot: int) -> None:
        reported.append((account, slot))
        lost.set()

    guard = AdvisorySlotGuard(migrated_dsn, on_lost=on_lost)
    latecomer = AdvisorySlotGuard(migrated_dsn)
    try:
        assert await guard.acquire("ads", 0)
        # another session drops the guard's connection and takes the lock from inside the
        # server, long before the guard has reconnected
        await db.execute(
            f"""
            DO $$
            BEGIN
                PERFORM pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = '{APPLICATION_NAME}';
                FOR attempt IN 1..10000 LOOP
                    IF pg_try_advisory_lock({slot_lock_key("ads", 0)}) THEN
                        RETURN;
                    END IF;
                    PERFORM pg_sleep(0.001);
                END LOOP;
                RAISE EXCEPTION 'the lock was never released';
            END
            $$
            """
        )
        await asyncio.wait_for(lost.wait(), 10)
        assert reported == [("ads", 0)]
        assert not guard.is_held("ads", 0)
        assert not await latecomer.acquire("ads", 0)
    finally:
        await guard.close()
        await latecomer.close()
