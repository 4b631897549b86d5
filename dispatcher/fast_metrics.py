"""Counters and histograms for the per-message path, scraped exactly like prometheus_client's.

prometheus_client's Counter.inc takes a lock, and Histogram.observe a lock and a bucket scan
in Python: about 1 and 2 µs per update, some 5 % of the daemon's CPU at 5,500 messages/s.
A child here is a plain float (or a list of bucket counts) that an update adds to; the
samples are built at scrape time, with the names, help, types, labels, values and `_created`
series that prometheus_client's own Counter and Histogram would expose for the same updates
(tests/ops/test_fast_metrics.py compares the two expositions).

There is no lock: the daemon updates its metrics and serves /metrics (generate_latest in the
aiohttp handler) on its event-loop thread only, so a scrape sees every update made before it.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

# prometheus_client's switch (read once at import there too), so every series of the daemon
# drops or keeps `_created` alike.
_CREATED_SERIES = os.environ.get(
    "PROMETHEUS_DISABLE_CREATED_SERIES", "False").lower() not in ("true", "1", "t")

Clock = Callable[[], float]


class CounterChild:
    """One labelled series of a FastCounter."""

    __slots__ = ("created", "value")

    def __init__(self, created: float) -> None:
        self.value = 0.0
        self.created = created

    def inc(self, amount: float = 1) -> None:
        if amount < 0:
            raise ValueError("Counters can only be incremented by non-negative amounts.")
        self.value += amount


class HistogramChild:
    """One labelled series of a FastHistogram: a count per bucket (not cumulative; the
    scrape adds them up) and the sum."""

    __slots__ = ("_bounds", "counts", "created", "sum")

    def __init__(self, bounds: tuple[float, ...], created: float) -> None:
        self._bounds = bounds
        self.counts = [0] * len(bounds)
        self.sum = 0.0
        self.created = created

    def observe(self, amount: float) -> None:
        self.sum += amount
        if amount == amount:  # NaN lands in no bucket, as in prometheus_client
            # the first bound >= amount: its bucket is the first whose `le` holds amount
            self.counts[bisect_left(self._bounds, amount)] += 1


class FastCounter:
    """A labelled counter registered in `registry`; `labels(...)` gives the series to
    inc(), as prometheus_client's Counter does. `name` is without `_total`."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str],
                 registry: CollectorRegistry, clock: Clock = time.time) -> None:
        self._name = name
        self._documentation = documentation
        self._labelnames = tuple(labelnames)
        self._clock = clock
        self._children: dict[tuple[str, ...], CounterChild] = {}
        registry.register(self)

    def labels(self, *values: str) -> CounterChild:
        child = self._children.get(values)
        if child is None:
            _check_label_count(self._labelnames, values)
            child = self._children[values] = CounterChild(self._clock())
        return child

    def describe(self) -> list[Metric]:
        return [CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)]

    def collect(self) -> list[Metric]:
        family = CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)
        for values, child in self._children.items():
            family.add_metric(values, child.value,
                              created=child.created if _CREATED_SERIES else None)
        return [family]


class FastHistogram:
    """A labelled histogram registered in `registry`; `labels(...)` gives the series to
    observe(), as prometheus_client's Histogram does. `buckets` are the finite upper bounds,
    ascending and not negative; +Inf is added."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str],
                 buckets: Sequence[float], registry: CollectorRegistry,
                 clock: Clock = time.time) -> None:
        if list(buckets) != sorted(buckets) or not buckets or buckets[0] < 0:
            # prometheus_client leaves `_sum` out when a bound is negative; ours never are
            raise ValueError(f"{name}: buckets must be ascending and not negative")
        self._name = name
        self._documentation = documentation
        self._labelnames = tuple(labelnames)
        self._bounds = (*buckets, float("inf"))
        # prometheus_client's own `le` text ("0.001", "30.0", "+Inf"); the function is untyped
        self._les = [floatToGoString(bound) for bound in self._bounds]  # type: ignore[no-untyped-call]
        self._clock = clock
        self._children: dict[tuple[str, ...], HistogramChild] = {}
        registry.register(self)

    def labels(self, *values: str) -> HistogramChild:
        child = self._children.get(values)
        if child is None:
            _check_label_count(self._labelnames, values)
            child = self._children[values] = HistogramChild(self._bounds, self._clock())
        return child

    def describe(self) -> list[Metric]:
        return [HistogramMetricFamily(self._name, self._documentation, labels=self._labelnames)]

    def collect(self) -> list[Metric]:
        family = HistogramMetricFamily(self._name, self._documentation, labels=self._labelnames)
        for values, child in self._children.items():
            cumulative: list[tuple[str, float]] = []
            total = 0.0
            for le, count in zip(self._les, child.counts, strict=True):
                total += count
                cumulative.append((le, total))
            family.add_metric(values, cumulative, child.sum)
            if _CREATED_SERIES:  # HistogramMetricFamily.add_metric has no `created`
                family.add_sample(self._name + "_created",
                                  dict(zip(self._labelnames, values, strict=True)),
                                  child.created)
        return [family]


def _check_label_count(labelnames: tuple[str, ...], values: tuple[str, ...]) -> None:
    if len(values) != len(labelnames):
        raise ValueError(f"expected labels {labelnames}, got values {values}")
