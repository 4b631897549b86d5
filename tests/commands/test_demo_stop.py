"""The demo's last step, stopping the daemon: a Ctrl-C that lands while it waits for the daemon
still stops the daemon and is then passed on, so the demo ends as interrupted (exit 130), not as
if nothing had been pressed."""

from __future__ import annotations

import asyncio

import pytest

from dispatcher.clock import ScaledClock
from dispatcher.commands.demo import _stop


class SlowDaemon:
    """Takes `seconds` to finish once told to stop, like a daemon draining its windows."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.stopping = asyncio.Event()
        self.finished = False

    def stop(self) -> None:
        self.stopping.set()

    async def run(self) -> None:
        await self.stopping.wait()
        await asyncio.sleep(self.seconds)
        self.finished = True


async def test_an_interrupt_while_stopping_stops_the_daemon_and_is_passed_on() -> None:
    daemon = SlowDaemon(0.2)
    daemon_task = asyncio.create_task(daemon.run())
    stopping = asyncio.create_task(_stop(daemon, daemon_task, ScaledClock(1.0)))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    stopping.cancel()  # Ctrl-C: the demo's task is cancelled while it waits for the daemon
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert daemon.stopping.is_set()
    assert daemon_task.done()  # not left running behind the interrupted demo


async def test_a_daemon_that_stops_in_time_ends_the_step_quietly() -> None:
    daemon = SlowDaemon(0.01)
    daemon_task = asyncio.create_task(daemon.run())
    await _stop(daemon, daemon_task, ScaledClock(1.0))  # type: ignore[arg-type]
    assert daemon.finished


async def test_a_daemon_that_hangs_is_cancelled_after_the_stop_timeout() -> None:
    daemon = SlowDaemon(3600.0)
    daemon_task = asyncio.create_task(daemon.run())
    # the 60 s stop timeout lasts 60 ms on this clock
    await _stop(daemon, daemon_task, ScaledClock(0.001))  # type: ignore[arg-type]
    assert daemon_task.cancelled() and not daemon.finished
