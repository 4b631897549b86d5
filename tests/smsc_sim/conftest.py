from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from dispatcher.clock import ScaledClock
from dispatcher.smsc_sim import SimConfig, SmscSimulator

SYSTEM_ID = "acct"
PASSWORD = "secret-password-longer-than-9"

SimFactory = Callable[..., Awaitable[SmscSimulator]]


class SteppedClock(ScaledClock):
    """Monotonic time that stands still until the test moves it (timers run in real time, a
    clock second lasting a millisecond): what is added meanwhile falls due at one moment."""

    def __init__(self) -> None:
        super().__init__(0.001)
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
async def make_sim() -> AsyncIterator[SimFactory]:
    """Start simulators on free loopback ports, on a clock where 1 s lasts 1 ms."""
    started: list[SmscSimulator] = []

    async def make(**overrides: object) -> SmscSimulator:
        overrides.setdefault("credentials", {SYSTEM_ID: PASSWORD})
        sim = SmscSimulator(SimConfig(**overrides), clock=ScaledClock(0.001))  # type: ignore[arg-type]
        await sim.start(host="127.0.0.1", port=0)
        started.append(sim)
        return sim

    yield make
    for sim in started:
        await sim.stop()
