"""Waits that last *at least* their time: the provider's rules are minimums (seed
004_80a28bca441860d4.txt: 60 s after a drop L2928-2929, 90 s after a failure L2929-2930, 1 s
after throttling L2962-2963, 5/15/45 s after queue-full L2967-2969), but loop timers may fire
early (uvloop rounds to its cached millisecond clock). These re-check the Clock and wait out
any remainder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from dispatcher.clock import Clock


class AtLeastTimer:
    """Calls `callback(*args)` once, no sooner than `seconds` clock seconds from now."""

    __slots__ = ("_args", "_callback", "_clock", "_deadline", "_handle")

    def __init__(
        self, clock: Clock, seconds: float, callback: Callable[..., Any], *args: Any
    ) -> None:
        self._clock = clock
        self._deadline = clock.monotonic() + seconds
        self._callback = callback
        self._args = args
        self._handle: asyncio.TimerHandle = clock.call_later(seconds, self._fire)

    def _fire(self) -> None:
        remaining = self._deadline - self._clock.monotonic()
        if remaining > 0:
            self._handle = self._clock.call_later(remaining, self._fire)
            return
        self._callback(*self._args)

    def cancel(self) -> None:
        self._handle.cancel()


async def sleep_at_least(clock: Clock, seconds: float) -> None:
    deadline = clock.monotonic() + seconds
    while (remaining := deadline - clock.monotonic()) > 0:
        await clock.sleep(remaining)
