"""PostgreSQL restarting (cleanly, or killed) under a working store, waiter and slot guard.

These tests run their own server: restarting the session's shared one would disturb every
other test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import structlog.testing

from dispatcher.clock import ScaledClock
from dispatcher.outbox.migrate import migrate
from dispatcher.outbox.notify import OutboxWaiter
from dispatcher.outbox.slots import AdvisorySlotGuard, SlotState
from dispatcher.outbox.store import OutboxStore
from dispatcher.pg.embedded import EmbeddedPostgres
from dispatcher.status import MessageStatus
from tests.outbox.support import DAEMON, receipt, submission

MESSAGES = 400
BATCH = 20
LEASE_SECONDS = 1.0


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres() as embedded:
        yield embedded


@pytest.fixture
async def dsn(server: EmbeddedPostgres) -> AsyncIterator[str]:
    if not server.running:
        server.start()
    connection = await asyncpg.connect(server.dsn)
    try:
        await migrate(connection)
        await connection.execute(
            "TRUNCATE outbox, dispatcher_part, dispatcher_pending_receipt RESTART IDENTITY"
        )
    finally:
        await connection.close()
    yield server.dsn


async def _work_until_all_delivered(
    store: OutboxStore, halfway: asyncio.Event, server_down: asyncio.Event
) -> None:
    """A daemon's cycle in miniature: claim, mark written, submit, receive receipts. Halfway
    through it waits until the server is down, so the rest of its calls meet a dead server."""
    done = 0
    while done < MESSAGES:
        await store.recover()  # leases lost to a claim whose answer never came back
        batch = await store.claim(DAEMON, BATCH, LEASE_SECONDS)
        if not batch:
            await asyncio.sleep(0.05)
            continue
        ids = [message.id for message in batch]
        await store.mark_written(DAEMON, ids)
        await store.record_results([submission(i, f"id{i}") for i in ids])
        if done >= MESSAGES // 2 and not halfway.is_set():
            halfway.set()
            await server_down.wait()
        report = await store.record_results(
            [],
            [receipt(f"id{i}", MessageStatus.DELIVERED) for i in ids]
        )
        done += report.finalised


@pytest.mark.parametrize("how", ["restart", "kill"])
async def test_the_store_loses_nothing_across_a_restart(
    server: EmbeddedPostgres, dsn: str, how: str
) -> None:
    setup = await asyncpg.connect(dsn)
    await setup.execute(
        "INSERT INTO outbox (destination, body) "
        "SELECT '79031234567', 'm' || n FROM generate_series(1, $1::int) AS n", MESSAGES
    )
    await setup.close()

    store = await OutboxStore.open(dsn, clock=ScaledClock(0.001))
    try:
        halfway, server_down = asyncio.Event(), asyncio.Event()
        with structlog.testing.capture_logs() as logs:
            worker = asyncio.create_task(_work_until_all_delivered(store, halfway, server_down))
            await asyncio.wait_for(halfway.wait(), 60)
            if how == "kill":
                server.kill()
            else:
                await asyncio.to_thread(server.stop)
            server_down.set()
            await asyncio.sleep(0.3)  # the worker keeps calling a dead server meanwhile
            await asyncio.to_thread(server.start)
            await asyncio.wait_for(worker, 60)
    finally:
        await store.close()
    assert any(entry["event"] == "outbox.retry" for entry in logs)

    check = await asyncpg.connect(dsn)
    try:
        statuses = await check.fetch("SELECT status, count(*) AS n FROM outbox GROUP BY 1")
        assert [(r["status"], r["n"]) for r in statuses] == [("delivered", MESSAGES)]
        assert await check.fetchval("SELECT count(*) FROM dispatcher_part") == MESSAGES
    finally:
        await check.close()


async def test_the_waiter_listens_again_after_a_restart(
    server: EmbeddedPostgres, dsn: str
) -> None:
    waiter = OutboxWaiter(dsn, poll_seconds=30.0)
    await waiter.start()
    try:
        await waiter.wait()
        await asyncio.to_thread(server.restart)
        assert await waiter.wait() is True  # woken by the reconnect
        woken = asyncio.create_task(waiter.wait())
        await asyncio.sleep(0)
        producer = await asyncpg.connect(dsn)
        await producer.execute("INSERT INTO outbox (destination, body) VALUES ('7903', 'x')")
        await producer.close()
        assert await woken is True
    finally:
        await waiter.close()


async def test_a_slot_survives_a_short_restart(server: EmbeddedPostgres, dsn: str) -> None:
    lost: list[tuple[str, int]] = []
    guard = AdvisorySlotGuard(dsn, regain_seconds=30.0, on_lost=lambda *s: lost.append(s))
    try:
        assert await guard.acquire("ads", 3)
        await asyncio.to_thread(server.restart)
        for _ in range(1000):
            if guard.state("ads", 3) is SlotState.HELD and await _lock_count(dsn) == 1:
                break
            await asyncio.sleep(0.01)
        assert guard.state("ads", 3) is SlotState.HELD
        assert await _lock_count(dsn) == 1
        assert lost == []
    finally:
        await guard.close()


async def _lock_count(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        )
        return count
    finally:
        await connection.close()
