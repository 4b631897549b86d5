"""The daemon: one object that starts everything, runs the claim loop, and stops cleanly.

    rows --claim--> validate --mark_written--> SmppSender --pool--> SMSC
                       |                                   |
                   rejected                   outcomes, receipts, MO --BatchWriter--> store

Start-up: open the store (refusing an unmigrated or newer schema), recover this daemon's
rows from a previous run, start the pools, listen for INSERTs. Stop (SIGTERM): stop claiming,
let in-flight messages finish for `daemon.drain_timeout`, close the pools (unbind), write the
last results, hand anything unsettled back to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

import structlog

from dispatcher.clock import Clock, SystemClock
from dispatcher.config import SMS_PROVIDER_TYPES, Config
from dispatcher.daemon.account_settings import account_settings
from dispatcher.daemon.batch_writer import BatchWriter
from dispatcher.daemon.beyond_sms import BeyondSms
from dispatcher.daemon.fallback_sender import FallbackDispatcher, FallbackRoute
from dispatcher.daemon.inbound import InboundHandler
from dispatcher.daemon.providers import build_sender
from dispatcher.daemon.reload_plan import plan_reload
from dispatcher.daemon.results import ResultSinks, split_correlation
from dispatcher.daemon.slot_locks import SharedSlotGuard
from dispatcher.daemon.smpp_sender import SmppRoute, SmppSender
from dispatcher.daemon.status_refresh import StatusRefresh
from dispatcher.daemon.viber_sender import VIBER_CHANNELS
from dispatcher.http_server import build_app, start_http_server
from dispatcher.metrics import EngineMetrics, Metrics
from dispatcher.outbox.notify import OutboxWaiter
from dispatcher.outbox.records import (
    ClaimedMessage,
    CorrelationRecord,
    FinalResult,
    IncomingMessage,
    InDoubtPolicy,
    Release,
)
from dispatcher.outbox.store import OutboxStore
from dispatcher.outbox.validation import InvalidMessage, ValidatedMessage, validate_message
from dispatcher.sd_notify import SystemdNotifier
from dispatcher.smpp.errors import PoolClosed
from dispatcher.smpp.outcome import SubmitOutcome
from dispatcher.smpp.pool import SmppPool
from dispatcher.tasks import cancel_and_wait

log = structlog.get_logger()

MAINTENANCE_INTERVAL_SECONDS = 5.0
STATS_INTERVAL_SECONDS = 15.0
PENDING_SWEEP_INTERVAL_SECONDS = 30.0
# While there is no room to send, the claimer looks again after this long.
NO_ROOM_WAIT_SECONDS = 0.05
# Claim batches a pool may hold unsent (see `Daemon._room`).
UNSENT_BACKLOG_BATCHES = 2


class Daemon:
    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        notifier: SystemdNotifier | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.notifier = notifier or SystemdNotifier()
        self.metrics = metrics or Metrics()
        self.daemon_id = config.daemon.id
        self.store: OutboxStore | None = None
        self.pools: dict[str, SmppPool] = {}
        self._senders: dict[str, SmppSender] = {}
        self._routes: dict[str, SmppRoute] = {}
        self._fallback_routes: dict[str, FallbackRoute] = {}
        self.fallback: FallbackDispatcher | None = None
        self.extras: BeyondSms | None = None  # Viber, callbacks, incoming pulls, balances
        self._in_flight: set[int] = set()
        self._drained = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._waiter: OutboxWaiter | None = None
        self._locks: SharedSlotGuard | None = None
        self._http_runner: object | None = None
        self.http_port: int | None = None
        self.ready = False

    # -- life cycle ------------------------------------------------------------------------

    async def run(self) -> None:
        """Start, serve until `stop()` (SIGTERM), then drain and close."""
        await self.start()
        try:
            await self._stop.wait()
        finally:
            await self.shutdown()

    def stop(self) -> None:
        self._stop.set()

    async def start(self) -> None:
        config = self.config
        dsn = config.database.dsn.get_secret_value()
        self.store = store = await OutboxStore.open(
            dsn,
            clock=self.clock,
            min_connections=config.database.min_connections,
            max_connections=config.database.max_connections,
        )
        report = await store.recover(self._in_doubt_policy(), own_daemon_id=self.daemon_id)
        log.info("recovered", daemon=self.daemon_id, requeued=report.requeued,
                 requeued_in_doubt=report.requeued_in_doubt, unknown=report.marked_unknown,
                 failed=report.failed)
        self._start_writers(store)
        self._locks = guard = SharedSlotGuard(dsn, self.clock, self._drop_session)
        inbound = InboundHandler(
            receipt_id_modes={
                name: account.receipt_id_format or account.message_id_format
                for name, account in config.smpp.accounts.items()
            },
            receipts=self.results,
            incoming=self.incoming,
            metrics=self.metrics,
            clock=self.clock,
        )
        observer = EngineMetrics(self.metrics)
        self._sinks = sinks = ResultSinks(self.results, self.final, self.released,
                                          self.metrics)
        self.fallback = fallback = FallbackDispatcher(
            {name: build_sender(name, provider, self.clock)
             for name, provider in config.providers.items()
             if provider.type in SMS_PROVIDER_TYPES},
            sinks, self.metrics, self.clock, self._settled,
        )
        fallback.start()
        self.extras = BeyondSms(config, store=store, sms_senders=fallback.senders,
                                sinks=sinks, metrics=self.metrics, clock=self.clock,
                                on_settled=self._settled)
        for name, account in config.smpp.accounts.items():
            pool = SmppPool(
                account_settings(name, account, query_rate=config.daemon.query_rate),
                clock=self.clock, on_inbound=inbound, read_inbound_frame=inbound.read_frame,
                observer=observer, slot_guard=guard,
            )
            self.pools[name] = pool
            self._senders[name] = SmppSender(pool, sinks, self._settled,
                                             divert=self._divert)
        self._build_routes(config)
        for pool in self.pools.values():
            await pool.start()
        if config.metrics.enabled:
            runner = await start_http_server(
                build_app(self.metrics, self._readiness, self.extras.shared_routes),
                config.metrics.listen,
            )
            self._http_runner = runner
            self.http_port = int(runner.addresses[0][1]) if runner.addresses else None
        await self.extras.start(self._every)
        self._refresh = StatusRefresh(
            store=store, pools=self.pools, senders=fallback.senders,
            config=lambda: self.config, routes=lambda: self._routes, clock=self.clock,
            round_seconds=MAINTENANCE_INTERVAL_SECONDS)
        self._waiter = OutboxWaiter(dsn, clock=self.clock, poll_seconds=config.daemon.poll_interval)
        await self._waiter.start()
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="claim"),
            asyncio.create_task(self._every(config.daemon.lease_seconds / 3, self._renew),
                                name="renew"),
            asyncio.create_task(self._every(MAINTENANCE_INTERVAL_SECONDS, self._maintain),
                                name="maintain"),
            asyncio.create_task(self._every(STATS_INTERVAL_SECONDS, self._refresh_stats),
                                name="stats"),
            asyncio.create_task(self._every(PENDING_SWEEP_INTERVAL_SECONDS, self._sweep),
                                name="sweep"),
            asyncio.create_task(self._every(MAINTENANCE_INTERVAL_SECONDS,
                                            self._refresh.query_overdue),
                                name="overdue"),
            asyncio.create_task(self._every(MAINTENANCE_INTERVAL_SECONDS,
                                            self._refresh.poll_fallback),
                                name="fallback-status"),
        ]
        if self.notifier.watchdog_interval:
            self._tasks.append(asyncio.create_task(
                self._every(self.notifier.watchdog_interval, self._watchdog, real_time=True),
                name="watchdog"))
        await self._wait_first_binds()
        self.ready = True
        self.notifier.ready(self._status_line())
        log.info("started", daemon=self.daemon_id, accounts=sorted(self.pools),
                 routes=sorted(config.routes))

    async def _wait_first_binds(self) -> None:
        """READY=1 goes out once every account has a bound session, or has had the time to
        try each of its hosts once (it keeps trying afterwards, under the reconnect rules)."""
        limit = max((a.bind_timeout * len(a.hosts) for a in self.config.smpp.accounts.values()),
                    default=0.0)
        deadline = self.clock.monotonic() + limit
        while (any(not pool.sessions and not pool.all_attempted for pool in self.pools.values())
               and self.clock.monotonic() < deadline):
            await self.clock.sleep(0.1)

    async def shutdown(self) -> None:
        self.notifier.stopping("draining")
        log.info("stopping", daemon=self.daemon_id, in_flight=len(self._in_flight))
        claim = self._tasks[0] if self._tasks else None
        if claim is not None:
            await cancel_and_wait(claim)
        if self._in_flight:
            with contextlib.suppress(TimeoutError):
                await self.clock.wait_for(self._drained.wait(), self.config.daemon.drain_timeout)
        # every account unbinds at the same time: stopping takes one drain, not one per account
        await asyncio.gather(*(pool.close(self.config.daemon.drain_timeout)
                               for pool in self.pools.values()))
        if self.fallback is not None:
            await self.fallback.close()
        if self.extras is not None:
            await self.extras.close()
        for task in self._tasks[1:]:
            await cancel_and_wait(task)
        for writer in self._writers:
            await writer.close()
        if self._in_flight and self.store is not None:
            # Nothing may stay `sending` for its lease: what never settled goes back now.
            await self.store.release(self.daemon_id, [
                Release(outbox_id, error_text="not sent: the daemon stopped")
                for outbox_id in sorted(self._in_flight)
            ])
        if self.store is not None:
            # Stopping the claim loop can cancel a claim (or the steps before the rows reach
            # a sender) after the database made the rows ours: nothing above knows them, so
            # they go back the way a restart would put them back, not after the lease.
            await self.store.recover(self._in_doubt_policy(), own_daemon_id=self.daemon_id)
        if self._waiter is not None:
            await self._waiter.close()
        if self._locks is not None:
            await self._locks.close()
        if self._http_runner is not None:
            await self._http_runner.cleanup()  # type: ignore[attr-defined]
        if self.store is not None:
            await self.store.close()
        self.notifier.close()
        log.info("stopped", daemon=self.daemon_id)

    def _build_routes(self, config: Config) -> None:
        routes: dict[str, SmppRoute] = {}
        fallback_routes: dict[str, FallbackRoute] = {}
        for name, route in config.routes.items():
            in_doubt_resend = (route.in_doubt or config.daemon.in_doubt) == "resend"
            if route.fallback:
                fallback_routes[name] = FallbackRoute(
                    name=name, providers=tuple(route.fallback), source=route.source,
                    validity=route.validity, in_doubt_resend=in_doubt_resend)
            if route.smpp is None:
                continue
            account = config.smpp.accounts[route.smpp]
            routes[name] = SmppRoute(
                name=name,
                account=route.smpp,
                source=route.source,
                validity=route.validity,
                in_doubt_resend=in_doubt_resend,
                split=account.split,
                coding=account.coding,
                message_id_mode=account.message_id_format,
            )
        self._routes, self._fallback_routes = routes, fallback_routes
        if self.extras is not None:
            self.extras.viber.build_routes(config)

    def reload(self, new: Config) -> tuple[list[str], list[str]]:
        """Apply what can change without dropping a bind (SIGHUP; see `plan_reload`). Returns
        (what was applied, what needs a restart); the parts that need a restart keep their
        running values."""
        plan = plan_reload(self.config, new)
        for account, rate_limit in plan.rate_limits.items():
            self.pools[account].set_rate_limit(rate_limit)
        if plan.routes_changed:
            self._build_routes(plan.config)
        self.config = plan.config
        if self._waiter is not None:
            self._waiter.poll_seconds = plan.config.daemon.poll_interval
        return plan.applied, plan.restart

    # -- the claim loop --------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        assert self.store is not None and self._waiter is not None
        config = self.config.daemon
        while True:
            room = self._room()
            if room <= 0:
                await self.clock.sleep(NO_ROOM_WAIT_SECONDS)
                continue
            routes = self._claimable_routes()
            if routes == []:
                await self.clock.sleep(NO_ROOM_WAIT_SECONDS)
                continue
            rows = await self.store.claim(self.daemon_id, min(config.claim_batch, room),
                                          self._db_seconds(config.lease_seconds), routes,
                                          written=self._resend_in_doubt_everywhere())
            if not rows:
                await self._waiter.wait()
                continue
            await self._dispatch(rows)

    def _claimable_routes(self) -> list[str] | None:
        """The routes whose rows can go out now; None when that is every route.

        A route with a fallback whose SMPP account has lost its sessions, but for less than
        `failover_after`, waits: its rows stay queued (not parked in the pool), so they take
        the fallback once the route fails over, or SMPP once a session binds again.
        """
        self._withdraw_from_failed_over_accounts()
        waiting = {
            name for name, smpp_route in self._routes.items()
            if name in self._fallback_routes
            and not self.pools[smpp_route.account].bound_sessions
            and not self._failed_over(smpp_route.account, name)
        }
        if not waiting:
            return None
        return sorted(set(self.config.routes) - waiting)

    def _withdraw_from_failed_over_accounts(self) -> None:
        """Messages parked in a pool whose account failed over come back out, so the
        fallback takes them instead of them waiting for the SMSC."""
        for name, smpp_route in self._routes.items():
            pool = self.pools[smpp_route.account]
            if (name in self._fallback_routes and pool.queued and not pool.bound_sessions
                    and self._failed_over(smpp_route.account, name)):
                withdrawn = pool.withdraw_unsent(
                    f"account {smpp_route.account!r} failed over to the fallback")
                if withdrawn:
                    log.info("withdrawn_for_failover", account=smpp_route.account,
                             messages=withdrawn)

    def _room(self) -> int:
        """How many more messages the pools can take (the fallback queues are unbounded:
        a provider batch takes thousands).

        A row is marked written when it is handed to a pool, so after a crash every row a
        pool held unsent is in doubt too: resent, or `unknown` under that policy, though it
        never left. The claimer therefore keeps each pool's unsent backlog within
        `UNSENT_BACKLOG_BATCHES` claim batches (enough to keep the windows full while the
        next claim runs) instead of filling `max_queue`."""
        batch = self.config.daemon.claim_batch
        if not self.pools:
            return batch
        backlog = UNSENT_BACKLOG_BATCHES * batch
        return sum(min(pool.settings.max_queue - pool.held, backlog - pool.queued)
                   for pool in self.pools.values())

    async def _dispatch(self, rows: Sequence[ClaimedMessage]) -> None:
        assert self.store is not None
        sendable: list[ValidatedMessage] = []
        routes, smpp_routes = self.config.routes, self._routes
        for row in rows:
            route = routes.get(row.route)
            if route is None:
                self.final.add(FinalResult.rejected(
                    row.id, f"route {row.route!r} is not configured "
                    f"(have: {', '.join(sorted(self.config.routes))})"))
                continue
            if row.channel in VIBER_CHANNELS:
                assert self.extras is not None
                try:
                    sendable.append(self.extras.viber.check(row, route))
                except InvalidMessage as problem:
                    self.final.add(FinalResult.rejected(row.id, str(problem)))
                continue
            if row.channel != "sms":
                self.final.add(FinalResult.rejected(
                    row.id, f"channel {row.channel!r} is not served (this daemon sends "
                    f"'sms', {', '.join(repr(c) for c in VIBER_CHANNELS)})"))
                continue
            smpp_route = smpp_routes.get(row.route)
            try:
                message = validate_message(
                    row, max_parts=route.max_parts,
                    split_method=smpp_route.split if smpp_route else "udh")
            except InvalidMessage as problem:
                self.final.add(FinalResult.rejected(row.id, str(problem)))
                continue
            sendable.append(message)
        assert self.extras is not None
        sendable, dead = await self.extras.without_dead_numbers(sendable)
        for result in dead:
            self.final.add(result)
        if not sendable:
            return
        # The in-doubt marker goes down before any byte of these messages goes out (under
        # "resend" everywhere the claim itself set it: a crash then requeues the rows either
        # way, and the round trip is saved).
        if not self._resend_in_doubt_everywhere():
            await self.store.mark_written(self.daemon_id, [m.id for m in sendable])
        # all in flight before the first is routed, so one settling at once cannot mark the
        # daemon drained while the others still go
        self._in_flight.update([m.id for m in sendable])
        self._drained.clear()
        for message in sendable:
            self._route_message(message)

    def _route_message(self, message: ValidatedMessage) -> None:
        """SMPP while the route's account is bound (or lost its binds less than
        `failover_after` ago), else the route's fallback providers."""
        smpp_route = self._routes.get(message.route)
        if message.channel in VIBER_CHANNELS:
            assert self.extras is not None
            self.extras.viber.send(message)
            return
        fallback_route = self._fallback_routes.get(message.route)
        assert self.fallback is not None
        if fallback_route is not None and self.fallback.can_take(fallback_route) and (
            smpp_route is None or self._failed_over(smpp_route.account, message.route)
        ):
            self.fallback.send(message, fallback_route)
        elif smpp_route is not None:
            self._senders[smpp_route.account].send(message, smpp_route)
        else:
            self._sinks.release(message.id, "no fallback provider is available")
            self._settled(message.id)

    def _failed_over(self, account: str, route: str) -> bool:
        since = self.pools[account].unbound_since
        return since is not None and (
            self.clock.monotonic() - since >= self.config.routes[route].failover_after)

    def _divert(self, message: ValidatedMessage, route: str, outcome: SubmitOutcome) -> bool:
        """SMPP gave up on a message (queue full too often): its route's fallback takes it."""
        fallback_route = self._fallback_routes.get(route)
        assert self.fallback is not None
        if fallback_route is None or not self.fallback.can_take(fallback_route):
            return False
        log.info("diverted_to_fallback", outbox_id=message.id, route=route,
                 status=outcome.status_name)
        self.fallback.send(message, fallback_route)
        return True

    def _drop_session(self, account: str, slot: int) -> None:
        """This daemon lost the lock of a session slot: that session goes, so the provider's
        four sessions per account hold across daemons."""
        pool = self.pools.get(account)
        if pool is not None:
            pool.drop_session(slot, "the session's lock in PostgreSQL was lost")

    def _settled(self, outbox_id: int) -> None:
        self._in_flight.discard(outbox_id)
        if not self._in_flight:
            self._drained.set()

    # -- writers ---------------------------------------------------------------------------

    def _start_writers(self, store: OutboxStore) -> None:
        daemon_id = self.daemon_id

        async def release(batch: Sequence[Release]) -> None:
            await store.release(daemon_id, batch)

        async def record_results(batch: Sequence[CorrelationRecord]) -> None:
            await store.record_results(*split_correlation(batch))

        # Submissions and receipts through one writer: a receipt finds its part written
        # before it or beside it in the same transaction (where a message of one part
        # skips its `submitted` version).
        self.results: BatchWriter[CorrelationRecord] = BatchWriter(
            "record_results", record_results, metrics=self.metrics)
        self.final: BatchWriter[FinalResult] = BatchWriter(
            "finish", store.finish, metrics=self.metrics)
        self.released: BatchWriter[Release] = BatchWriter(
            "release", release, metrics=self.metrics)
        self.incoming: BatchWriter[IncomingMessage] = BatchWriter(
            "store_incoming", store.store_incoming, metrics=self.metrics)
        self._writers: list[BatchWriter[object]] = [
            self.results, self.final, self.released, self.incoming,  # type: ignore[list-item]
        ]
        for writer in self._writers:
            writer.start()

    # -- periodic work ---------------------------------------------------------------------

    async def _every(
        self, seconds: float, work: Callable[[], Awaitable[None]], *, real_time: bool = False
    ) -> None:
        while True:
            if real_time:
                await asyncio.sleep(seconds)
            else:
                await self.clock.sleep(seconds)
            try:
                await work()
            except (PoolClosed, asyncio.CancelledError):
                raise
            except Exception:
                log.exception("periodic_work_failed", work=getattr(work, "__name__", "?"))

    async def _renew(self) -> None:
        assert self.store is not None
        if self._in_flight:
            await self.store.renew(self.daemon_id,
                                   self._db_seconds(self.config.daemon.lease_seconds))

    async def _maintain(self) -> None:
        """Rows of vanished daemons come back; messages nobody answered become unknown."""
        assert self.store is not None
        config = self.config
        report = await self.store.recover(self._in_doubt_policy())
        if report.requeued or report.requeued_in_doubt or report.marked_unknown or report.failed:
            log.info("leases_expired", requeued=report.requeued,
                     requeued_in_doubt=report.requeued_in_doubt,
                     unknown=report.marked_unknown, failed=report.failed)
        expired = await self.store.expire_unanswered(
            margin_seconds=self._db_seconds(config.daemon.unknown_margin),
            default_validity_seconds=max(r.validity for r in config.routes.values()),
            route_validity_seconds={name: r.validity for name, r in config.routes.items()},
        )
        if expired:
            log.info("marked_unknown_after_validity", messages=len(expired))

    async def _sweep(self) -> None:
        assert self.store is not None
        await self.store.match_pending_receipts()
        dropped = await self.store.drop_stale_pending_receipts(
            self._db_seconds(self.config.daemon.unmatched_receipt_ttl))
        if dropped:
            self.metrics.receipts_dropped.inc(dropped)
            log.warning("unmatched_receipts_dropped", receipts=dropped)

    async def _refresh_stats(self) -> None:
        assert self.store is not None
        stats = await self.store.stats(recent_errors=0)
        self.metrics.outbox_rows.clear()
        for count in stats.counts:
            self.metrics.outbox_rows.labels(count.status.value, count.route).set(count.count)
        self.metrics.receipts_unmatched.set(stats.pending_receipts)
        self.notifier.status(self._status_line())

    async def _watchdog(self) -> None:
        self.notifier.watchdog()

    # -- what operators see ----------------------------------------------------------------

    def _resend_in_doubt_everywhere(self) -> bool:
        daemon_policy = self.config.daemon.in_doubt
        return all((route.in_doubt or daemon_policy) == "resend"
                   for route in self.config.routes.values())

    def _db_seconds(self, seconds: float) -> float:
        """A duration for PostgreSQL, which keeps real time (leases, ages): the same as
        `seconds` on the system clock, shorter under a test's scaled clock."""
        return self.clock.real_seconds(seconds)

    def _in_doubt_policy(self) -> InDoubtPolicy:
        return InDoubtPolicy(self.config.daemon.in_doubt)

    def _status_line(self) -> str:
        bound = sum(pool.bound_sessions for pool in self.pools.values())
        total = sum(len(pool.settings.bind_modes) for pool in self.pools.values())
        return f"sessions bound {bound}/{total}; in flight {len(self._in_flight)}"

    def _readiness(self) -> tuple[bool, str]:
        if not self.ready:
            return False, "starting"
        unbound = [name for name, pool in self.pools.items() if not pool.bound_sessions]
        if unbound:
            return False, f"no bound session for: {', '.join(sorted(unbound))}"
        return True, self._status_line()
