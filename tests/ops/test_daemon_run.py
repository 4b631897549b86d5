"""One run of the real daemon, seen the way production sees it: systemd on a NOTIFY_SOCKET
(Type=notify, WatchdogSec=2s), Prometheus scraping /metrics, a load balancer asking /healthz
and /readyz, journald reading stdout.

The module fixture plays the run once (start, traffic with receipts, the outbox counts of the
periodic query, the SMSC going away, SIGTERM) and records what each observer saw; every test
checks one observer. One run instead of one per test: the periodic outbox query alone takes
15 s to land.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from prometheus_client.samples import Sample

from dispatcher.pg.admin import create_database, drop_database
from dispatcher.pg.embedded import EmbeddedPostgres
from tests.conftest import run_coroutine
from tests.ops.daemon_process import (
    SMPP_PASSWORD,
    SYSTEM_ID,
    WAIT_SECONDS,
    DaemonProcess,
    base_settings,
    free_port,
    http_get,
    insert_messages,
    running_daemon,
    running_simulator,
    scrape,
    wait_for_binds,
    wait_for_statuses,
    write_config,
)

MESSAGES = 8
WATCHDOG_USEC = 2_000_000  # the daemon pings every second, half of this
# The outbox counts come from a query every 15 s (runner.STATS_INTERVAL_SECONDS), not from
# the scrape: the first one lands that long after start-up.
OUTBOX_STATS_WAIT_SECONDS = 30.0
# READY after a refused bind: milliseconds of work, waited for generously (real seconds)
REFUSED_READY_SECONDS = 3.0
PROMETHEUS = shutil.which("prometheus")
JOB = "smpp-dispatcher"  # the job name config/prometheus/alerts.yml expects
PROMETHEUS_SERIES = {  # what Prometheus must read back, and the value it must have
    f'up{{job="{JOB}"}}': 1.0,
    f'sum(smpp_dispatcher_submits_total{{job="{JOB}", account="main", status="ESME_ROK"}})':
        float(MESSAGES),
    f'sum(smpp_dispatcher_session_up{{job="{JOB}", account="main"}})': 2.0,
    f'sum(smpp_dispatcher_receipts_total{{job="{JOB}", state="DELIVRD"}})': float(MESSAGES),
}
NO_PROMETHEUS = ("the prometheus server is not installed (Debian: apt-get install prometheus; "
                 ".ci/run does it when it runs as root)")


@dataclass
class Run:
    """What each observer saw of the run."""

    notify: list[str]  # datagrams on NOTIFY_SOCKET, in order
    exit_code: int
    stdout: list[str]
    statuses: dict[str, int]  # the outbox rows of the traffic, by status
    healthz: tuple[int, str]
    readyz_bound: tuple[int, str]
    metrics: dict[str, list[Sample]]  # scraped once the periodic outbox query had landed
    readyz_smsc_gone: tuple[int, str]
    session_up_smsc_gone: dict[tuple[str, ...], float]
    prometheus: dict[str, float | None] | None  # PROMETHEUS_SERIES as read back; None: absent
    smsc: str  # host:port of the simulator


# -- observers --------------------------------------------------------------------------


@contextlib.contextmanager
def notify_listener() -> Iterator[socket.socket]:
    """An AF_UNIX datagram socket, as systemd listens on NOTIFY_SOCKET."""
    # A short directory of its own: an AF_UNIX path is limited to 107 bytes.
    with tempfile.TemporaryDirectory(prefix="sdnotify-") as directory:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            listener.bind(str(Path(directory) / "notify"))
            listener.setblocking(False)
            yield listener
        finally:
            listener.close()


@contextlib.asynccontextmanager
async def receiving(listener: socket.socket) -> AsyncIterator[list[str]]:
    """Every datagram arriving on the notify socket, in order, while the block runs."""
    messages: list[str] = []

    async def receive() -> None:
        loop = asyncio.get_running_loop()
        while True:
            messages.append((await loop.sock_recv(listener, 4096)).decode())

    receiver = asyncio.create_task(receive())
    try:
        yield messages
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiver


class Prometheus:
    def __init__(self, url: str, process: asyncio.subprocess.Process) -> None:
        self.url, self.process = url, process

    async def value(self, expression: str) -> float | None:
        """The value of a query answering one series; None while it answers none."""
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(
                f"{self.url}/api/v1/query", params={"query": expression}) as reply:
            body = await reply.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    async def settle(self, expression: str, expected: float) -> float | None:
        """Poll until the query answers `expected` (a few scrapes); what it answered last."""
        deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
        value = None
        while value != expected and asyncio.get_running_loop().time() < deadline:
            assert self.process.returncode is None, "prometheus exited"
            with contextlib.suppress(aiohttp.ClientConnectionError):  # not listening yet
                value = await self.value(expression)
            await asyncio.sleep(0.2)
        return value


@contextlib.asynccontextmanager
async def running_prometheus(target_port: int, directory: Path) -> AsyncIterator[Prometheus]:
    """Prometheus scraping 127.0.0.1:`target_port` every second."""
    assert PROMETHEUS is not None
    config = directory / "prometheus.yml"
    # JSON is YAML: no YAML library needed to write Prometheus's config.
    config.write_text(json.dumps({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": JOB,
                            "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}],
    }), encoding="utf-8")
    port = free_port()
    with (directory / "prometheus.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
            stdout=log, stderr=asyncio.subprocess.STDOUT, cwd=directory)
    try:
        yield Prometheus(f"http://127.0.0.1:{port}", process)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


# -- the run ------------------------------------------------------------------------------


def series(samples: list[Sample], name: str, *keys: str) -> dict[tuple[str, ...], float]:
    return {tuple(s.labels[key] for key in keys): s.value for s in samples if s.name == name}


async def outbox_counted(daemon: DaemonProcess, url: str) -> dict[str, list[Sample]]:
    async def probe() -> dict[str, list[Sample]] | None:
        families = await scrape(url)
        rows = series(families["smpp_dispatcher_outbox_rows"], "smpp_dispatcher_outbox_rows",
                      "status", "route")
        return families if sum(rows.values()) == MESSAGES else None

    found: dict[str, list[Sample]] = await daemon.wait_until(
        "outbox rows from the periodic query", probe, OUTBOX_STATS_WAIT_SECONDS)
    return found


async def ready_answer(daemon: DaemonProcess, url: str, status: int) -> tuple[int, str]:
    async def probe() -> tuple[int, str] | None:
        answer = await http_get(f"{url}/readyz")
        return answer if answer[0] == status else None

    found: tuple[int, str] = await daemon.wait_until(f"/readyz {status}", probe)
    return found


async def play(dsn: str, directory: Path) -> Run:
    metrics_port = free_port()
    url = f"http://127.0.0.1:{metrics_port}"
    async with contextlib.AsyncExitStack() as stack:
        listener = stack.enter_context(notify_listener())
        notify = await stack.enter_async_context(receiving(listener))
        sim = await stack.enter_async_context(running_simulator())
        prometheus = (await stack.enter_async_context(running_prometheus(metrics_port, directory))
                      if PROMETHEUS else None)
        db = await asyncpg.connect(dsn)
        stack.push_async_callback(db.close)
        config = write_config(directory / "dispatcher.toml",
                              base_settings(dsn, sim.port, metrics_port))
        environment = {"NOTIFY_SOCKET": listener.getsockname(),
                       "WATCHDOG_USEC": str(WATCHDOG_USEC)}
        daemon = await stack.enter_async_context(running_daemon(config, environment))

        await wait_for_binds(sim, 2)
        healthz = await http_get(f"{url}/healthz")
        readyz_bound = await ready_answer(daemon, url, 200)
        statuses = await wait_for_statuses(db, await insert_messages(db, "run", MESSAGES))
        metrics = await outbox_counted(daemon, url)
        read_back = None if prometheus is None else {
            expression: await prometheus.settle(expression, expected)
            for expression, expected in PROMETHEUS_SERIES.items()}

        await sim.stop()
        readyz_smsc_gone = await ready_answer(daemon, url, 503)
        session_up = series((await scrape(url))["smpp_dispatcher_session_up"],
                            "smpp_dispatcher_session_up", "account", "slot")
        exit_code = await daemon.stop()

        async def stopping_received() -> bool | None:
            return True if any(m.startswith("STOPPING=1") for m in notify) else None

        await daemon.wait_until("STOPPING=1 on the notify socket", stopping_received)
    return Run(notify=notify, exit_code=exit_code, stdout=daemon.stdout, statuses=statuses,
               healthz=healthz, readyz_bound=readyz_bound, metrics=metrics,
               readyz_smsc_gone=readyz_smsc_gone, session_up_smsc_gone=session_up,
               prometheus=read_back, smsc=f"127.0.0.1:{sim.port}")


@pytest.fixture(scope="module")
def run(postgres_server: EmbeddedPostgres, migrated_template: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    database = f"ops_e2e_run_{os.getpid()}"
    run_coroutine(create_database(postgres_server.dsn, database, template=migrated_template))
    try:
        yield run_coroutine(play(postgres_server.dsn_for(database),
                                 tmp_path_factory.mktemp("daemon-run")))
    finally:
        run_coroutine(drop_database(postgres_server.dsn, database))


# -- systemd ------------------------------------------------------------------------------


def test_notify_ready_then_watchdog_then_stopping_and_exit_0(run: Run) -> None:
    kinds = [message.split("\n")[0] for message in run.notify]
    assert kinds[0] == "READY=1", run.notify  # nothing before READY
    assert kinds[-1] == "STOPPING=1", run.notify  # nothing after STOPPING
    assert kinds.count("READY=1") == kinds.count("STOPPING=1") == 1, run.notify
    assert kinds[1:-1].count("WATCHDOG=1") >= 2, run.notify
    # only WATCHDOG=1 and refreshed STATUS= lines in between
    assert set(kinds[1:-1]) <= {"WATCHDOG=1"} | {k for k in kinds if k.startswith("STATUS=")}
    # READY carries the bind count (it may go out once each account has one session bound)
    assert re.fullmatch(r"READY=1\nSTATUS=sessions bound [12]/2; in flight 0", run.notify[0])
    assert run.notify[-1].startswith("STOPPING=1\nSTATUS=")
    assert run.exit_code == 0


def test_every_stdout_line_is_a_json_event_for_journald(run: Run) -> None:
    events = []
    for line in run.stdout:
        record = json.loads(line)
        assert {"event", "level", "timestamp"} <= record.keys(), line
        events.append(record["event"])
    assert events.index("started") < events.index("stopping") < events.index("stopped")
    assert events[-1] == "stopped"
    assert events.count("smpp.bound") == 2
    assert not [line for line in run.stdout if SMPP_PASSWORD in line]


# -- /metrics, /healthz, /readyz ------------------------------------------------------------


def test_traffic_went_through(run: Run) -> None:
    assert run.statuses == {"delivered": MESSAGES}


def test_metrics_count_the_traffic(run: Run) -> None:
    families = run.metrics
    submits = [s for s in families["smpp_dispatcher_submits"]
               if s.name == "smpp_dispatcher_submits_total"]
    assert {(s.labels["account"], s.labels["status"]) for s in submits} == {("main", "ESME_ROK")}
    assert sum(s.value for s in submits) == MESSAGES  # over both sessions
    assert series(families["smpp_dispatcher_submit_latency_seconds"],
                  "smpp_dispatcher_submit_latency_seconds_count", "account") == {
        ("main",): MESSAGES}
    assert series(families["smpp_dispatcher_receipts"], "smpp_dispatcher_receipts_total",
                  "account", "state") == {("main", "DELIVRD"): MESSAGES}
    assert series(families["smpp_dispatcher_session_up"], "smpp_dispatcher_session_up",
                  "account", "slot", "host", "mode") == {
        ("main", "0", run.smsc, "trx"): 1.0, ("main", "1", run.smsc, "trx"): 1.0}
    [build] = families["smpp_dispatcher_build_info"]
    assert build.labels["version"]


def test_outbox_rows_by_status_come_from_the_periodic_query(run: Run) -> None:
    assert series(run.metrics["smpp_dispatcher_outbox_rows"], "smpp_dispatcher_outbox_rows",
                  "status", "route") == {("delivered", "default"): MESSAGES}


def test_database_writes_are_timed(run: Run) -> None:
    writes = run.metrics["smpp_dispatcher_db_write_seconds"]
    counts = series(writes, "smpp_dispatcher_db_write_seconds_count", "operation")
    assert counts and all(count >= 1 for count in counts.values()), counts
    buckets = [s for s in writes if s.name == "smpp_dispatcher_db_write_seconds_bucket"]
    assert {s.labels["le"] for s in buckets} >= {"0.001", "1.0", "+Inf"}


def test_healthz_and_readyz_follow_the_binds(run: Run) -> None:
    assert run.healthz == (200, "ok\n")
    assert run.readyz_bound == (200, "sessions bound 2/2; in flight 0\n")
    assert run.readyz_smsc_gone == (503, "no bound session for: main\n")
    assert run.session_up_smsc_gone == {("main", "0"): 0.0, ("main", "1"): 0.0}


# -- Prometheus ---------------------------------------------------------------------------


def test_a_real_prometheus_reads_the_daemons_series_back(run: Run) -> None:
    if run.prometheus is None:
        pytest.skip(NO_PROMETHEUS)
    assert run.prometheus == PROMETHEUS_SERIES


# -- READY when an account cannot bind --------------------------------------------------


async def test_ready_once_a_refused_account_has_tried_its_host(
    migrated_dsn: str, tmp_path: Path
) -> None:
    # the SMSC has another password for this account: its only host refuses the bind
    credentials = {SYSTEM_ID: SMPP_PASSWORD, "refused": "the-right-one"}
    with notify_listener() as listener:
        async with receiving(listener) as notify, running_simulator(credentials) as sim:
            settings = base_settings(migrated_dsn, sim.port, free_port())
            settings["smpp"]["accounts"]["refused"] = {
                "system_id": "refused", "password": "a-wrong-password",
                "hosts": [f"127.0.0.1:{sim.port}"], "bind_timeout": 3600}
            settings["routes"]["spare"] = {"smpp": "refused"}
            config = write_config(tmp_path / "dispatcher.toml", settings)
            async with running_daemon(config, {"NOTIFY_SOCKET": listener.getsockname()},
                                      wait_started=False) as daemon:
                await daemon.wait_for("smpp.bind_failed")
                await wait_for_binds(sim, 2)
                # every host was tried: READY is due now, not after the hour of bind_timeout
                await daemon.wait_for("started", timeout=REFUSED_READY_SECONDS)
                assert await daemon.stop() == 0
    assert re.fullmatch(r"READY=1\nSTATUS=sessions bound [12]/3; in flight 0", notify[0])
