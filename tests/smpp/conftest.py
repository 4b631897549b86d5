"""Fixtures for the SMPP engine tests: a real simulator over loopback TCP and a ScaledClock.

Timeouts that are not under test are set high (in clock seconds) so a busy machine cannot
turn a slow loopback answer into a spurious failure; the provider's 60/90/1/5/15/45 s rules
keep their real values and pass in milliseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvloop

from dispatcher.clock import ScaledClock
from dispatcher.smpp import (
    AccountSettings,
    EngineObserver,
    SessionInfo,
    SessionState,
    SmppPool,
    SubmitRequest,
)
from dispatcher.smsc_sim import SimConfig, SmscSimulator
from pdu.segmentation import split_text

SYSTEM_ID = "acct"
PASSWORD = "pa55-longer-than-eight"  # SMPP says 8 octets at most; providers issue longer


@dataclass
class RecordingObserver(EngineObserver):
    states: list[tuple[SessionInfo, SessionState]] = field(default_factory=list)
    bind_failures: list[tuple[SessionInfo, int | None, str]] = field(default_factory=list)
    reconnect_waits: list[tuple[SessionInfo, float, bool]] = field(default_factory=list)
    throttles: list[tuple[SessionInfo, float]] = field(default_factory=list)
    queue_full: list[tuple[Hashable, int, float]] = field(default_factory=list)
    in_doubts: list[tuple[SessionInfo, str]] = field(default_factory=list)
    late: list[tuple[SessionInfo, int, int]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def session_state(self, info: SessionInfo, state: SessionState) -> None:
        self.states.append((info, state))

    def bind_failed(self, info: SessionInfo, command_status: int | None, reason: str) -> None:
        self.bind_failures.append((info, command_status, reason))

    def reconnect_wait(self, info: SessionInfo, seconds: float, after_failure: bool) -> None:
        self.reconnect_waits.append((info, seconds, after_failure))

    def submit_response(self, info: SessionInfo, command_status: int, latency: float) -> None:
        self.latencies.append(latency)

    def throttle_pause(self, info: SessionInfo, seconds: float) -> None:
        self.throttles.append((info, seconds))

    def queue_full_retry(self, key: Hashable, occurrence: int, delay: float) -> None:
        self.queue_full.append((key, occurrence, delay))

    def in_doubt(self, info: SessionInfo, reason: str) -> None:
        self.in_doubts.append((info, reason))

    def late_response(self, info: SessionInfo, command_id: int, sequence_number: int) -> None:
        self.late.append((info, command_id, sequence_number))


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every engine test runs on both loops: the daemon runs uvloop, whose transports differ."""
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.fixture
def clock() -> ScaledClock:
    return ScaledClock(0.001)


SimFactory = Callable[..., Awaitable[SmscSimulator]]


@pytest.fixture
async def make_sim(clock: ScaledClock) -> AsyncIterator[SimFactory]:
    sims: list[SmscSimulator] = []

    async def factory(
        port: int = 0, sim_clock: ScaledClock | None = None, **config: Any
    ) -> SmscSimulator:
        config.setdefault("credentials", {SYSTEM_ID: PASSWORD})
        config.setdefault("receipts", False)
        sim = SmscSimulator(SimConfig(**config), clock=sim_clock or clock)
        await sim.start(host="127.0.0.1", port=port)
        sims.append(sim)
        return sim

    yield factory
    for sim in sims:
        await sim.stop()


def account(*ports: int, **overrides: Any) -> AccountSettings:
    values: dict[str, Any] = {
        "name": "test-account",
        "system_id": SYSTEM_ID,
        "password": PASSWORD,
        "hosts": [f"127.0.0.1:{port}" for port in ports],
        "binds": ["trx"],
        "bind_timeout": 5_000.0,
        "response_timeout": 5_000.0,
        "unbind_timeout": 2_000.0,
    }
    values.update(overrides)
    return AccountSettings(**values)


PoolFactory = Callable[..., Awaitable[SmppPool]]


@pytest.fixture
async def make_pool(clock: ScaledClock) -> AsyncIterator[PoolFactory]:
    pools: list[SmppPool] = []

    async def factory(settings: AccountSettings, *, start: bool = True, **kwargs: Any) -> SmppPool:
        kwargs.setdefault("clock", clock)
        pool = SmppPool(settings, **kwargs)
        pools.append(pool)
        if start:
            await pool.start()
        return pool

    yield factory
    for pool in pools:
        await pool.close(timeout=100.0)


def request(
    key: Hashable, destination: str = "79031234567", text: str = "hello", **kw: Any
) -> SubmitRequest:
    return SubmitRequest(
        key=key, source="Shop", destination=destination, parts=split_text(text), **kw
    )


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll until `predicate()` holds; fails the test after `timeout` real seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.002)


async def bound(pool: SmppPool, count: int = 1) -> None:
    await wait_for(lambda: pool.bound_sessions >= count)
