"""Injectable time.

Every timer in the daemon (the 60 s reconnect wait, the 90 s wait after a failed bind, the 60 s
enquire_link idle rule, the 5/15/45 s queue-full retries, response timeouts) asks a `Clock`
instead of `time` and `asyncio` directly. Production uses `SystemClock`; tests use
`ScaledClock(0.001)`, under which a 60 s rule passes in 60 ms of real time over real sockets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


class Clock:
    """Real time. Subclasses may compress it; all durations given here are in clock seconds."""

    def monotonic(self) -> float:
        """Seconds on a monotonic scale, in clock seconds."""
        return time.monotonic()

    def wall(self) -> float:
        """Unix time in seconds (for timestamps written to the database and receipts)."""
        return time.time()

    def real_seconds(self, clock_seconds: float) -> float:
        """How long `clock_seconds` last in real time."""
        return clock_seconds

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(self.real_seconds(max(0.0, seconds)))

    def call_later(
        self, seconds: float, callback: Callable[..., Any], *args: Any
    ) -> asyncio.TimerHandle:
        loop = asyncio.get_running_loop()
        return loop.call_later(self.real_seconds(max(0.0, seconds)), callback, *args)

    async def wait_for(self, awaitable: Any, seconds: float | None) -> Any:
        timeout = None if seconds is None else self.real_seconds(seconds)
        return await asyncio.wait_for(awaitable, timeout)


class SystemClock(Clock):
    """The clock the daemon runs on."""

    # The time functions themselves, not methods that call them: the engine and the
    # simulator read the clock a few times per message, and a method call costs more than the
    # reading (0.1 µs a call)
    monotonic = staticmethod(time.monotonic)
    wall = staticmethod(time.time)


class ScaledClock(Clock):
    """A clock where one clock second lasts `factor` real seconds (tests: factor=0.001)."""

    def __init__(self, factor: float) -> None:
        if factor <= 0:
            raise ValueError("factor must be positive")
        self.factor = factor
        self._origin = time.monotonic()

    def monotonic(self) -> float:
        return (time.monotonic() - self._origin) / self.factor

    def real_seconds(self, clock_seconds: float) -> float:
        return clock_seconds * self.factor
