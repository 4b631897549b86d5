"""Graceful close: answers are awaited, the session unbinds, nothing is lost or doubled."""

from __future__ import annotations

import asyncio

import pytest

from dispatcher.smpp import OutcomeKind, PoolClosed

from .conftest import PoolFactory, SimFactory, account, bound, request


async def test_close_waits_for_answers_then_unbinds(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    sim.config.faults.response_delay = 20.0
    pool = await make_pool(account(sim.port))
    await bound(pool)
    futures = [await pool.submit(request(i)) for i in range(5)]
    await asyncio.sleep(0.002)  # let them be written
    await pool.close(timeout=1_000.0)
    assert [f.result().kind for f in futures] == [OutcomeKind.ACCEPTED] * 5
    session = sim.recording.sessions[0]
    assert session.closed is not None
    assert session.pdus_received == 1 + 5 + 1  # bind, the submits, unbind
    assert sim.recording.violations == []
    with pytest.raises(PoolClosed):
        await pool.submit(request("late"))


async def test_close_reports_window_in_doubt_and_queue_not_sent(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    sim.config.faults.response_delay = 1_000.0
    pool = await make_pool(account(sim.port, window=2))
    await bound(pool)
    futures = [await pool.submit(request(i)) for i in range(5)]
    await asyncio.sleep(0.002)
    await pool.close(timeout=5.0)
    kinds = [f.result().kind for f in futures]
    assert kinds == [OutcomeKind.IN_DOUBT] * 2 + [OutcomeKind.NOT_SENT] * 3
    assert len(sim.recording.submits) == 2
    assert pool.held == 0


async def test_close_before_any_bind_returns_everything_not_sent(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    port = sim.port
    await sim.stop()  # nothing listens there any more
    pool = await make_pool(account(port))
    futures = [await pool.submit(request(i)) for i in range(3)]
    assert pool.bound_sessions == 0 and pool.unbound_since is not None
    await pool.close(timeout=5.0)
    assert [f.result().kind for f in futures] == [OutcomeKind.NOT_SENT] * 3
