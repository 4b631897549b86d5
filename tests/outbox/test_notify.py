"""The LISTEN/NOTIFY waiter wakes the claimer on INSERT and polls as a safety net."""

from __future__ import annotations

import asyncio

import asyncpg

from dispatcher.outbox.notify import APPLICATION_NAME, OutboxWaiter
from tests.outbox.support import insert

# long enough that a wake-up before it can only come from the notification
POLL_SECONDS = 30.0


async def test_an_insert_wakes_the_waiter(migrated_dsn: str, db: asyncpg.Connection) -> None:
    waiter = OutboxWaiter(migrated_dsn, poll_seconds=POLL_SECONDS)
    await waiter.start()
    try:
        assert waiter.listening
        assert await waiter.wait() is True  # the wake-up after connecting: claim what is there
        assert await waiter.wait(timeout=0.05) is False  # nothing new: the poll interval ends
        woken = asyncio.create_task(waiter.wait())
        await asyncio.sleep(0)
        await db.execute(
            "INSERT INTO outbox (destination, body) "
            "SELECT '79031234567', 'bulk' FROM generate_series(1, 100)"
        )
        assert await woken is True
        # one statement, one wake-up
        assert await waiter.wait(timeout=0.05) is False
    finally:
        await waiter.close()


async def test_an_insert_while_not_waiting_is_not_missed(
    migrated_dsn: str, db: asyncpg.Connection
) -> None:
    waiter = OutboxWaiter(migrated_dsn, poll_seconds=POLL_SECONDS)
    await waiter.start()
    try:
        await waiter.wait()
        await insert(db)  # the claimer is busy elsewhere when this commits
        await asyncio.sleep(0.05)
        assert await waiter.wait() is True
    finally:
        await waiter.close()


async def test_a_terminated_listener_reconnects_and_wakes(
    migrated_dsn: str, db: asyncpg.Connection
) -> None:
    waiter = OutboxWaiter(migrated_dsn, poll_seconds=POLL_SECONDS)
    await waiter.start()
    try:
        await waiter.wait()
        terminated = await db.fetchval(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = $1",
            APPLICATION_NAME,
        )
        assert terminated == 1
        assert await waiter.wait() is True  # the reconnect wakes the claimer
        assert waiter.listening
        woken = asyncio.create_task(waiter.wait())
        await asyncio.sleep(0)
        await insert(db)
        assert await woken is True
    finally:
        await waiter.close()
