"""Incoming SMS pulled from the Devino REST/SOAP providers named in `[incoming] poll`.

Each provider gets an `IncomingPoller` (overlapping windows, each message returned once) run
every `incoming.poll_interval`; what it returns goes to `dispatcher_incoming` under the
message's dedupe key, so an overlap or a restart stores nothing twice. A provider that fails
is logged and asked again at the next turn, from the same window start.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from dispatcher.clock import Clock
from dispatcher.daemon.callbacks import incoming_record
from dispatcher.fallback.devino_incoming import IncomingPoller, IncomingSource
from dispatcher.metrics import Metrics
from dispatcher.outbox.store import OutboxStore

log = structlog.get_logger(__name__)


class IncomingPulls:
    def __init__(
        self,
        sources: Sequence[IncomingSource],
        *,
        store: OutboxStore,
        metrics: Metrics,
        clock: Clock,
    ) -> None:
        self._pollers = [(source.name, IncomingPoller(source, clock=clock))
                         for source in sources]
        self._store = store
        self._metrics = metrics

    def __bool__(self) -> bool:
        return bool(self._pollers)

    async def poll(self) -> None:
        """One pull of every provider; returns when each has been asked and stored."""
        for name, poller in self._pollers:
            try:
                messages = await poller.poll()
            except Exception as problem:
                log.warning("incoming_pull_failed", provider=name, error=str(problem))
                continue
            if not messages:
                continue
            new = await self._store.store_incoming(
                [incoming_record(message, name) for message in messages])
            self._metrics.incoming.labels(name).inc(len(new))
            log.info("incoming_pulled", provider=name, messages=len(messages), new=len(new))
