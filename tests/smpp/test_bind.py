"""Binding: modes, credentials, the slot guard, and the waits after drops and failures."""

from __future__ import annotations

from itertools import pairwise

import pytest

from dispatcher.clock import ScaledClock
from dispatcher.smpp import SessionInfo, SmppSession
from dispatcher.smpp.errors import BindFailed
from dispatcher.smpp.settings import BindMode
from pdu.constants import CommandStatus

from .conftest import (
    PASSWORD,
    SYSTEM_ID,
    PoolFactory,
    RecordingObserver,
    SimFactory,
    account,
    bound,
    wait_for,
)


async def test_every_bind_mode_binds_with_a_long_password(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    assert len(PASSWORD) > 8
    pool = await make_pool(account(sim.port, binds=["tx", "rx", "trx"]))
    await wait_for(lambda: len(pool.sessions) == 3)
    assert sorted(b.mode for b in sim.recording.binds if b.ok) == ["rx", "trx", "tx"]
    assert pool.bound_sessions == 2  # rx cannot submit
    assert pool.unbound_since is None


async def test_a_wrong_password_is_a_failed_attempt_with_its_status(
    make_sim: SimFactory, make_pool: PoolFactory, clock: ScaledClock
) -> None:
    sim = await make_sim()
    observer = RecordingObserver()
    settings = account(sim.port, password="wrong-password")
    pool = await make_pool(settings, observer=observer)
    await wait_for(lambda: len(sim.recording.binds) >= 3)
    assert {b.command_status for b in sim.recording.binds} == {CommandStatus.ESME_RINVPASWD}
    assert observer.bind_failures[0][1] == CommandStatus.ESME_RINVPASWD
    assert "ESME_RINVPASWD" in observer.bind_failures[0][2]
    assert "wrong-password" not in repr(observer.bind_failures)
    assert pool.bound_sessions == 0 and pool.unbound_since is not None
    # seed 004_80a28bca441860d4.txt L2929-2930: 90 s between failed attempts
    times = [c.time for c in sim.recording.connections]
    assert all(later - earlier >= 90.0 for earlier, later in pairwise(times))
    assert all(after_failure for _, _, after_failure in observer.reconnect_waits)


async def test_open_reports_the_refusal(make_sim: SimFactory, clock: ScaledClock) -> None:
    sim = await make_sim(credentials={SYSTEM_ID: "other"})
    settings = account(sim.port)
    info = SessionInfo(settings.name, 0, "127.0.0.1", sim.port, BindMode.TX)
    with pytest.raises(BindFailed) as failure:
        await SmppSession.open(settings, info, clock=clock)
    assert failure.value.command_status == CommandStatus.ESME_RINVPASWD
    await wait_for(lambda: all(s.closed is not None for s in sim.recording.sessions))


async def test_a_refused_connection_waits_90_seconds(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    sim.config.faults.refuse_connections = True
    pool = await make_pool(account(sim.port))
    await wait_for(lambda: len(sim.recording.connections) >= 2)
    sim.config.faults.refuse_connections = False
    await bound(pool)
    times = [c.time for c in sim.recording.connections]
    assert all(later - earlier >= 90.0 for earlier, later in pairwise(times))


async def test_after_a_drop_the_next_bind_waits_60_seconds(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    observer = RecordingObserver()
    pool = await make_pool(account(sim.port, binds=["trx", "tx"]), observer=observer)
    await bound(pool, 2)
    await sim.drop_connections()
    dropped_at = max(s.closed or 0.0 for s in sim.recording.sessions)
    await wait_for(lambda: sim.bound_count(SYSTEM_ID) == 2)
    reconnects = [c.time for c in sim.recording.connections[2:]]
    assert len(reconnects) == 2
    assert min(reconnects) - dropped_at >= 60.0  # seed L2928-2929
    assert [(s, f) for _, s, f in observer.reconnect_waits] == [(60.0, False), (60.0, False)]
    # the old connections were closed before the new ones opened: never more than 2 at once
    assert sim.recording.max_concurrent_binds[SYSTEM_ID] == 2


async def test_server_side_unbind_is_answered_and_rebinds_after_60_seconds(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    pool = await make_pool(account(sim.port))
    await bound(pool)
    await sim.unbind_all(SYSTEM_ID)  # returns once our unbind_resp closed the session
    first = sim.recording.sessions[0]
    assert first.closed is not None
    await wait_for(lambda: len(sim.recording.binds) == 2 and pool.bound_sessions == 1)
    assert sim.recording.connections[1].time - first.closed >= 60.0
    assert sim.recording.violations == []


async def test_the_slot_guard_is_held_while_connected(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    events: list[tuple[str, str, int]] = []

    class Guard:
        async def acquire(self, account_name: str, slot: int) -> None:
            events.append(("acquire", account_name, slot))

        async def release(self, account_name: str, slot: int) -> None:
            events.append(("release", account_name, slot))

    sim = await make_sim()
    pool = await make_pool(account(sim.port, binds=["tx", "rx"]), slot_guard=Guard())
    await wait_for(lambda: len(pool.sessions) == 2)
    assert sorted(events) == [("acquire", "test-account", 0), ("acquire", "test-account", 1)]
    await pool.close(timeout=10.0)
    assert sorted(e for e in events if e[0] == "release") == [
        ("release", "test-account", 0),
        ("release", "test-account", 1),
    ]
