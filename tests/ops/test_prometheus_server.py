"""A real Prometheus (Debian's `prometheus`) scrapes our HTTP server every second on
127.0.0.1, loads config/prometheus/alerts.yml, and answers through its query API: the series
we export, every dashboard query, and our alerts evaluated on live data.

The exporter runs in a thread with its own event loop so that one Prometheus serves the whole
module; the tests change metrics from the main thread (prometheus-client is thread-safe).
Every wait is bounded (WAIT_SECONDS); the Prometheus process is always stopped.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web

from dispatcher.http_server import bound_port, build_app, start_http_server
from dispatcher.metrics import EngineMetrics, Metrics
from dispatcher.smpp.session_info import SessionInfo, SessionState
from dispatcher.smpp.settings import BindMode
from pdu.constants import CommandStatus

PROMETHEUS = shutil.which("prometheus")
REPOSITORY = Path(__file__).resolve().parents[2]
ALERTS = REPOSITORY / "config" / "prometheus" / "alerts.yml"
DASHBOARD = REPOSITORY / "config" / "grafana" / "dashboard.json"
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.2
JOB = "smpp-dispatcher"  # the job name alerts.yml expects
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$instance": ".*", "$account": ".*",
                     "$route": ".*"}
ADS = SessionInfo("ads", 0, "smpp01.integrationapi.net", 2775, BindMode.TRX)
DEAD = SessionInfo("dead", 0, "smpp03.integrationapi.net", 2775, BindMode.TRX)
T = TypeVar("T")

pytestmark = pytest.mark.skipif(
    PROMETHEUS is None,
    reason="the prometheus server is not installed (Debian: apt-get install prometheus; "
           ".ci/run does it when it runs as root)",
)


@dataclass
class Exporter:
    metrics: Metrics
    port: int


@dataclass
class Prometheus:
    url: str
    log: Path

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as reply:
            body = json.load(reply)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expression: str) -> list[dict[str, Any]]:
        data = self.api("query", query=expression)
        result: list[dict[str, Any]] = data["result"]
        return result

    def wait_for(self, what: str, probe: Callable[[], T | None]) -> T:
        """Poll until `probe` returns something; fail with Prometheus's log after WAIT_SECONDS."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                found = probe()
            except OSError:  # not listening yet
                found = None
            if found is not None:
                return found
            if time.monotonic() > deadline:
                log = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
                pytest.fail(f"no {what} after {WAIT_SECONDS} s; prometheus log:\n{log}")
            time.sleep(POLL_SECONDS)


def populate(metrics: Metrics) -> None:
    """Give every metric family at least one series, as a running daemon would."""
    engine = EngineMetrics(metrics)
    engine.session_state(ADS, SessionState.BOUND)
    engine.session_state(DEAD, SessionState.CONNECTING)
    engine.submit_response(ADS, CommandStatus.ESME_ROK, 0.02)
    engine.submit_response(ADS, CommandStatus.ESME_ROK, 0.05)
    engine.window_occupancy(ADS, 3, 10)
    engine.reconnect_wait(DEAD, 90.0, after_failure=True)
    engine.bind_failed(DEAD, CommandStatus.ESME_RINVPASWD, "bad password")
    engine.throttle_pause(ADS, 1.0)
    engine.queue_full_retry(("ads", "m1"), 1, 5.0)
    engine.transient_retry(("ads", "m2"), CommandStatus.ESME_RSYSERR, 5.0)
    engine.in_doubt(ADS, "response timeout")
    engine.late_response(ADS, 0x80000004, 7)
    metrics.receipts.labels("ads", "DELIVRD").inc()
    metrics.receipts_unmatched.set(4)
    metrics.receipts_dropped.inc(0)
    metrics.incoming.labels("ads").inc()
    metrics.outbox_rows.labels("queued", "default").set(12)
    metrics.outbox_rows.labels("delivered", "default").set(340)
    metrics.db_write_seconds.labels("submitted").observe(0.004)
    metrics.messages.labels("default", "ads", "submitted").inc()
    metrics.fallback_requests.labels("mobipace", "accepted").inc()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def exporter() -> Iterator[Exporter]:
    metrics = Metrics()
    populate(metrics)
    loop = asyncio.new_event_loop()
    runner: web.AppRunner = loop.run_until_complete(
        start_http_server(build_app(metrics, lambda: (True, "ready")), "127.0.0.1:0"))
    thread = threading.Thread(target=loop.run_forever, name="exporter", daemon=True)
    thread.start()
    try:
        yield Exporter(metrics, bound_port(runner))
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture(scope="module")
def prometheus(exporter: Exporter, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Prometheus]:
    assert PROMETHEUS is not None
    directory = tmp_path_factory.mktemp("prometheus")
    config = directory / "prometheus.yml"
    # JSON is YAML: no YAML library needed to write Prometheus's config.
    config.write_text(json.dumps({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ALERTS)],
        "scrape_configs": [{
            "job_name": JOB,
            "static_configs": [{"targets": [f"127.0.0.1:{exporter.port}"]}],
        }],
    }), encoding="utf-8")
    port = free_port()
    log = directory / "prometheus.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}",
             f"--storage.tsdb.path={directory / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=log_file, stderr=subprocess.STDOUT, cwd=directory)
    try:
        server = Prometheus(f"http://127.0.0.1:{port}", log)
        server.wait_for("ready Prometheus", lambda: _ready(server.url, process))
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _ready(url: str, process: subprocess.Popen[bytes]) -> bool | None:
    if process.poll() is not None:
        pytest.fail(f"prometheus exited with {process.returncode} at start-up")
    with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as reply:
        return True if reply.status == 200 else None


