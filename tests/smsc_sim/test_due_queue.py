"""The simulator's one-timer schedule of receipts: each item fires once, not before it is
due, in the order it falls due, whatever order it was added in; the items due at one timer
tick fire as one batch."""

from __future__ import annotations

import asyncio

from dispatcher.clock import ScaledClock
from dispatcher.smsc_sim.due_queue import DueQueue
from tests.smsc_sim.conftest import SteppedClock


async def test_items_fire_once_in_due_order_and_never_early() -> None:
    clock = ScaledClock(0.001)  # one clock second lasts a millisecond
    fired: list[tuple[str, float]] = []
    queue: DueQueue[str] = DueQueue(
        clock, lambda batch: fired.extend((item, clock.monotonic()) for item in batch)
    )
    added_at = clock.monotonic()
    delays = {"late": 60.0, "early": 5.0, "middle": 20.0, "same-as-middle": 20.0}
    for name, delay in delays.items():
        queue.add(delay, name)
    assert len(queue) == 4
    while len(fired) < 4:
        await asyncio.sleep(0.005)
    assert [name for name, _ in fired] == ["early", "middle", "same-as-middle", "late"]
    for name, at in fired:
        assert at - added_at >= delays[name], (name, at - added_at)
    assert len(queue) == 0
    await asyncio.sleep(0.08)  # nothing fires twice
    assert len(fired) == 4


async def test_an_item_added_while_others_wait_fires_in_its_turn() -> None:
    clock = ScaledClock(0.001)
    fired: list[int] = []
    queue: DueQueue[int] = DueQueue(clock, fired.extend)
    queue.add(50.0, 1)
    await asyncio.sleep(0.01)
    queue.add(1.0, 2)  # due before the one the timer waits for
    await asyncio.sleep(0.02)
    assert fired == [2]
    while not fired[1:]:
        await asyncio.sleep(0.005)
    assert fired == [2, 1]


async def test_items_due_at_one_tick_fire_as_one_batch() -> None:
    clock = ScaledClock(0.001)
    batches: list[list[int]] = []
    queue: DueQueue[int] = DueQueue(clock, batches.append)
    for item in range(5):
        queue.add(1.0, item)
    queue.add(40.0, 5)
    while len(batches) < 2:
        await asyncio.sleep(0.005)
    assert batches == [[0, 1, 2, 3, 4], [5]]


async def test_items_due_at_the_same_time_fire_in_the_order_they_were_added() -> None:
    clock = SteppedClock()  # every add at the same moment: equal due times for equal delays
    batches: list[list[str]] = []
    queue: DueQueue[str] = DueQueue(clock, batches.append)
    for item, delay in [("a", 3.0), ("b", 1.0), ("c", 2.0), ("d", 1.0), ("e", 3.0), ("f", 2.0)]:
        queue.add(delay, item)
    clock.now = 3.0
    while not batches:
        await asyncio.sleep(0.002)
    assert batches == [["b", "d", "c", "f", "a", "e"]]
    assert len(queue) == 0


async def test_the_timer_waits_at_least_a_millisecond_so_close_items_share_a_batch() -> None:
    clock = ScaledClock(0.001)  # one clock second lasts a millisecond, the loop's resolution
    batches: list[list[tuple[str, float]]] = []
    queue: DueQueue[str] = DueQueue(
        clock, lambda batch: batches.append([(item, clock.monotonic()) for item in batch])
    )
    added_at = clock.monotonic()
    queue.add(0.0, "at once")
    while not batches:
        await asyncio.sleep(0.001)
    assert batches[0][0][1] - added_at >= 1.0  # a whole real millisecond, not call_soon
    batches.clear()
    delays = {"first": 2.0, "then": 2.2, "later": 2.4, "last": 2.6}
    added_at = clock.monotonic()
    for name, delay in delays.items():
        queue.add(delay, name)
    while sum(map(len, batches)) < 4:
        await asyncio.sleep(0.001)
    assert len(batches) <= 2  # not one loop iteration for each
    for batch in batches:
        for name, at in batch:
            assert at - added_at >= delays[name]
