"""FastCounter and FastHistogram expose, byte for byte, what prometheus_client's own Counter and
Histogram expose after the same updates: HELP, TYPE, label order, bucket edges, +Inf, _count,
_sum and _created."""

from __future__ import annotations

import math
from collections.abc import Callable
from types import SimpleNamespace

import prometheus_client.metrics
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from dispatcher import fast_metrics
from dispatcher.fast_metrics import FastCounter, FastHistogram

CREATED = 1_700_000_000.25  # the one creation time both sides see
CREATED_TEXT = "1.70000000025e+09"  # as the text format writes it
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# On a bound (each `le` holds its own bound), between bounds, below the first, past the last,
# zero, negative, infinite and NaN.
OBSERVED = (0.001, 0.0025, 0.025, 30.0, 0.0011, 0.3, 0.0001, 31.0, 1e9, 0.0, -0.5,
            math.inf, math.nan, 0.02, 0.02, 2.5)


@pytest.fixture(autouse=True)
def fixed_created_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """prometheus_client stamps a child's `_created` with time.time() when labels() makes it."""
    monkeypatch.setattr(prometheus_client.metrics, "time", SimpleNamespace(time=lambda: CREATED))


def fixed_clock() -> float:
    return CREATED


def both_counters(
    labelnames: tuple[str, ...] = ("account", "session", "status"),
) -> tuple[CollectorRegistry, Counter, CollectorRegistry, FastCounter]:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    counter = Counter("smpp_dispatcher_submits", "submit_sm responses by command_status",
                      labelnames, registry=theirs)
    fast = FastCounter("smpp_dispatcher_submits", "submit_sm responses by command_status",
                       labelnames, registry=ours, clock=fixed_clock)
    return theirs, counter, ours, fast


def both_histograms() -> tuple[CollectorRegistry, Histogram, CollectorRegistry, FastHistogram]:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    histogram = Histogram("smpp_dispatcher_submit_latency_seconds", "submit_sm to submit_sm_resp",
                          ["account"], buckets=BUCKETS, registry=theirs)
    fast = FastHistogram("smpp_dispatcher_submit_latency_seconds", "submit_sm to submit_sm_resp",
                         ["account"], buckets=BUCKETS, registry=ours, clock=fixed_clock)
    return theirs, histogram, ours, fast


def same_exposition(theirs: CollectorRegistry, ours: CollectorRegistry) -> str:
    expected = generate_latest(theirs).decode()
    assert generate_latest(ours).decode() == expected
    return expected


def test_a_counter_without_series_exposes_only_help_and_type() -> None:
    theirs, _, ours, _ = both_counters()
    assert same_exposition(theirs, ours) == (
        "# HELP smpp_dispatcher_submits_total submit_sm responses by command_status\n"
        "# TYPE smpp_dispatcher_submits_total counter\n")


def test_counter_series_match_prometheus_client() -> None:
    theirs, counter, ours, fast = both_counters()
    updates: list[tuple[tuple[str, ...], float]] = [
        (("ads", "0", "ESME_ROK"), 1), (("ads", "1", "ESME_ROK"), 1),
        (("ads", "0", "ESME_RTHROTTLED"), 1), (("ads", "0", "ESME_ROK"), 1),
        (("bank", "0", "ESME_ROK"), 2.5), (("bank", "0", "ESME_ROK"), 0),
        (("ads", "0", "ESME_ROK"), 1e-9),
    ]
    for labels, amount in updates:
        counter.labels(*labels).inc(amount)
        fast.labels(*labels).inc(amount)
    counter.labels("idle", "0", "ESME_ROK")  # a series made and never incremented
    fast.labels("idle", "0", "ESME_ROK")
    text = same_exposition(theirs, ours)
    assert 'smpp_dispatcher_submits_total{account="ads",session="0",status="ESME_ROK"} 2.0' \
        in text
    assert f'smpp_dispatcher_submits_created{{account="idle",session="0",status="ESME_ROK"}} ' \
        f"{CREATED_TEXT}" in text


def test_many_counter_increments_add_up_like_prometheus_client() -> None:
    theirs, counter, ours, fast = both_counters(("route",))
    theirs_child, ours_child = counter.labels("smpp"), fast.labels("smpp")
    for _ in range(10_000):
        theirs_child.inc()
        ours_child.inc()
    theirs_child.inc(0.1)
    ours_child.inc(0.1)
    assert "10000.1" in same_exposition(theirs, ours)


