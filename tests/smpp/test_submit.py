"""What a submit_sm carries (seed 004_80a28bca441860d4.txt L2902-2905, L2971-2972), and work
submitted while no session is bound."""

from __future__ import annotations

import asyncio
import gc

from dispatcher.smpp import OutcomeKind, SubmitOutcome, SubmitRequest
from dispatcher.smpp.job import Job, PartTicket
from pdu.segmentation import split_text

from .conftest import PoolFactory, SimFactory, account, bound, request, wait_for


async def test_submit_sm_fields_follow_the_provider(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    pool = await make_pool(account(sim.port, numeric_source_ton=1))
    await bound(pool)
    await pool.send(request("alpha", validity_seconds=30))
    await pool.send(SubmitRequest("digits", "79001112233", "79031234567", split_text("hi")))
    await pool.send(request("override", source_ton=0, dest_npi=9, registered_delivery=0))
    alpha, digits, override = sim.recording.submits
    assert (alpha.source_addr_ton, alpha.source_addr_npi) == (5, 1)
    assert (alpha.dest_addr_ton, alpha.dest_addr_npi) == (1, 1)
    assert alpha.registered_delivery == 1
    assert alpha.validity_period == "000000000100000R"  # 30 s raised to the 60 s floor
    assert digits.source_addr_ton == 1  # the numeric-sender option
    assert (override.source_addr_ton, override.dest_addr_npi) == (0, 9)
    assert override.registered_delivery == 0 and override.validity_period == ""
    assert sim.recording.violations == []


async def test_work_waits_in_the_queue_until_a_session_binds(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    sim.config.faults.refuse_connections = True
    pool = await make_pool(account(sim.port))
    futures = [await pool.submit(request(i, destination=f"7903000000{i}")) for i in range(5)]
    await wait_for(lambda: len(sim.recording.connections) >= 1)
    assert pool.bound_sessions == 0 and pool.queued == 5
    assert not any(f.done() for f in futures)
    sim.config.faults.refuse_connections = False
    await bound(pool)
    outcomes = await asyncio.gather(*futures)
    assert [o.kind for o in outcomes] == [OutcomeKind.ACCEPTED] * 5
    assert [s.destination_addr for s in sim.recording.submits] == [
        f"7903000000{i}" for i in range(5)
    ]


async def test_post_delivers_outcomes_to_a_callback(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    pool = await make_pool(account(sim.port))
    await bound(pool)
    outcomes: list[SubmitOutcome] = []
    pool.post(request("ok"), outcomes.append)
    pool.post(request("bad", destination=""), outcomes.append)  # invalid: rejected alone
    await wait_for(lambda: len(outcomes) == 2)
    kinds = {o.key: o.kind for o in outcomes}
    assert kinds == {"ok": OutcomeKind.ACCEPTED, "bad": OutcomeKind.REJECTED}
    assert pool.held == 0


async def test_a_settled_message_leaves_no_cyclic_garbage(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    # A job and its parts refer to each other; once the outcome is given they must part, so
    # that reference counting frees them (the collector's search was 6 % of the daemon's CPU).
    sim = await make_sim()
    pool = await make_pool(account(sim.port))
    await bound(pool)
    await pool.send(request("warm-up"))
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        outcomes = [await pool.send(request(i, text="long " * 60)) for i in range(3)]
        gc.collect()
        left = [type(o).__name__ for o in gc.garbage if isinstance(o, Job | PartTicket)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert [o.kind for o in outcomes] == [OutcomeKind.ACCEPTED] * 3
    assert len(outcomes[0].parts) == 2
    assert left == []
