"""The provider's error rules (seed 004_80a28bca441860d4.txt L2959-2969) and the status table."""

from __future__ import annotations

import asyncio
from itertools import pairwise

from dispatcher.clock import ScaledClock
from dispatcher.smpp import OutcomeKind, SessionInfo, SubmitRequest
from pdu.constants import CommandStatus
from pdu.segmentation import MessagePart, split_text

from .conftest import PoolFactory, RecordingObserver, SimFactory, account, bound, request, wait_for

BAD = "79990000000"


async def test_invalid_destination_is_final_and_never_resent(
    make_sim: SimFactory, make_pool: PoolFactory, clock: ScaledClock
) -> None:
    sim = await make_sim()
    sim.config.faults.invalid_destinations.add(BAD)
    pool = await make_pool(account(sim.port, binds=["trx", "tx"]))
    await bound(pool, 2)
    outcome = await pool.send(request("bad", destination=BAD))
    assert outcome.kind is OutcomeKind.REJECTED
    assert outcome.command_status == CommandStatus.ESME_RINVDSTADR
    assert outcome.status_name == "ESME_RINVDSTADR"
    assert outcome.session is not None and outcome.session.port == sim.port
    await clock.sleep(200.0)  # longer than any retry delay
    assert [s.destination_addr for s in sim.recording.submits] == [BAD]


