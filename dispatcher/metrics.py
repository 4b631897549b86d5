"""Prometheus metrics: names follow the conventions (`smpp_dispatcher_*`, base units, `_total`).

Each daemon owns one `Metrics` with its own registry (tests run several daemons in one
process). The SMPP engine reports through `EngineMetrics`, an `EngineObserver`; the outbox
counts come from a periodic query, never from a scrape.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Info

from dispatcher import __version__
from dispatcher.fast_metrics import CounterChild, FastCounter, FastHistogram, HistogramChild
from dispatcher.smpp.observer import EngineObserver
from dispatcher.smpp.session_info import SessionInfo, SessionState
from pdu.constants import status_name

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    30.0)
_DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)


class Metrics:
    """The series updated per message or per batch are FastCounter / FastHistogram
    (dispatcher/fast_metrics.py: no lock, same exposition); the rarer ones are
    prometheus_client's own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.build_info = Info("smpp_dispatcher_build", "Version of the running daemon",
                               registry=r)
        self.build_info.info({"version": __version__})
        self.submits = FastCounter(
            "smpp_dispatcher_submits", "submit_sm responses by command_status",
            ["account", "session", "status"], registry=r)
        self.submit_latency = FastHistogram(
            "smpp_dispatcher_submit_latency_seconds", "submit_sm to submit_sm_resp",
            ["account"], buckets=_LATENCY_BUCKETS, registry=r)
        self.window_occupancy = Gauge(
            "smpp_dispatcher_window_occupancy", "Requests waiting for a response per session",
            ["account", "session"], registry=r)
        self.session_up = Gauge(
            "smpp_dispatcher_session_up", "1 while the session is bound",
            ["account", "slot", "host", "mode"], registry=r)
        self.bind_failures = Counter(
            "smpp_dispatcher_bind_failures", "Failed connect or bind attempts",
            ["account", "host", "status"], registry=r)
        self.reconnects = Counter(
            "smpp_dispatcher_reconnects", "Waits before a new connect (after a drop or failure)",
            ["account", "after"], registry=r)
        self.throttle_pauses = Counter(
            "smpp_dispatcher_throttle_pauses", "ESME_RTHROTTLED pauses of a session",
            ["account"], registry=r)
        self.queue_full_retries = Counter(
            "smpp_dispatcher_queue_full_retries", "ESME_RMSGQFUL retries", registry=r)
        self.transient_retries = Counter(
            "smpp_dispatcher_transient_retries", "Retries after a transient status",
            ["status"], registry=r)
        self.in_doubt = Counter(
            "smpp_dispatcher_in_doubt", "Requests written whose answer never came",
            ["account"], registry=r)
        self.late_responses = Counter(
            "smpp_dispatcher_late_responses", "Responses that matched no waiting request",
            ["account"], registry=r)
        self.receipts = FastCounter(
            "smpp_dispatcher_receipts", "Delivery receipts by final state",
            ["account", "state"], registry=r)
        self.receipts_unmatched = Gauge(
            "smpp_dispatcher_receipts_unmatched", "Receipts waiting for their message id",
            registry=r)
        self.receipts_dropped = Counter(
            "smpp_dispatcher_receipts_dropped",
            "Unmatched receipts dropped after their time to live", registry=r)
        self.incoming = FastCounter(
            "smpp_dispatcher_incoming_messages", "Incoming (MO) messages stored",
            ["account"], registry=r)
        self.outbox_rows = Gauge(
            "smpp_dispatcher_outbox_rows", "Outbox rows by status and route (periodic query)",
            ["status", "route"], registry=r)
        self.db_write_seconds = FastHistogram(
            "smpp_dispatcher_db_write_seconds", "Batched database writes",
            ["operation"], buckets=_DB_BUCKETS, registry=r)
        self.messages = FastCounter(
            "smpp_dispatcher_messages", "Messages that reached a status, by route and provider",
            ["route", "provider", "status"], registry=r)
        self.fallback_requests = Counter(
            "smpp_dispatcher_fallback_requests", "Fallback provider requests by result",
            ["provider", "result"], registry=r)
        self.callbacks = Counter(
            "smpp_dispatcher_callbacks",
            "Provider callback records by kind and result (new, duplicate, unknown_id), and "
            "refused callback requests (refused)", ["kind", "result"], registry=r)
        self.provider_balance = Gauge(
            "smpp_dispatcher_provider_balance",
            "Account balance at each provider, in the provider's currency", ["provider"],
            registry=r)


class EngineMetrics(EngineObserver):
    """Counts what the SMPP engine reports."""

    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics
        # per-response series, looked up once (labels() needs str(slot) and status_name()):
        # (account, slot, status) -> its submits counter and its account's latency histogram
        self._submits: dict[tuple[str, int, int], tuple[CounterChild, HistogramChild]] = {}
        # (account, slot) -> its window gauge: set on every write a session makes
        self._occupancy: dict[tuple[str, int], Any] = {}  # prometheus_client's gauge child

    def session_state(self, info: SessionInfo, state: SessionState) -> None:
        self.m.session_up.labels(info.account, str(info.slot), f"{info.host}:{info.port}",
                                 info.mode.value).set(1 if state is SessionState.BOUND else 0)

    def bind_failed(self, info: SessionInfo, command_status: int | None, reason: str) -> None:
        status = "connect" if command_status is None else status_name(command_status)
        self.m.bind_failures.labels(info.account, f"{info.host}:{info.port}", status).inc()

    def reconnect_wait(self, info: SessionInfo, seconds: float, after_failure: bool) -> None:
        self.m.reconnects.labels(info.account, "failure" if after_failure else "drop").inc()

    def submit_response(self, info: SessionInfo, command_status: int, latency: float) -> None:
        key = (info.account, info.slot, command_status)
        series = self._submits.get(key)
        if series is None:
            series = self._submits[key] = (
                self.m.submits.labels(info.account, str(info.slot), status_name(command_status)),
                self.m.submit_latency.labels(info.account),
            )
        submits, histogram = series
        submits.inc()
        histogram.observe(latency)

    def window_occupancy(self, info: SessionInfo, in_flight: int, window: int) -> None:
        key = (info.account, info.slot)
        gauge = self._occupancy.get(key)
        if gauge is None:
            gauge = self._occupancy[key] = self.m.window_occupancy.labels(
                info.account, str(info.slot))
        gauge.set(in_flight)

    def throttle_pause(self, info: SessionInfo, seconds: float) -> None:
        self.m.throttle_pauses.labels(info.account).inc()

    def queue_full_retry(self, key: Hashable, occurrence: int, delay: float) -> None:
        self.m.queue_full_retries.inc()

    def transient_retry(self, key: Hashable, command_status: int, delay: float) -> None:
        self.m.transient_retries.labels(status_name(command_status)).inc()

    def in_doubt(self, info: SessionInfo, reason: str) -> None:
        self.m.in_doubt.labels(info.account).inc()

    def late_response(self, info: SessionInfo, command_id: int, sequence_number: int) -> None:
        self.m.late_responses.labels(info.account).inc()
