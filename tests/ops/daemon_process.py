"""The real daemon as systemd runs it: `python -m dispatcher run --config FILE` in a subprocess,
with its JSON log lines collected as they come, beside an SMSC simulator on 127.0.0.1.

    async with running_simulator() as sim, running_daemon(config_path) as daemon:
        started = await daemon.wait_for("started")
        ...
        assert await daemon.stop() == 0

The simulator runs on the test's event loop (real TCP, its receipts on a scaled clock); the
daemon runs on the real clock in its own process. Every wait is bounded, and leaving a
`running_*` block ends what it started (a daemon still running is killed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from dispatcher.clock import ScaledClock
from dispatcher.smsc_sim import SimConfig, SmscSimulator

REPOSITORY = Path(__file__).resolve().parents[2]
SYSTEM_ID = "dispatcher"
SMPP_PASSWORD = "smpp-Pa55-e2e-7Q"  # distinctive, so a leak is found by a plain grep
FINAL_STATUSES = ("delivered", "undeliverable", "expired", "rejected", "failed", "unknown")
START_SECONDS = 20.0  # interpreter start, database, binds: a couple of seconds in practice
STOP_SECONDS = 20.0
WAIT_SECONDS = 20.0
POLL_SECONDS = 0.05
BIND_TIMEOUT_SECONDS = 3
# One simulator second lasts 10 ms: receipts come back within milliseconds.
SIMULATOR_TIME_SCALE = 0.01
# Variables of the test's own environment that would change how the daemon runs.
_INHERITED_OVERRIDES = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS",
                        "CREDENTIALS_DIRECTORY")


class DaemonExited(AssertionError):
    """The daemon ended while a test waited for something from it."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def base_settings(dsn: str, sim_port: int, metrics_port: int) -> dict[str, Any]:
    """A daemon with two trx binds of account `main` on the simulator and one route."""
    return {
        "database": {"dsn": dsn},
        "daemon": {"id": "ops-e2e", "drain_timeout": 5},
        "log": {"level": "info"},
        "metrics": {"listen": f"127.0.0.1:{metrics_port}"},
        "smpp": {"accounts": {"main": {
            "system_id": SYSTEM_ID, "password": SMPP_PASSWORD,
            "hosts": [f"127.0.0.1:{sim_port}"], "binds": ["trx", "trx"], "window": 20,
            # READY waits this long for an account that cannot bind, even after its bind was
            # refused (see test_daemon_run): short, since every bind here is on loopback
            "response_timeout": 5, "bind_timeout": BIND_TIMEOUT_SECONDS,
        }}},
        "routes": {"default": {"smpp": "main", "source": "Dispatcher", "validity": 3600}},
    }


def toml_text(table: Mapping[str, Any], prefix: str = "") -> str:
    """TOML for the nested dicts of strings, numbers, booleans and lists a config holds."""
    plain = [f"{key} = {_toml_value(value)}" for key, value in table.items()
             if not isinstance(value, Mapping)]
    lines = ([f"[{prefix}]"] if prefix and plain else []) + plain
    text = "\n".join(lines) + ("\n\n" if lines else "")
    for key, value in table.items():
        if isinstance(value, Mapping):
            text += toml_text(value, f"{prefix}.{key}" if prefix else key)
    return text


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML for {type(value).__name__}")


def write_config(path: Path, settings: Mapping[str, Any]) -> Path:
    path.write_text(toml_text(settings), encoding="utf-8")
    return path