async def test_a_rejected_part_keeps_the_ids_of_the_accepted_ones(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()

    class RefuseFromNowOn(RecordingObserver):
        def submit_response(self, info: SessionInfo, command_status: int, latency: float) -> None:
            # part 1 was accepted: the SMSC refuses the parts that follow it
            sim.config.faults.status_by_destination[BAD] = CommandStatus.ESME_RINVDSTADR

    pool = await make_pool(account(sim.port, window=1), observer=RefuseFromNowOn())
    await bound(pool)
    parts = split_text("x" * 400)
    assert len(parts) == 3
    outcome = await pool.send(SubmitRequest("multi", "Shop", BAD, parts))
    assert outcome.kind is OutcomeKind.REJECTED
    assert [p.accepted for p in outcome.parts] == [True, False, False]
    assert outcome.message_ids == (sim.recording.submits[0].message_id,)
    assert outcome.parts[1].command_status == CommandStatus.ESME_RINVDSTADR
    assert outcome.parts[2].command_status is None  # never sent
    assert len(sim.recording.submits) == 2


async def test_throttling_pauses_only_that_session_for_one_second(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    slow = ScaledClock(0.01)  # 1 s = 10 ms real: room to see the other session work
    sim = await make_sim(sim_clock=slow)
    # 2 ms real per answer (above uvloop's 1 ms timer granularity): one session alone needs
    # 12 s for the queue, so the other is certainly still sending when its pause ends
    sim.config.faults.response_delay = 0.2
    observer = RecordingObserver()
    pool = await make_pool(
        account(sim.port, binds=["tx", "tx"], window=1), clock=slow, observer=observer
    )
    await bound(pool, 2)
    sim.config.faults.throttle_first[BAD] = 1
    futures = [await pool.submit(request(0, destination=BAD))]
    futures += [await pool.submit(request(i)) for i in range(1, 60)]
    outcomes = await asyncio.gather(*futures)
    assert all(o.kind is OutcomeKind.ACCEPTED for o in outcomes)
    assert outcomes[0].attempts == 2
    submits = sim.recording.submits
    throttled = next(s for s in submits if s.command_status == CommandStatus.ESME_RTHROTTLED)
    after = [s for s in submits if s.time > throttled.time]
    same = [s for s in after if s.session_id == throttled.session_id]
    other = [s for s in after if s.session_id != throttled.session_id]
    assert same and same[0].time - throttled.time >= 1.0  # seed L2962-2963
    assert any(s.time - throttled.time < 1.0 for s in other)  # the other one carried on
    assert [seconds for _, seconds in observer.throttles] == [1.0]
    assert sim.recording.accepted_counts[(BAD, "hello")] == 1


async def test_queue_full_waits_5_15_45_seconds_then_succeeds(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    observer = RecordingObserver()
    pool = await make_pool(account(sim.port), observer=observer)
    await bound(pool)
    sim.config.faults.queue_full_first[BAD] = 3
    outcome = await pool.send(request("qf", destination=BAD))
    assert outcome.kind is OutcomeKind.ACCEPTED
    assert outcome.attempts == 4
    times = [s.time for s in sim.recording.submits if s.destination_addr == BAD]
    gaps = [later - earlier for earlier, later in pairwise(times)]
    assert len(gaps) == 3
    assert all(gap >= wanted for gap, wanted in zip(gaps, [5.0, 15.0, 45.0], strict=True))
    assert [(n, d) for _, n, d in observer.queue_full] == [(1, 5.0), (2, 15.0), (3, 45.0)]


async def test_queue_full_attempts_run_out_as_failed_retryable(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    pool = await make_pool(account(sim.port, queue_full_max_attempts=3))
    await bound(pool)
    sim.config.faults.queue_full_first[BAD] = 1000
    outcome = await pool.send(request("qf", destination=BAD))
    assert outcome.kind is OutcomeKind.FAILED_RETRYABLE
    assert outcome.command_status == CommandStatus.ESME_RMSGQFUL
    assert outcome.attempts == 4  # the first try and 3 more (seed L2966: "еще 3-5 попыток")
    assert len(sim.recording.submits) == 4


async def test_queue_full_goes_to_the_end_of_the_queue(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    sim.config.faults.response_delay = 1.0
    pool = await make_pool(account(sim.port, window=1, queue_full_delays=[0.0]))
    await bound(pool)
    sim.config.faults.queue_full_first[BAD] = 1
    futures = [await pool.submit(request("qf", destination=BAD))]
    futures += [await pool.submit(request(i, destination=f"7903000000{i}")) for i in range(4)]
    await asyncio.gather(*futures)
    order = [s.destination_addr for s in sim.recording.submits]
    assert order == [BAD, *(f"7903000000{i}" for i in range(4)), BAD]


async def test_transient_status_is_retried_then_failed_retryable(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    pool = await make_pool(account(sim.port, transient_retry_delays=[2.0, 4.0]))
    await bound(pool)
    sim.config.faults.status_by_destination[BAD] = CommandStatus.ESME_RSYSERR
    outcome = await pool.send(request("sys", destination=BAD))
    assert outcome.kind is OutcomeKind.FAILED_RETRYABLE
    assert outcome.status_name == "ESME_RSYSERR"
    times = [s.time for s in sim.recording.submits]
    assert len(times) == 3 and times[1] - times[0] >= 2.0 and times[2] - times[1] >= 4.0


async def test_unknown_vendor_status_is_permanent_unless_overridden(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    pool = await make_pool(
        account(sim.port, status_overrides={0x401: "transient"}, transient_retry_delays=[1.0])
    )
    await bound(pool)
    sim.config.faults.status_by_destination[BAD] = 0x400
    sim.config.faults.status_by_destination["79990000001"] = 0x401
    vendor = await pool.send(request("a", destination=BAD))
    overridden = await pool.send(request("b", destination="79990000001"))
    assert (vendor.kind, vendor.command_status, vendor.status_name) == (
        OutcomeKind.REJECTED,
        0x400,
        "0x00000400",
    )
    assert (overridden.kind, overridden.attempts) == (OutcomeKind.FAILED_RETRYABLE, 2)


async def test_invalid_requests_are_rejected_alone(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    pool = await make_pool(account(sim.port))
    await bound(pool)
    bad_address = await pool.send(request("a", destination="7903\u00e9"))
    oversized = MessagePart(b"x" * 300, data_coding=0, esm_class=0, tlvs={}, number=1, total=1)
    too_long = await pool.send(SubmitRequest("b", "Shop", "79031234567", [oversized]))
    no_parts = await pool.send(SubmitRequest("c", "Shop", "79031234567", []))
    good = await pool.send(request("d"))
    assert [o.kind for o in (bad_address, too_long, no_parts)] == [OutcomeKind.REJECTED] * 3
    assert "invalid request" in bad_address.reason and bad_address.command_status is None
    assert good.kind is OutcomeKind.ACCEPTED
    await wait_for(lambda: len(sim.recording.submits) == 1)