def test_histogram_series_match_prometheus_client() -> None:
    theirs, histogram, ours, fast = both_histograms()
    for amount in OBSERVED:
        histogram.labels("ads").observe(amount)
        fast.labels("ads").observe(amount)
    for amount in (0.004, 0.005, 7.0):
        histogram.labels("bank").observe(amount)
        fast.labels("bank").observe(amount)
    histogram.labels("idle")
    fast.labels("idle")
    text = same_exposition(theirs, ours)
    ads = {line.split("} ")[0].split('le="')[1].rstrip('"'): line.rsplit(" ", 1)[1]
           for line in text.splitlines() if 'account="ads",le=' in line}
    # on-bound values count in their own bucket; NaN is in no bucket, so not in _count either
    assert (ads["0.001"], ads["0.0025"], ads["0.025"], ads["30.0"], ads["+Inf"]) == \
        ("4.0", "6.0", "9.0", "12.0", "15.0")
    assert 'smpp_dispatcher_submit_latency_seconds_count{account="ads"} 15.0' in text
    assert 'smpp_dispatcher_submit_latency_seconds_sum{account="ads"} NaN' in text
    assert 'smpp_dispatcher_submit_latency_seconds_sum{account="bank"} 7.009' in text
    assert f'smpp_dispatcher_submit_latency_seconds_created{{account="idle"}} {CREATED_TEXT}' \
        in text


def test_histogram_sum_adds_in_the_same_order_as_prometheus_client() -> None:
    theirs, histogram, ours, fast = both_histograms()
    for i in range(5_000):
        amount = (i % 97) * 0.00037
        histogram.labels("ads").observe(amount)
        fast.labels("ads").observe(amount)
    same_exposition(theirs, ours)


def test_without_created_series_when_prometheus_client_has_them_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PROMETHEUS_DISABLE_CREATED_SERIES, read at import by both modules."""
    monkeypatch.setattr(prometheus_client.metrics, "_use_created", False)
    monkeypatch.setattr(fast_metrics, "_CREATED_SERIES", False)
    theirs_c, counter, ours_c, fast_counter = both_counters()
    counter.labels("ads", "0", "ESME_ROK").inc()
    fast_counter.labels("ads", "0", "ESME_ROK").inc()
    theirs_h, histogram, ours_h, fast_histogram = both_histograms()
    histogram.labels("ads").observe(0.02)
    fast_histogram.labels("ads").observe(0.02)
    assert "_created" not in same_exposition(theirs_c, ours_c)
    assert "_created" not in same_exposition(theirs_h, ours_h)


def test_a_scrape_sees_every_update_made_before_it() -> None:
    _, _, ours, fast = both_histograms()
    child = fast.labels("ads")
    for expected in range(1, 4):
        child.observe(0.01)
        assert f'_count{{account="ads"}} {float(expected)}' in generate_latest(ours).decode()


def test_a_name_registered_twice_is_refused_as_prometheus_client_refuses_it() -> None:
    registry = CollectorRegistry()
    FastCounter("smpp_dispatcher_receipts", "Delivery receipts", ["account"], registry=registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Counter("smpp_dispatcher_receipts", "Delivery receipts", ["account"], registry=registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        FastHistogram("smpp_dispatcher_receipts", "again", ["account"], buckets=BUCKETS,
                      registry=registry)


@pytest.mark.parametrize("make", [
    lambda: FastCounter("c", "h", ["a", "b"], registry=CollectorRegistry()).labels("x"),
    lambda: FastHistogram("h", "h", ["a"], buckets=BUCKETS, registry=CollectorRegistry())
    .labels("x", "y"),
    lambda: FastCounter("c", "h", ["a"], registry=CollectorRegistry()).labels("x").inc(-1),
    lambda: FastHistogram("h", "h", ["a"], buckets=(1.0, 0.5), registry=CollectorRegistry()),
    lambda: FastHistogram("h", "h", ["a"], buckets=(-1.0, 0.5), registry=CollectorRegistry()),
])
def test_misuse_raises_value_error(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        make()