class DaemonProcess:
    """One `smpp-dispatcher run` process and everything it printed so far."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        assert process.stdout is not None and process.stderr is not None
        self._readers = [
            asyncio.create_task(_collect(process.stdout, self.stdout)),
            asyncio.create_task(_collect(process.stderr, self.stderr)),
        ]

    def events(self, name: str) -> list[dict[str, Any]]:
        """The stdout lines that are JSON objects with this `event`."""
        found = []
        for line in self.stdout:
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict) and record.get("event") == name:
                    found.append(record)
        return found

    async def wait_for(self, name: str, *, after: int = 0,
                       timeout: float = WAIT_SECONDS) -> dict[str, Any]:
        """The first log event `name` beyond the first `after` such events."""
        async def seen() -> dict[str, Any] | None:
            events = self.events(name)
            return events[after] if len(events) > after else None

        found: dict[str, Any] = await self.wait_until(f"log event {name!r}", seen, timeout)
        return found

    async def wait_until(self, what: str, probe: Callable[[], Any],
                         timeout: float = WAIT_SECONDS) -> Any:
        """Poll the coroutine function `probe` until it returns something; fail naming `what`
        with the daemon's output when the daemon ends or `timeout` real seconds pass."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = await probe()
            if found is not None:
                return found
            if self.process.returncode is not None:
                await asyncio.gather(*self._readers)
                raise DaemonExited(f"the daemon exited ({self.process.returncode}) before "
                                   f"{what}\n{self.output_tail()}")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no {what} within {timeout} s\n{self.output_tail()}")
            await asyncio.sleep(POLL_SECONDS)

    def send_signal(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    async def stop(self, timeout: float = STOP_SECONDS) -> int:
        """SIGTERM, then the exit code once the daemon has drained and every line is read."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), timeout)
        await asyncio.gather(*self._readers)
        return code

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        await asyncio.gather(*self._readers)

    def output_tail(self, lines: int = 40) -> str:
        return "\n".join(["--- stdout", *self.stdout[-lines:], "--- stderr",
                          *self.stderr[-lines:]])


async def http_get(url: str) -> tuple[int, str]:
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url) as response:
        return response.status, await response.text()


async def scrape(url: str) -> dict[str, list[Sample]]:
    """GET /metrics and parse it with prometheus-client's own parser: family -> samples."""
    status, body = await http_get(f"{url}/metrics")
    assert status == 200, body
    return {family.name: family.samples for family in text_string_to_metric_families(body)}


async def _collect(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode("utf-8", errors="replace").rstrip("\n"))


def daemon_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if name not in _INHERITED_OVERRIDES and not name.startswith("SMPP_DISPATCHER__")}
    env.update(extra or {})
    return env


@contextlib.asynccontextmanager
async def running_daemon(config: Path, env: Mapping[str, str] | None = None, *,
                         wait_started: bool = True) -> AsyncIterator[DaemonProcess]:
    """Start the daemon and (unless told not to) wait for its "started" line, which follows
    READY=1."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dispatcher", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=daemon_environment(env), cwd=REPOSITORY)
    daemon = DaemonProcess(process)
    try:
        if wait_started:
            await daemon.wait_for("started", timeout=START_SECONDS)
        yield daemon
    finally:
        await daemon.kill()


@contextlib.asynccontextmanager
async def running_simulator(credentials: Mapping[str, str] | None = None,
                            ) -> AsyncIterator[SmscSimulator]:
    sim = SmscSimulator(
        SimConfig(credentials=dict(credentials or {SYSTEM_ID: SMPP_PASSWORD}),
                  receipt_delay=0.5, seed=5),
        clock=ScaledClock(SIMULATOR_TIME_SCALE))
    await sim.start(host="127.0.0.1", port=0)
    try:
        yield sim
    finally:
        await sim.stop()


async def wait_for_binds(sim: SmscSimulator, count: int, system_id: str = SYSTEM_ID) -> None:
    await sim.wait_until(lambda: sim.bound_count(system_id) == count, timeout=WAIT_SECONDS)


async def insert_messages(db: asyncpg.Connection, tag: str, count: int,
                          route: str = "default") -> list[int]:
    rows = await db.fetch(
        "INSERT INTO outbox (route, destination, body)"
        " SELECT $1, '7916' || lpad(n::text, 7, '0'), $2 || ' message ' || n"
        " FROM generate_series(1, $3) AS n RETURNING id",
        route, tag, count)
    return [row["id"] for row in rows]


async def wait_for_statuses(db: asyncpg.Connection, ids: Sequence[int],
                            statuses: Sequence[str] = FINAL_STATUSES,
                            timeout: float = WAIT_SECONDS) -> dict[str, int]:
    """Wait until every row of `ids` has one of `statuses`; returns the count per status."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await db.fetch("SELECT status, count(*) FROM outbox WHERE id = ANY($1)"
                              " GROUP BY status", list(ids))
        counts = {row["status"]: row["count"] for row in rows}
        if sum(n for status, n in counts.items() if status in statuses) == len(ids):
            return counts
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"rows not {'/'.join(statuses)} within {timeout} s: {counts}")
        await asyncio.sleep(POLL_SECONDS)
