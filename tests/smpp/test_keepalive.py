"""enquire_link only after 60 s without any PDU from the SMSC (seed 004_80a28bca441860d4.txt
L2936-2938), and unbind + close + reconnect when its answer does not come."""

from __future__ import annotations

from itertools import pairwise

from dispatcher.clock import ScaledClock
from dispatcher.smpp import SessionState

from .conftest import (
    SYSTEM_ID,
    PoolFactory,
    RecordingObserver,
    SimFactory,
    account,
    bound,
    request,
    wait_for,
)


async def test_enquire_link_only_after_60_seconds_of_silence(
    make_sim: SimFactory, make_pool: PoolFactory, clock: ScaledClock
) -> None:
    sim = await make_sim()
    pool = await make_pool(account(sim.port, binds=["tx"]))
    await bound(pool)
    await wait_for(lambda: len(sim.recording.enquire_links) >= 3)
    links = sim.recording.enquire_links
    assert all(link.idle_seconds >= 60.0 for link in links)
    assert all(link.answered for link in links)
    assert all(later.time - earlier.time >= 60.0 for earlier, later in pairwise(links))


async def test_no_enquire_link_while_traffic_flows(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    # A coarser clock (60 s = 0.6 s real) so that a busy machine cannot stretch the 10 s gaps
    # between messages into a minute.
    slow = ScaledClock(0.01)
    sim = await make_sim(sim_clock=slow)
    pool = await make_pool(account(sim.port, binds=["tx"]), clock=slow)
    await bound(pool)
    started = slow.monotonic()
    sent = 0
    while slow.monotonic() - started < 150.0:
        outcome = await pool.send(request(sent))
        assert outcome.kind == "accepted"
        sent += 1
        await slow.sleep(10.0)
    assert sent >= 10
    assert sim.recording.enquire_links == []


async def test_unanswered_enquire_link_unbinds_closes_and_reconnects(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    sim.config.faults.ignore_enquire_link = True
    observer = RecordingObserver()
    pool = await make_pool(
        account(sim.port, binds=["tx"], enquire_link_timeout=5.0), observer=observer
    )
    await bound(pool)
    await wait_for(lambda: len(sim.recording.sessions) >= 2)
    first = sim.recording.sessions[0]
    assert first.closed is not None
    # bind, enquire_link, unbind: the session was closed with an unbind, not just cut
    assert first.pdus_received == 3
    assert [link.answered for link in sim.recording.enquire_links][:1] == [False]
    assert sim.recording.connections[1].time - first.closed >= 60.0  # seed L2928-2929
    states = [state for _, state in observer.states]
    assert states[:4] == [
        SessionState.CONNECTING,
        SessionState.BINDING,
        SessionState.BOUND,
        SessionState.UNBINDING,
    ]
    await wait_for(lambda: sim.bound_count(SYSTEM_ID) == 1)
