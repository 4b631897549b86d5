"""The window as the SMSC sees it, response timeouts, sequence wrap, parts on one session."""

from __future__ import annotations

import asyncio

from dispatcher.clock import ScaledClock
from dispatcher.smpp import OutcomeKind, SubmitRequest
from dispatcher.smpp.window import LAST_SEQUENCE
from pdu.constants import CommandId
from pdu.segmentation import split_text

from .conftest import PoolFactory, RecordingObserver, SimFactory, account, bound, request, wait_for


async def test_the_window_is_never_exceeded(make_sim: SimFactory, make_pool: PoolFactory) -> None:
    sim = await make_sim()
    sim.config.faults.response_delay = 3.0  # answers come slowly: the window fills up
    pool = await make_pool(account(sim.port, binds=["trx", "tx"], window=3))
    await bound(pool, 2)
    futures = [await pool.submit(request(i, destination=f"7903{i:07d}")) for i in range(60)]
    outcomes = await asyncio.gather(*futures)
    assert all(o.kind is OutcomeKind.ACCEPTED for o in outcomes)
    windows = [s.max_outstanding for s in sim.recording.sessions]
    assert max(windows) == 3  # used to the full, never more
    assert len(sim.recording.submits) == 60


async def test_a_full_window_and_max_queue_make_the_producer_wait(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    sim.config.faults.response_delay = 200.0  # 0.2 s real: nothing is answered meanwhile
    pool = await make_pool(account(sim.port, window=2, max_queue=4))
    await bound(pool)
    futures = [await pool.submit(request(i)) for i in range(4)]
    fifth = asyncio.ensure_future(pool.submit(request(4)))
    await asyncio.sleep(0.001)
    assert not fifth.done() and pool.held == 4
    futures.append(await fifth)  # admitted once the first answer freed room
    assert all(o.kind is OutcomeKind.ACCEPTED for o in await asyncio.gather(*futures))


async def test_no_response_is_in_doubt_and_the_late_one_is_only_counted(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    sim.config.faults.response_delay_by_destination["79990000000"] = 50.0
    observer = RecordingObserver()
    pool = await make_pool(account(sim.port, response_timeout=20.0), observer=observer)
    await bound(pool)
    slow = await pool.submit(request("slow", destination="79990000000"))
    fast = await pool.submit(request("fast"))
    assert (await fast).kind is OutcomeKind.ACCEPTED
    outcome = await slow
    assert outcome.kind is OutcomeKind.IN_DOUBT
    assert "no response within 20 s" in outcome.reason
    assert outcome.parts[0].message_id is None
    await wait_for(lambda: len(observer.late) == 1)
    assert observer.late[0][1] == CommandId.SUBMIT_SM_RESP
    assert len(sim.recording.submits) == 2  # never resent
    assert pool.bound_sessions == 1  # the session carries on


async def test_sequence_numbers_wrap_back_to_one(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    pool = await make_pool(account(sim.port, window=1), first_sequence=LAST_SEQUENCE - 3)
    await bound(pool)
    outcomes = [await pool.send(request(i)) for i in range(6)]
    assert all(o.kind is OutcomeKind.ACCEPTED for o in outcomes)
    # the bind took LAST_SEQUENCE - 3
    assert [s.sequence_number for s in sim.recording.submits] == [
        LAST_SEQUENCE - 2,
        LAST_SEQUENCE - 1,
        LAST_SEQUENCE,
        1,
        2,
        3,
    ]


async def test_all_parts_of_a_message_go_on_one_session_in_order(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    pool = await make_pool(account(sim.port, binds=["tx", "tx", "trx"], window=2))
    await bound(pool, 3)
    texts = [f"message {i} " + "z" * 300 for i in range(12)]
    futures = [
        await pool.submit(SubmitRequest(i, "Shop", f"7903{i:07d}", split_text(t, reference=i)))
        for i, t in enumerate(texts)
    ]
    outcomes = await asyncio.gather(*futures)
    assert all(o.kind is OutcomeKind.ACCEPTED and len(o.message_ids) == 3 for o in outcomes)
    for i in range(12):
        parts = [s for s in sim.recording.submits if s.destination_addr == f"7903{i:07d}"]
        assert len({p.session_id for p in parts}) == 1
        assert [p.short_message[5] for p in parts] == [1, 2, 3]  # UDH index octet
    assert sorted(m.text for m in sim.recording.messages) == sorted(texts)
    assert len({s.session_id for s in sim.recording.submits}) == 3  # the load was shared


async def test_a_throttled_multipart_message_resends_only_its_refused_part(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    pool = await make_pool(account(sim.port, binds=["tx", "tx"], window=5))
    await bound(pool, 2)
    sim.config.faults.throttle_first["79990000000"] = 1  # the first part's first try
    text = "w" * 450
    outcome = await pool.send(SubmitRequest("m", "Shop", "79990000000", split_text(text)))
    assert outcome.kind is OutcomeKind.ACCEPTED and len(outcome.message_ids) == 3
    submits = sim.recording.submits
    assert len(submits) == 4 and len({s.session_id for s in submits}) == 1
    assert sim.recording.accepted_counts[("79990000000", text)] == 1


async def test_rate_limit_spaces_submits(
    make_sim: SimFactory, make_pool: PoolFactory, clock: ScaledClock
) -> None:
    sim = await make_sim()
    pool = await make_pool(account(sim.port, rate_limit=20.0))
    await bound(pool)
    await asyncio.gather(*[await pool.submit(request(i)) for i in range(30)])
    times = [s.time for s in sim.recording.submits]
    # 20/s with a burst of 2: 30 messages need at least (30 - 2) / 20 s
    assert times[-1] - times[0] >= (30 - 2) / 20.0 - 0.01
