"""Work due after a delay, on one loop timer for all of it.

The simulator sends each receipt a configured delay after its submit. One loop timer per
message cost it about 8 % of its CPU at 3,000 messages a second (py-spy during the daemon
benchmark), so one timer is armed for the earliest item. The items due at one timer tick are
fired as one batch, so the receiver does its per-tick work (the clock, the date) once for all
of them.

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

_DUE_TIME: Final = itemgetter(0)


class DueQueue(Generic[T]):
    def __init__(self, clock: Clock, fire: Callable[[list[T]], None]) -> None:
        self._clock = clock
        self._fire = fire
        self._due: deque[tuple[float, T]] = deque()  # (due time, item), by due time
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0

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
        self._timer = self._clock.call_later(at - self._clock.monotonic(), self._run)

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
