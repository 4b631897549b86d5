"""The daemon's HTTP server over real loopback HTTP: /metrics parsed with prometheus-client's
own parser (names follow the Prometheus conventions, engine events show up as series),
/healthz and /readyz."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from dispatcher import __version__
from dispatcher.http_server import bound_port, build_app, start_http_server
from dispatcher.metrics import EngineMetrics, Metrics
from dispatcher.smpp.session_info import SessionInfo, SessionState
from dispatcher.smpp.settings import BindMode
from pdu.constants import CommandStatus

PREFIX = "smpp_dispatcher_"
TEXT_FORMAT = "text/plain; version="  # the Prometheus text format, any version
ADS_0 = SessionInfo("ads", 0, "smpp01.integrationapi.net", 2775, BindMode.TRX)
ADS_1 = SessionInfo("ads", 1, "smpp02.integrationapi.net", 2775, BindMode.TX)


@dataclass
class Readiness:
    ready: bool = False
    detail: str = "database: connecting"

    def __call__(self) -> tuple[bool, str]:
        return self.ready, self.detail


@dataclass
class Daemon:
    metrics: Metrics
    readiness: Readiness
    base_url: str
    http: aiohttp.ClientSession

    async def get(self, path: str) -> tuple[int, str, str]:
        async with self.http.get(self.base_url + path) as response:
            return response.status, response.headers["Content-Type"], await response.text()

    async def scrape(self) -> dict[str, list[Sample]]:
        status, content_type, body = await self.get("/metrics")
        assert status == 200
        assert content_type.startswith(TEXT_FORMAT)
        return {family.name: family.samples for family in text_string_to_metric_families(body)}


@pytest.fixture
async def daemon() -> AsyncIterator[Daemon]:
    metrics, readiness = Metrics(), Readiness()
    runner = await start_http_server(build_app(metrics, readiness), "127.0.0.1:0")
    try:
        async with aiohttp.ClientSession() as http:
            yield Daemon(metrics, readiness, f"http://127.0.0.1:{bound_port(runner)}", http)
    finally:
        await runner.cleanup()


def only(samples: list[Sample], name: str, **labels: str) -> float:
    matching = [s for s in samples if s.name == name and
                all(s.labels.get(key) == value for key, value in labels.items())]
    assert len(matching) == 1, f"{name}{labels}: {matching}"
    return matching[0].value


async def test_names_follow_the_prometheus_conventions(daemon: Daemon) -> None:
    engine = EngineMetrics(daemon.metrics)
    engine.submit_response(ADS_0, CommandStatus.ESME_ROK, 0.02)
    engine.session_state(ADS_0, SessionState.BOUND)
    daemon.metrics.db_write_seconds.labels("submitted").observe(0.003)
    families = {family.name: family
                for family in text_string_to_metric_families((await daemon.get("/metrics"))[2])}
    assert families
    for name, family in families.items():
        assert name.startswith(PREFIX), name
        for sample in family.samples:
            if family.type == "counter":
                assert sample.name.endswith(("_total", "_created")), sample.name
            else:
                assert not sample.name.endswith("_total"), f"{sample.name} is not a counter"
        if family.type == "histogram":  # our histograms all measure durations, in seconds
            assert name.endswith("_seconds"), name
        assert not any(unit in name for unit in ("_milliseconds", "_ms", "_minutes")), name
    for name, family in families.items():
        if family.type == "gauge":
            assert not name.endswith(("_count", "_sum", "_bucket")), name


async def test_engine_events_become_series(daemon: Daemon) -> None:
    engine = EngineMetrics(daemon.metrics)
    engine.session_state(ADS_0, SessionState.BOUND)
    engine.session_state(ADS_1, SessionState.CONNECTING)
    engine.submit_response(ADS_0, CommandStatus.ESME_ROK, 0.02)
    engine.submit_response(ADS_0, CommandStatus.ESME_ROK, 3.0)
    engine.submit_response(ADS_0, CommandStatus.ESME_RTHROTTLED, 0.004)
    engine.window_occupancy(ADS_0, 7, 10)
    engine.throttle_pause(ADS_0, 1.0)
    engine.reconnect_wait(ADS_1, 90.0, after_failure=True)
    engine.bind_failed(ADS_1, CommandStatus.ESME_RINVPASWD, "bad password")
    engine.bind_failed(ADS_1, None, "connection refused")
    engine.queue_full_retry(("ads", "id-1"), 1, 5.0)

    families = await daemon.scrape()
    up = families["smpp_dispatcher_session_up"]
    assert only(up, "smpp_dispatcher_session_up", account="ads", slot="0",
                host="smpp01.integrationapi.net:2775", mode="trx") == 1
    assert only(up, "smpp_dispatcher_session_up", slot="1", mode="tx") == 0
    submits = families["smpp_dispatcher_submits"]
    assert only(submits, "smpp_dispatcher_submits_total", session="0", status="ESME_ROK") == 2
    assert only(submits, "smpp_dispatcher_submits_total", status="ESME_RTHROTTLED") == 1
    latency = families["smpp_dispatcher_submit_latency_seconds"]
    assert only(latency, "smpp_dispatcher_submit_latency_seconds_count", account="ads") == 3
    assert only(latency, "smpp_dispatcher_submit_latency_seconds_bucket", le="0.025") == 2
    assert only(latency, "smpp_dispatcher_submit_latency_seconds_bucket", le="+Inf") == 3
    assert only(families["smpp_dispatcher_window_occupancy"],
                "smpp_dispatcher_window_occupancy", account="ads", session="0") == 7
    assert only(families["smpp_dispatcher_throttle_pauses"],
                "smpp_dispatcher_throttle_pauses_total", account="ads") == 1
    assert only(families["smpp_dispatcher_reconnects"],
                "smpp_dispatcher_reconnects_total", after="failure") == 1
    failures = families["smpp_dispatcher_bind_failures"]
    assert only(failures, "smpp_dispatcher_bind_failures_total", status="ESME_RINVPASWD",
                host="smpp02.integrationapi.net:2775") == 1
    assert only(failures, "smpp_dispatcher_bind_failures_total", status="connect") == 1
    assert only(families["smpp_dispatcher_queue_full_retries"],
                "smpp_dispatcher_queue_full_retries_total") == 1
    assert only(families["smpp_dispatcher_build_info"], "smpp_dispatcher_build_info",
                version=__version__) == 1


async def test_a_second_scrape_sees_counters_move(daemon: Daemon) -> None:
    engine = EngineMetrics(daemon.metrics)
    engine.in_doubt(ADS_0, "response timeout")
    first = only((await daemon.scrape())["smpp_dispatcher_in_doubt"],
                 "smpp_dispatcher_in_doubt_total", account="ads")
    engine.in_doubt(ADS_0, "connection lost")
    second = only((await daemon.scrape())["smpp_dispatcher_in_doubt"],
                  "smpp_dispatcher_in_doubt_total", account="ads")
    assert (first, second) == (1, 2)


async def test_healthz_answers_while_the_process_runs(daemon: Daemon) -> None:
    status, _, body = await daemon.get("/healthz")
    assert (status, body) == (200, "ok\n")


async def test_readyz_follows_the_readiness_callable_without_a_restart(daemon: Daemon) -> None:
    seen = []
    for ready, detail in [(False, "database: connecting"), (True, "accounts bound 2/2"),
                          (False, "database: connection lost")]:
        daemon.readiness.ready, daemon.readiness.detail = ready, detail
        status, _, body = await daemon.get("/readyz")
        seen.append((status, body))
    assert seen == [(503, "database: connecting\n"), (200, "accounts bound 2/2\n"),
                    (503, "database: connection lost\n")]


async def test_unknown_paths_are_404(daemon: Daemon) -> None:
    assert (await daemon.get("/admin"))[0] == 404