def _at_least(prometheus: Prometheus, expression: str, value: float) -> float | None:
    result = prometheus.query(expression)
    if len(result) == 1 and float(result[0]["value"][1]) >= value:
        return float(result[0]["value"][1])
    return None


def test_prometheus_scrapes_the_daemon_and_reads_a_series_back(
        prometheus: Prometheus, exporter: Exporter) -> None:
    up = prometheus.wait_for("successful scrape",
                             lambda: _at_least(prometheus, f'up{{job="{JOB}"}}', 1))
    assert up == 1
    series = 'smpp_dispatcher_submits_total{account="ads", session="0", status="ESME_ROK"}'
    assert prometheus.wait_for("submits", lambda: _at_least(prometheus, series, 2)) == 2
    # a change in the daemon reaches the query API within a few scrapes
    EngineMetrics(exporter.metrics).submit_response(ADS, CommandStatus.ESME_ROK, 0.01)
    assert prometheus.wait_for("the new submit", lambda: _at_least(prometheus, series, 3)) == 3
    [build] = prometheus.query("smpp_dispatcher_build_info")
    assert build["metric"]["job"] == JOB
    assert build["metric"]["instance"] == f"127.0.0.1:{exporter.port}"


def test_every_dashboard_query_returns_data(prometheus: Prometheus) -> None:
    # rate() needs two samples in its window: wait for a few scrapes first
    prometheus.wait_for("three scrapes", lambda: _at_least(
        prometheus, f'count_over_time(up{{job="{JOB}"}}[1m])', 3))
    empty = []
    for expression in _dashboard_queries():
        if not prometheus.query(expression):
            empty.append(expression)
    assert empty == []


def test_the_alert_rules_load_and_evaluate_on_live_data(prometheus: Prometheus) -> None:
    def evaluated_rules() -> list[dict[str, Any]] | None:
        rules = [rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]]
        return rules if rules and all(rule["health"] == "ok" for rule in rules) else None

    rules = prometheus.wait_for("evaluated alert rules", evaluated_rules)
    assert len(rules) == ALERTS.read_text(encoding="utf-8").count("- alert:")

    def pending_not_bound() -> list[dict[str, Any]] | None:
        alerts = [alert for alert in prometheus.api("alerts")["alerts"]
                  if alert["labels"]["alertname"] == "SmppAccountNotBound"]
        return alerts or None

    # account "dead" has no bound session: pending (the rule waits 5 minutes to fire);
    # account "ads" is bound and stays quiet
    [alert] = prometheus.wait_for("SmppAccountNotBound for account dead", pending_not_bound)
    assert alert["labels"]["account"] == "dead"
    assert alert["state"] == "pending"
    assert alert["annotations"]["summary"] == "SMPP account dead has no bound session"


def _dashboard_queries() -> list[str]:
    def walk(panels: list[dict[str, Any]]) -> Iterator[str]:
        for panel in panels:
            for target in panel.get("targets", []):
                expression: str = target["expr"]
                for variable, value in GRAFANA_VARIABLES.items():
                    expression = expression.replace(variable, value)
                yield expression
            yield from walk(panel.get("panels", []))

    queries = list(walk(json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]))
    assert queries
    return queries
