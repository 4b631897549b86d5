"""PostgreSQL restarted, then killed and started again, under a daemon in the middle of a run:
the daemon keeps its SMPP binds (the simulator sees no new bind), retries its database work,
takes its session slot locks back, and every row ends delivered, each sent once.

The server is this module's own: the session-wide one must never restart under other tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
import structlog.testing

from dispatcher.clock import ScaledClock
from dispatcher.outbox.migrate import migrate
from dispatcher.pg.embedded import EmbeddedPostgres
from dispatcher.smsc_sim import SmscSimulator
from tests.daemon.conftest import daemon_config
from tests.daemon.resilience_support import (
    check_sent_once_or_in_doubt,
    rows_by_destination,
    wait_all_final,
    wait_for,
)

MESSAGES = 5_000
BINDS = 2
RATE_LIMIT = 20  # submit_sm per clock second (50 ms) per session: 800 a second in all
# Events that show the daemon met the outage and worked through it.
_OUTAGE_EVENTS = frozenset({"outbox.retry", "outbox.listen_lost", "outbox.slot_connection_lost"})


@pytest.fixture
def clock() -> ScaledClock:
    # 50 ms per clock second: the slot guard's 30 s grace for regaining a lock is 1.5 s here,
    # comfortably longer than a restart of the embedded server, as 30 s is in production
    return ScaledClock(0.05)


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres() as embedded:
        yield embedded


@pytest.fixture
async def own_dsn(server: EmbeddedPostgres) -> AsyncIterator[str]:
    connection = await asyncpg.connect(server.dsn)
    try:
        await migrate(connection)
    finally:
        await connection.close()
    yield server.dsn


async def slot_locks_held(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
        return count
    finally:
        await connection.close()


async def test_a_daemon_rides_out_postgresql_restarts(
    server: EmbeddedPostgres, own_dsn: str, simulator: SmscSimulator, start_daemon: Any
) -> None:
    db = await asyncpg.connect(own_dsn)
    try:
        await db.copy_records_to_table(
            "outbox", columns=["destination", "body"],
            records=[(f"7936{i:07d}", f"restart {i}") for i in range(MESSAGES)])
        await db.close()
        await start_daemon(daemon_config(
            own_dsn, simulator.port, daemon__lease_seconds=200,  # 10 s of real time
            smpp__accounts__main__binds=["trx"] * BINDS,
            smpp__accounts__main__response_timeout=300,
            # the run lasts a few seconds, so both outages fall in the middle of it
            smpp__accounts__main__rate_limit=RATE_LIMIT))
        await wait_for(lambda: simulator.bound_count("dispatcher") == BINDS, 20, "both binds")
        binds_before = len(simulator.recording.binds)
        assert await slot_locks_held(own_dsn) == BINDS

        def accepted() -> int:
            return sum(simulator.recording.accepted_counts.values())

        with structlog.testing.capture_logs() as logs:
            await wait_for(lambda: accepted() >= MESSAGES // 3, 60, "a third sent")
            await asyncio.to_thread(server.restart)
            assert accepted() < MESSAGES * 2 // 3, "the restart came too late"
            await wait_for(lambda: accepted() >= MESSAGES * 2 // 3, 60, "sending again")
            await asyncio.to_thread(server.kill)
            await asyncio.sleep(0.2)  # down for a moment, as after a crash
            await asyncio.to_thread(server.start)
            assert accepted() < MESSAGES, "the crash came after the run"
            db = await asyncpg.connect(own_dsn)
            await wait_all_final(db, MESSAGES, timeout=90)
        assert _OUTAGE_EVENTS & {entry["event"] for entry in logs}, "no outage was noticed"

        rows = await rows_by_destination(db)
        assert len(rows) == MESSAGES
        assert {row.status for row in rows.values()} == {"delivered"}
        # the SMPP side never noticed: no new bind, nothing in doubt, each sent once
        assert len(simulator.recording.binds) == binds_before
        assert simulator.bound_count("dispatcher") == BINDS
        check_sent_once_or_in_doubt(simulator, rows, in_doubt_limit=0)
        for row in rows.values():
            assert simulator.recording.accepted_counts[(row.destination, row.body)] == 1
        assert not simulator.recording.violations
        # the four-session limit still holds: both sessions' slot locks were taken back
        await wait_for_locks(own_dsn, BINDS)
    finally:
        await db.close()


async def wait_for_locks(dsn: str, expected: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while (held := await slot_locks_held(dsn)) != expected:
        assert loop.time() < deadline, f"{held} slot locks held, expected {expected}"
        await asyncio.sleep(0.1)
