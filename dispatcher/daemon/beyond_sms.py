"""The daemon's parts beyond sending SMS, started and stopped together: Viber sending and
status polls (`viber_sender`), the provider callback receiver (`callbacks`), incoming-SMS
pulls (`incoming_poll`), the provider balance gauge, and the HLR check of routes with
`skip_dead_numbers`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any

import structlog
from aiohttp import web

from dispatcher.clock import Clock
from dispatcher.config import Config
from dispatcher.daemon.callbacks import CallbackReceiver, callback_access, callback_app
from dispatcher.daemon.incoming_poll import IncomingPulls
from dispatcher.daemon.results import ResultSinks
from dispatcher.daemon.viber_sender import ViberService
from dispatcher.fallback.account_readings import BalanceWatcher, Reading
from dispatcher.fallback.base import Balance, FallbackSender
from dispatcher.fallback.devino_incoming import IncomingSource
from dispatcher.http_server import bound_port, start_http_server
from dispatcher.metrics import Metrics
from dispatcher.outbox.records import FinalResult
from dispatcher.outbox.store import OutboxStore
from dispatcher.outbox.validation import ValidatedMessage
from dispatcher.tasks import cancel_and_wait

log = structlog.get_logger(__name__)

# How often the Viber status poll looks for messages due (each is asked every
# viber_sender.VIBER_POLL_SECONDS at most).
VIBER_POLL_CHECK_SECONDS = 5.0

Every = Callable[[float, Callable[[], Awaitable[None]]], Coroutine[Any, Any, None]]


class BeyondSms:
    def __init__(
        self,
        config: Config,
        *,
        store: OutboxStore,
        sms_senders: Mapping[str, FallbackSender],
        sinks: ResultSinks,
        metrics: Metrics,
        clock: Clock,
        on_settled: Callable[[int], None],
    ) -> None:
        self._config = config
        self._store = store
        self._metrics = metrics
        self.viber = ViberService(config, sms_senders, store=store, sinks=sinks,
                                  metrics=metrics, clock=clock, on_settled=on_settled)
        access = callback_access(config.callbacks)
        self.callbacks = None if access is None else CallbackReceiver(
            access, store, self.viber, metrics=metrics,
            webcom_accounts=config.providers_of(frozenset({"webcom"})))
        sources: list[IncomingSource] = [
            sms_senders[name] for name in config.incoming.poll]  # type: ignore[misc]
        self._pulls = IncomingPulls(sources, store=store, metrics=metrics, clock=clock)
        interval = config.daemon.balance_interval
        self._balances = BalanceWatcher(
            list(sms_senders.values()), self._balance_reading, clock=clock,
            interval_seconds=interval) if interval > 0 and sms_senders else None
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self.callback_port: int | None = None

    @property
    def shared_routes(self) -> list[web.RouteDef]:
        """The callback routes the metrics server carries (none when they have their own)."""
        if self.callbacks is None or self._config.callbacks.listen is not None:
            return []
        return self.callbacks.routes()

    async def start(self, every: Every) -> None:
        """`every(seconds, work)`: the daemon's periodic runner (logs and survives errors)."""
        self.viber.start()
        listen = self._config.callbacks.listen
        if self.callbacks is not None and listen is not None:
            self._runner = await start_http_server(callback_app(self.callbacks.routes()), listen)
            self.callback_port = bound_port(self._runner)
        if self.viber.channels:
            self._tasks.append(asyncio.create_task(
                every(VIBER_POLL_CHECK_SECONDS, self.viber.poll_status), name="viber-status"))
        if self._pulls:
            self._tasks.append(asyncio.create_task(
                every(self._config.incoming.poll_interval, self._pulls.poll),
                name="incoming-pull"))
        if self._balances is not None:
            self._tasks.append(asyncio.create_task(self._balances.run(), name="balances"))

    async def close(self) -> None:
        for task in self._tasks:
            await cancel_and_wait(task)
        await self.viber.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def without_dead_numbers(
        self, messages: Sequence[ValidatedMessage]
    ) -> tuple[list[ValidatedMessage], list[FinalResult]]:
        """The messages to send, and rejections for those whose route skips dead numbers and
        whose destination a recent HLR check found dead."""
        routes = self._config.routes
        skipping = {name for name, route in routes.items() if route.skip_dead_numbers}
        if not skipping:  # the usual configuration: nothing to look at per message
            return list(messages), []
        checked = [m for m in messages if m.route in skipping]
        if not checked:
            return list(messages), []
        dead = await self._store.dead_numbers([m.destination for m in checked],
                                              self._config.hlr.max_age)
        keep, rejected = [], []
        for message in messages:
            when = dead.get(message.destination) if message in checked else None
            if when is None:
                keep.append(message)
                continue
            rejected.append(FinalResult.rejected(
                message.id, f"destination {message.destination} does not exist: HLR check "
                f"of {when:%Y-%m-%d %H:%M} UTC (routes.{message.route}.skip_dead_numbers)"))
        return keep, rejected

    def _balance_reading(self, reading: Reading[Balance]) -> None:
        gauge = self._metrics.provider_balance
        if reading.value is not None:
            gauge.labels(reading.provider).set(reading.value.amount)
            return
        log.warning("provider_balance_unread", provider=reading.provider, error=reading.error)
        with contextlib.suppress(KeyError):  # a stale value would look current
            gauge.remove(reading.provider)
