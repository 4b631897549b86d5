"""A pool without a bound session gives its untouched messages back on request."""

from __future__ import annotations

import asyncio

from dispatcher.clock import ScaledClock
from dispatcher.smpp import AccountSettings, OutcomeKind, SmppPool, SubmitRequest
from pdu.segmentation import split_text


async def test_withdraw_gives_back_unsent_messages() -> None:
    clock = ScaledClock(0.001)
    # nothing listens on port 9 of 127.0.0.1: the pool never binds
    settings = AccountSettings(name="down", system_id="x", password="y",
                               hosts=["127.0.0.1:9"], binds=("trx",))
    pool = SmppPool(settings, clock=clock)
    await pool.start()
    try:
        futures = [
            pool.submit_nowait(SubmitRequest(key=i, source="Me", destination="79031234567",
                                             parts=split_text(f"text {i}")))
            for i in range(5)
        ]
        await asyncio.sleep(0.01)
        assert pool.held == 5 and pool.bound_sessions == 0
        assert pool.withdraw_unsent("failover") == 5
        outcomes = await asyncio.gather(*futures)
        assert {o.kind for o in outcomes} == {OutcomeKind.NOT_SENT}
        assert {o.reason for o in outcomes} == {"failover"}
        assert {o.key for o in outcomes} == set(range(5))
        assert pool.held == 0
    finally:
        await pool.close(1)
