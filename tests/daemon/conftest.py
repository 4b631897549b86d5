"""A daemon wired to a real PostgreSQL database and the SMSC simulator over TCP, on a scaled
clock (one clock second lasts 10 ms) so lease and back-off rules run in test time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest

from dispatcher.clock import ScaledClock
from dispatcher.config import Config
from dispatcher.daemon.runner import Daemon
from dispatcher.smsc_sim import SimConfig, SmscSimulator

SYSTEM_ID = "dispatcher"
PASSWORD = "a-password-longer-than-eight"
FINAL = ("delivered", "undeliverable", "expired", "rejected", "failed", "unknown")


def daemon_config(dsn: str, sim_port: int, **overrides: Any) -> Config:
    raw: dict[str, Any] = {
        "database": {"dsn": dsn},
        "daemon": {"id": "test-daemon", "lease_seconds": 3000, "poll_interval": 5,
                   "drain_timeout": 5},
        "metrics": {"listen": "127.0.0.1:0"},
        "smpp": {"accounts": {"main": {
            "system_id": SYSTEM_ID, "password": PASSWORD,
            "hosts": [f"127.0.0.1:{sim_port}"], "binds": ["trx", "trx"], "window": 50,
            "response_timeout": 5,
        }}},
        "routes": {"default": {"smpp": "main", "source": "Dispatcher", "validity": 3600}},
    }
    for path, value in overrides.items():
        table = raw
        keys = path.split("__")
        for key in keys[:-1]:
            table = table.setdefault(key, {})
        table[keys[-1]] = value
    return Config.model_validate(raw)


@pytest.fixture
def clock() -> ScaledClock:
    return ScaledClock(0.01)


@pytest.fixture
async def simulator(clock: ScaledClock) -> AsyncIterator[SmscSimulator]:
    sim = SmscSimulator(
        SimConfig(credentials={SYSTEM_ID: PASSWORD}, receipt_delay=0.5, seed=7), clock=clock
    )
    await sim.start(host="127.0.0.1", port=0)
    yield sim
    await sim.stop()


@pytest.fixture
async def db(migrated_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(migrated_dsn)
    yield connection
    await connection.close()


class RunningDaemon:
    def __init__(self, daemon: Daemon, task: asyncio.Task[None]) -> None:
        self.daemon = daemon
        self.task = task

    async def stop(self) -> None:
        self.daemon.stop()
        await asyncio.wait_for(self.task, 30)


@pytest.fixture
async def start_daemon(
    clock: ScaledClock,
) -> AsyncIterator[Callable[[Config], Any]]:
    running: list[RunningDaemon] = []

    async def start(config: Config) -> RunningDaemon:
        daemon = Daemon(config, clock=clock)
        task = asyncio.create_task(daemon.run())
        deadline = asyncio.get_running_loop().time() + 20
        while not daemon.ready:
            if task.done():
                task.result()
            assert asyncio.get_running_loop().time() < deadline, "daemon did not start"
            await asyncio.sleep(0.01)
        handle = RunningDaemon(daemon, task)
        running.append(handle)
        return handle

    yield start
    for handle in running:
        if not handle.task.done():
            await handle.stop()


async def wait_all_final(db: asyncpg.Connection, count: int, timeout: float = 60.0) -> None:
    """Wait (real seconds, bounded) until `count` rows have a final status."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        done = await db.fetchval("SELECT count(*) FROM outbox WHERE status = ANY($1)",
                                 list(FINAL))
        if done >= count:
            return
        if asyncio.get_running_loop().time() > deadline:
            rows = await db.fetch(
                "SELECT status, provider, error_text, count(*) FROM outbox"
                " GROUP BY status, provider, error_text")
            raise AssertionError(f"only {done}/{count} final: {[tuple(r) for r in rows]}")
        await asyncio.sleep(0.05)
