"""What the SMSC sends: receipts and MO are acked with status 0 and handed up; a stream that
cannot be framed resets that one session."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dispatcher.smpp import OutcomeKind, QueryFailed, SessionInfo
from pdu import pdus
from pdu.constants import CommandStatus
from pdu.receipt import receipt_from_pdu

from .conftest import SYSTEM_ID, PoolFactory, SimFactory, account, bound, request, wait_for


async def test_receipts_before_responses_are_still_handed_up(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim(receipts=True)
    sim.config.faults.receipt_before_resp = True
    events: list[tuple[str, str]] = []

    def on_inbound(info: SessionInfo, pdu: Any) -> None:
        receipt = receipt_from_pdu(pdu)
        assert receipt is not None and receipt.message_id is not None
        events.append(("receipt", receipt.message_id))

    pool = await make_pool(account(sim.port), on_inbound=on_inbound)
    await bound(pool)
    future = await pool.submit(request("r"))
    future.add_done_callback(lambda f: events.append(("response", f.result().message_ids[0])))
    outcome = await future
    assert outcome.kind is OutcomeKind.ACCEPTED
    message_id = outcome.message_ids[0]
    assert events == [("receipt", message_id), ("response", message_id)]
    assert [d.ack_status for d in sim.recording.delivers] == [CommandStatus.ESME_ROK]


async def test_mo_reaches_the_handler_and_a_failing_handler_changes_nothing(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    received: list[tuple[SessionInfo, Any]] = []

    def on_inbound(info: SessionInfo, pdu: Any) -> None:
        received.append((info, pdu))
        raise RuntimeError("db down")

    pool = await make_pool(account(sim.port, binds=["tx", "rx"]), on_inbound=on_inbound)
    await wait_for(lambda: len(pool.sessions) == 2)
    acks = await sim.send_mo(SYSTEM_ID, "79031234567", "Shop", "stop")
    assert acks == [CommandStatus.ESME_ROK]
    acks = await sim.send_mo(SYSTEM_ID, "79031234567", "Shop", "a long reply " * 20, parts=2)
    assert acks == [CommandStatus.ESME_ROK, CommandStatus.ESME_ROK]
    assert len(received) == 3
    assert {info.mode.value for info, _ in received} == {"rx"}
    assert isinstance(received[0][1], pdus.DeliverSm)
    assert received[0][1].short_message == b"stop"
    assert len(pool.sessions) == 2 and len(sim.recording.sessions) == 2  # nothing reconnected
    assert (await pool.send(request("after"))).kind is OutcomeKind.ACCEPTED


async def test_an_unframeable_stream_resets_only_that_session(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim(credentials={SYSTEM_ID: "pw-one", "other": "pw-two"})
    broken = await make_pool(account(sim.port, password="pw-one"))
    healthy = await make_pool(account(sim.port, name="other", system_id="other", password="pw-two"))
    await bound(broken)
    await bound(healthy)
    await sim.send_garbage(SYSTEM_ID)
    await wait_for(lambda: broken.bound_sessions == 0)
    assert healthy.bound_sessions == 1
    assert (await healthy.send(request("still-fine"))).kind is OutcomeKind.ACCEPTED
    await bound(broken)  # reconnected after the 60 s wait
    sessions = [s for s in sim.recording.sessions if s.system_id == SYSTEM_ID]
    assert len(sessions) == 2
    assert sessions[0].closed is not None
    assert sim.recording.connections[-1].time - sessions[0].closed >= 60.0
    assert len([s for s in sim.recording.sessions if s.system_id == "other"]) == 1


async def test_query_sm_returns_the_message_state(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim(receipts=True, receipt_delay=1_000.0)
    pool = await make_pool(account(sim.port))
    await bound(pool)
    outcome = await pool.send(request("q"))
    answer = await pool.query(outcome.message_ids[0], "Shop")
    assert answer.message_id == outcome.message_ids[0]
    assert answer.message_state == 1  # ENROUTE
    with pytest.raises(QueryFailed) as failure:
        await pool.query("does-not-exist", "Shop")
    assert failure.value.command_status == CommandStatus.ESME_RQUERYFAIL


async def test_the_answer_waits_until_the_handler_has_stored_the_message(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    """A handler returning an awaitable holds the deliver_sm_resp (status 0) until it is done,
    so an SMSC redelivers what a crash kept from being stored."""
    sim = await make_sim()
    stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_inbound(info: SessionInfo, pdu: Any) -> asyncio.Future[None]:
        return stored

    # (the test clock runs 1000x fast: the ack timeout must not be what releases it)
    pool = await make_pool(account(sim.port, binds=["trx"], inbound_ack_timeout=1e6),
                           on_inbound=on_inbound)
    await bound(pool)
    sending = asyncio.ensure_future(sim.send_mo(SYSTEM_ID, "79031234567", "Shop", "hold me"))
    await wait_for(lambda: len(sim.recording.delivers) == 1)
    await asyncio.sleep(0.05)
    assert sim.recording.delivers[0].ack_status is None  # not answered yet
    stored.set_result(None)
    assert await sending == [CommandStatus.ESME_ROK]


async def test_an_answer_never_waits_longer_than_the_ack_timeout(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    sim = await make_sim()
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    pool = await make_pool(account(sim.port, binds=["trx"], inbound_ack_timeout=5.0),
                           on_inbound=lambda info, pdu: never)
    await bound(pool)
    # the database "never" answers: status 0 still goes out, after 5 clock seconds
    assert await sim.send_mo(SYSTEM_ID, "79031234567", "Shop", "db down") == [
        CommandStatus.ESME_ROK]
    record = sim.recording.delivers[0]
    assert record.ack_status == CommandStatus.ESME_ROK
    never.cancel()


async def test_answers_waiting_on_one_store_are_each_sent_once(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    """A batched store hands one awaitable to every message of a batch. An answer the timeout
    released must not take with it the answers of messages that came later and wait on the
    same store: each deliver_sm is answered, once."""
    sim = await make_sim()
    batch: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    handed_up: list[Any] = []

    def on_inbound(info: SessionInfo, pdu: Any) -> asyncio.Future[None]:
        handed_up.append(pdu)
        return batch

    pool = await make_pool(account(sim.port, binds=["trx"], inbound_ack_timeout=50.0),
                           on_inbound=on_inbound)
    await bound(pool)
    # released by the timeout (50 clock seconds), the store still busy
    assert await sim.send_mo(SYSTEM_ID, "79031234567", "Shop", "first") == [
        CommandStatus.ESME_ROK]
    second = asyncio.ensure_future(sim.send_mo(SYSTEM_ID, "79031234567", "Shop", "second"))
    await wait_for(lambda: len(handed_up) == 2)
    batch.set_result(None)  # the store finishes before the second one's timeout
    assert await asyncio.wait_for(second, 5) == [CommandStatus.ESME_ROK]
    assert [d.ack_status for d in sim.recording.delivers] == [CommandStatus.ESME_ROK] * 2
    assert not sim.recording.violations
