"""Work due after a delay, on one loop timer for all of it.

The simulator sends each receipt a configured delay after its submit. One loop timer per
message cost it about 8 % of its CPU at 3,000 messages a second (py-spy during the daemon
benchmark); a heap of due items with one timer armed for the earliest costs a heap push and
pop. The items due at one timer tick are fired as one batch, so the receiver does its
per-tick work (the clock, the date) once for all of them.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import Generic, TypeVar

from dispatcher.clock import Clock

T = TypeVar("T")


class DueQueue(Generic[T]):
    def __init__(self, clock: Clock, fire: Callable[[list[T]], None]) -> None:
        self._clock = clock
        self._fire = fire
        self._due: list[tuple[float, int, T]] = []
        self._order = itertools.count()  # equal times keep their order; items never compare
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0

    def __len__(self) -> int:
        return len(self._due)

    def add(self, delay: float, item: T) -> None:
        """Fire `item` once `delay` clock seconds have passed, in a batch with the items due
        at the same timer tick (in the order they fell due)."""
        at = self._clock.monotonic() + delay
        heapq.heappush(self._due, (at, next(self._order), item))
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
            batch.append(heapq.heappop(due)[2])
        if batch:
            self._fire(batch)
        if due:
            self._arm(due[0][0])
