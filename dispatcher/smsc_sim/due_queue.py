"""Work due after a delay, on one loop timer for all of it.

The simulator sends each receipt a configured delay after its submit. One loop timer per
message cost it about 8 % of its CPU at 3,000 messages a second (py-spy during the daemon
benchmark), so one timer is armed for the earliest item. The items due at one timer tick are
fired as one batch, so the receiver does its per-tick work (the clock, the date) once for all
of them.

The timer waits at least a millisecond of real time, the resolution of the loop's timers.
uvloop runs a shorter delay as call_soon, and a timer counts from the loop's cached time, so it
often fired before its item was due: re-armed for the fraction of a millisecond left, the
timer spun through loop iterations, each sending the few items fallen due since the last one
(under the daemon benchmark 16,000 ticks and 14,000 writes for 60,000 receipts; waiting a
millisecond, 1,400 ticks). An item still never fires before it is due.

The items wait in a deque sorted by due time. With one delay for all of them (the receipt
delay) each new item is due last, an append, and the due ones leave from the front; an item
due earlier than the last (the delay was shortened) is inserted in its place. A heap cost a
push and a pop of O(log n) tuple comparisons per item.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from operator import itemgetter
from typing import Final, Generic, TypeVar

from dispatcher.clock import Clock

T = TypeVar("T")

# The shortest wait of the timer, in real seconds: the loop's timer resolution
_TIMER_RESOLUTION_SECONDS: Final = 0.001

_DUE_TIME: Final = itemgetter(0)


class DueQueue(Generic[T]):
    def __init__(self, clock: Clock, fire: Callable[[list[T]], None]) -> None:
        self._clock = clock
        self._fire = fire
        self._due: deque[tuple[float, T]] = deque()  # (due time, item), by due time
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._shortest_wait = _TIMER_RESOLUTION_SECONDS / clock.real_seconds(1.0)  # clock s

    def __len__(self) -> int:
        return len(self._due)

    def add(self, delay: float, item: T) -> None:
        """Fire `item` once `delay` clock seconds have passed, in a batch with the items due
        at the same timer tick (in the order they fell due)."""
        at = self._clock.monotonic() + delay
        due = self._due
        if not due or at >= due[-1][0]:
            due.append((at, item))
        else:  # after the items due at the same time: equal times keep their order
            due.insert(bisect_right(due, at, key=_DUE_TIME), (at, item))
        if self._timer is None or at < self._timer_at:
            self._arm(at)

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        wait = max(at - self._clock.monotonic(), self._shortest_wait)
        self._timer = self._clock.call_later(wait, self._run)

    def _run(self) -> None:
        self._timer = None
        now = self._clock.monotonic()
        due = self._due
        # a loop timer may fire a little early (uvloop rounds to milliseconds): what is not
        # due yet waits for the next timer
        batch = []
        while due and due[0][0] <= now:
            batch.append(due.popleft()[1])
        if batch:
            self._fire(batch)
        if due:
            self._arm(due[0][0])
