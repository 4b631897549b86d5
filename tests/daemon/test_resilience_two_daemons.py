"""Two daemons (different ids) on one database and one account whose binds add up to six:
the PostgreSQL advisory slot locks keep the account at four sessions across both, each row
is claimed by one daemon, and when one daemon stops the other takes over its work and its
free session slots.

The simulator here would accept up to eight binds, so the four-session limit must hold
because of the daemons, not because the simulator refuses a fifth bind.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from dispatcher.clock import ScaledClock
from dispatcher.daemon.runner import Daemon
from dispatcher.smpp.settings import MAX_BINDS_PER_ACCOUNT
from dispatcher.smsc_sim import SimConfig, SmscSimulator
from tests.daemon.conftest import PASSWORD, SYSTEM_ID, daemon_config
from tests.daemon.resilience_support import (
    check_sent_once_or_in_doubt,
    rows_by_destination,
    wait_all_final,
    wait_for,
)

MESSAGES = 6_000
BINDS_EACH = 3
WINDOW = 20
RATE_LIMIT = 5  # submit_sm per clock second (10 ms) per session: 2,000 a second in all


def submitted_by(daemon: Daemon) -> float:
    value = daemon.metrics.registry.get_sample_value(
        "smpp_dispatcher_messages_total",
        {"route": "default", "provider": "smpp:main", "status": "submitted"})
    return value or 0.0


def bound(daemon: Daemon) -> int:
    return daemon.pools["main"].bound_sessions


async def test_two_daemons_share_the_work_and_four_sessions(
    migrated_dsn: str, db: asyncpg.Connection, start_daemon: Any, clock: ScaledClock
) -> None:
    simulator = SmscSimulator(
        SimConfig(credentials={SYSTEM_ID: PASSWORD}, receipt_delay=0.5, seed=5,
                  max_sessions=2 * MAX_BINDS_PER_ACCOUNT),
        clock=clock)
    await simulator.start(host="127.0.0.1", port=0)
    try:
        await db.copy_records_to_table(
            "outbox", columns=["destination", "body"],
            records=[(f"7926{i:07d}", f"shared {i}") for i in range(MESSAGES)])

        def config(daemon_id: str) -> Any:
            return daemon_config(
                migrated_dsn, simulator.port,
                daemon__id=daemon_id, daemon__lease_seconds=600, daemon__claim_batch=100,
                smpp__accounts__main__binds=["trx"] * BINDS_EACH,
                smpp__accounts__main__window=WINDOW,
                smpp__accounts__main__response_timeout=300,
                # the run lasts a few seconds, so the stop falls in the middle of it
                smpp__accounts__main__rate_limit=RATE_LIMIT,
            )

        first = await start_daemon(config("daemon-a"))
        second = await start_daemon(config("daemon-b"))
        a, b = first.daemon, second.daemon
        await wait_for(lambda: bound(a) + bound(b) == MAX_BINDS_PER_ACCOUNT, 20,
                       "four sessions between the two daemons")
        assert bound(a) >= 1 and bound(b) >= 1
        await wait_for(lambda: submitted_by(a) > 0 and submitted_by(b) > 0, 30,
                       "both daemons sending")

        # one daemon stops mid-run: the other takes its rows and its session slots
        await wait_for(lambda: sum(simulator.recording.accepted_counts.values())
                       >= MESSAGES // 3, 60, "a third of the messages")
        await first.stop()
        assert await db.fetchval("SELECT count(*) FROM outbox WHERE status = 'queued'"), (
            "the stop came after the run")
        # a clean stop hands back every row it claimed, not after its lease
        assert await db.fetchval(
            "SELECT count(*) FROM outbox WHERE dispatcher_lease_owner = 'daemon-a'") == 0
        await wait_for(lambda: bound(b) == BINDS_EACH, 20,
                       "the second daemon taking the freed slots")
        await wait_all_final(db, MESSAGES, timeout=90)

        rows = await rows_by_destination(db)
        assert {row.status for row in rows.values()} == {"delivered"}
        assert submitted_by(a) + submitted_by(b) >= MESSAGES
        # only what the stopped daemon had written and not seen answered (its windows) can
        # have been in doubt
        check_sent_once_or_in_doubt(simulator, rows, in_doubt_limit=BINDS_EACH * WINDOW)
        for row in rows.values():
            assert simulator.recording.accepted_counts[(row.destination, row.body)] >= 1

        recording = simulator.recording
        assert recording.max_concurrent_binds[SYSTEM_ID] <= MAX_BINDS_PER_ACCOUNT
        assert all(attempt.ok for attempt in recording.binds), "a bind was refused"
        assert not recording.violations, recording.violations[:5]
    finally:
        await simulator.stop()


async def test_a_lost_session_lock_closes_that_session_and_it_comes_back(
    migrated_dsn: str, simulator: SmscSimulator, start_daemon: Any
) -> None:
    """If PostgreSQL drops the advisory lock of a running session (it was away too long and
    another daemon may hold the slot now), that one session is closed and binds again once it
    holds a lock."""
    running = await start_daemon(daemon_config(migrated_dsn, simulator.port))
    await simulator.wait_until(lambda: simulator.bound_count("dispatcher") == 2, timeout=20)
    binds_before = len(simulator.recording.binds)
    guard = running.daemon._locks
    account, slot = next(iter(guard._lock_of))
    guard.lock_lost(account, guard._lock_of[(account, slot)])
    await simulator.wait_until(lambda: len(simulator.recording.binds) > binds_before, timeout=30)
    await simulator.wait_until(lambda: simulator.bound_count("dispatcher") == 2, timeout=30)
    assert simulator.recording.max_concurrent_binds[SYSTEM_ID] <= 2
