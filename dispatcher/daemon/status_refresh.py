"""Outcomes the providers did not push: query_sm for SMPP parts whose receipt is late, and
status calls for messages an HTTP provider took (those APIs are polled)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import structlog

from dispatcher.clock import Clock
from dispatcher.config import Config
from dispatcher.daemon.smpp_sender import SmppRoute
from dispatcher.fallback.base import FallbackSender
from dispatcher.outbox.receipt_states import status_for_state
from dispatcher.outbox.records import PartOutcome
from dispatcher.outbox.store import OutboxStore
from dispatcher.smpp.errors import QueryFailed
from dispatcher.smpp.pool import SmppPool
from pdu.receipt import STAT_BY_MESSAGE_STATE

log = structlog.get_logger()

# Overdue parts queried per round at the least (more when `daemon.query_rate` allows).
OVERDUE_BATCH = 100
# Messages sent through an HTTP provider are polled for their status after this long, and
# again after the same time while they stay in progress.
FALLBACK_POLL_SECONDS = 30.0
FALLBACK_POLL_BATCH = 1000


class StatusRefresh:
    def __init__(
        self,
        *,
        store: OutboxStore,
        pools: Mapping[str, SmppPool],
        senders: Mapping[str, FallbackSender],
        config: Callable[[], Config],  # the running configuration (it changes on reload)
        routes: Callable[[], Mapping[str, SmppRoute]],
        clock: Clock,
        round_seconds: float,
    ) -> None:
        self._store = store
        self._pools = pools
        self._senders = senders
        self._config = config
        self._routes = routes
        self._clock = clock
        self._round_seconds = round_seconds

    async def query_overdue(self) -> None:
        """query_sm for parts whose receipt is late (seed L2974-2975: query_sm is supported;
        the rate is ours to set)."""
        daemon = self._config().daemon
        if daemon.query_rate <= 0:
            return
        accounts = [name for name, pool in self._pools.items() if pool.bound_sessions]
        if not accounts:
            return
        # PostgreSQL keeps real time: durations for it go through the clock
        age = self._clock.real_seconds(daemon.query_after)
        overdue = await self._store.take_overdue(
            older_than_seconds=age, requery_seconds=age,
            limit=self._overdue_batch(daemon.query_rate, len(accounts)), accounts=accounts)
        routes = self._routes()
        outcomes = []
        for part in overdue:
            route = routes.get(part.route)
            source = part.source or (route.source if route else None) or ""
            try:
                answer = await self._pools[part.account].query(part.raw_message_id, source)
            except (QueryFailed, KeyError) as exc:
                log.info("query_sm_failed", outbox_id=part.outbox_id, reason=str(exc))
                continue
            state = STAT_BY_MESSAGE_STATE.get(answer.message_state)
            outcomes.append(PartOutcome(
                outbox_id=part.outbox_id, part_index=part.part_index,
                status=status_for_state(state), at=datetime.now(UTC), state=state,
                error_code=str(answer.error_code) if answer.error_code else None,
                text="query_sm"))
        await self._store.record_part_outcomes(outcomes)

    def _overdue_batch(self, query_rate: float, accounts: int) -> int:
        """Parts to query per round: what `query_rate` allows until the next round, so a
        high configured rate is used (receipts lost in a crash come back that fast), and at
        least OVERDUE_BATCH."""
        return max(OVERDUE_BATCH, math.ceil(query_rate * self._round_seconds * accounts))

    async def poll_fallback(self) -> None:
        """Status of messages an HTTP provider took."""
        if not self._senders:
            return
        age = self._clock.real_seconds(FALLBACK_POLL_SECONDS)
        overdue = await self._store.take_overdue(
            older_than_seconds=age, requery_seconds=age,
            limit=FALLBACK_POLL_BATCH, accounts=sorted(self._senders))
        by_provider: dict[str, dict[str, tuple[int, int]]] = {}
        for part in overdue:
            by_provider.setdefault(part.account, {})[part.raw_message_id] = (
                part.outbox_id, part.part_index)
        outcomes = []
        for provider, parts in by_provider.items():
            try:
                reports = await self._senders[provider].query_status(sorted(parts))
            except Exception as problem:
                log.warning("fallback_status_failed", provider=provider, error=str(problem))
                continue
            for report in reports:
                where = parts.get(report.provider_id)
                if where is None or not report.is_final:
                    continue
                outcomes.append(PartOutcome(
                    outbox_id=where[0], part_index=where[1], status=report.status,
                    at=datetime.now(UTC), state=report.code, error_code=report.code,
                    text=report.text))
        await self._store.record_part_outcomes(outcomes)
