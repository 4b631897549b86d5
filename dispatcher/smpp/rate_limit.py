"""A token bucket with continuous (sub-second) refill, so a limit of 50/s sends one message
every 20 ms instead of a burst of 50 and a stall (the aiosmpplib limiter's defect, anchors §1.4)."""

from __future__ import annotations

from collections.abc import Callable

# The bucket holds at most this share of one second of traffic: bursts stay short.
BURST_SECONDS = 0.1


class TokenBucket:
    __slots__ = ("_now", "_stamp", "_tokens", "capacity", "rate")

    def __init__(self, rate: float, now: Callable[[], float], burst: float | None = None) -> None:
        if not rate > 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate * BURST_SECONDS)
        self._now = now
        self._tokens = self.capacity
        self._stamp = now()

    def take(self) -> float:
        """Take one token and return 0.0, or take nothing and return the seconds to wait."""
        now = self._now()
        tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if tokens >= 1.0:
            self._tokens = tokens - 1.0
            return 0.0
        self._tokens = tokens
        return (1.0 - tokens) / self.rate
