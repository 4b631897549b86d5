"""The clocks: SystemClock reads the system's own clocks; ScaledClock compresses time."""

from __future__ import annotations

import time

from dispatcher.clock import ScaledClock, SystemClock


def test_the_system_clock_reads_the_system_clocks() -> None:
    clock = SystemClock()
    before_monotonic, before_wall = time.monotonic(), time.time()
    monotonic, wall = clock.monotonic(), clock.wall()
    assert before_monotonic <= monotonic <= time.monotonic()
    assert before_wall <= wall <= time.time()
    assert clock.real_seconds(60.0) == 60.0


async def test_a_scaled_clock_passes_a_minute_in_milliseconds() -> None:
    clock = ScaledClock(0.001)
    started_real, started = time.monotonic(), clock.monotonic()
    await clock.sleep(60.0)
    assert clock.monotonic() - started >= 60.0
    assert time.monotonic() - started_real < 10.0  # 60 ms, with room for a loaded machine
