"""The outbox store: the one object the daemon uses to talk to the outbox.

Designed for throughput: every method takes a batch and costs one round trip (one statement)
or one short transaction of a few statements, whatever the batch size. Never call it per PDU;
collect results for a few milliseconds and write them together.

Every method survives PostgreSQL restarting or the connection dropping: connection-class
errors (see `retry.is_retryable`) are retried with back-off on the injected Clock, for as long
as `RetryPolicy.give_up_after` allows (by default, forever: a result is never dropped because
the database was away). Each method is safe to run twice, which a retry after a lost commit
acknowledgement does. What a repeat costs, per method:
- claim: a claim whose acknowledgement was lost leaves its rows `sending` under this daemon's
  lease; they come back when the lease runs out (or at once through
  `recover(own_daemon_id=...)` at start-up), with nothing marked written (unless claimed with
  `written=True`), so they are simply claimed again.
- every other method: nothing (the second run finds the work done).

Call order for one message: claim -> validate (reject the bad ones with `finish`) ->
`mark_written` BEFORE writing the PDUs -> `record_results` (submissions and receipts, in the
order they came) / `finish` / `release` from the responses. Acknowledge a deliver_sm (receipt
or MO) only after `record_results` / `store_incoming` returned, so a crash makes the SMSC
deliver it again instead of losing it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

import asyncpg
import structlog

from dispatcher.clock import Clock, SystemClock
from dispatcher.outbox import (
    callbacks,
    claims,
    hlr,
    incoming,
    overdue,
    receipts,
    results,
    stats,
    viber,
)
from dispatcher.outbox.callbacks import CallbackRecord
from dispatcher.outbox.hlr import HlrRecord
from dispatcher.outbox.migrate import check_schema
from dispatcher.outbox.records import (
    ClaimedMessage,
    FinalResult,
    IncomingMessage,
    InDoubtPolicy,
    OutboxStats,
    OverduePart,
    PartOutcome,
    ReceiptRecord,
    ReceiptReport,
    RecoveryReport,
    Release,
    Submission,
)
from dispatcher.outbox.retry import RetryPolicy, is_retryable, with_retry
from dispatcher.outbox.viber import LegRecord, PartRef

T = TypeVar("T")
log = structlog.get_logger(__name__)
APPLICATION_NAME = "smpp-dispatcher"
# a statement that has not answered in this long is treated like a lost connection (retried);
# it guards against a peer that vanished without closing the socket
DEFAULT_COMMAND_TIMEOUT_SECONDS = 30.0
# - JIT compilation of the batch statements costs more than it saves at these sizes;
# - the best plan of a batch statement depends on the batch and the table sizes: a cached
#   generic plan made when a table was small keeps scanning it whole once it has grown;
# - the rows a batch touches are found through their keys in memory: at the default
#   random_page_cost (4, a spinning disk's seek) a queue of 20,000 rows was planned as a
#   sequential scan per batch, so every batch of a run cost more than the one before
#   (benchmarks/RESULTS.md, Daemon); at 1.1 the batch statements are index lookups per row
_SERVER_SETTINGS = {
    "application_name": APPLICATION_NAME,
    "jit": "off",
    "plan_cache_mode": "force_custom_plan",
    "random_page_cost": "1.1",
}


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset of a connection handed back. The store leaves no session state behind
    (no LISTEN, no session-level advisory lock, no cursor, settings only SET LOCAL), and asyncpg
    rolls back a transaction left open before it calls this. Its default reset
    (pg_advisory_unlock_all, CLOSE ALL, UNLISTEN *, RESET ALL) is one more round trip that
    changes nothing, and it sat between a claim's answer and the claimed rows' sending."""


class OutboxStore:
    """Open with `await OutboxStore.open(dsn)`, close with `await store.close()`."""

    def __init__(self, pool: asyncpg.Pool, *, clock: Clock, retry: RetryPolicy) -> None:
        self._pool = pool
        self._clock = clock
        self._retry = retry
        # Parts and receipts of this daemon are written one transaction at a time: a receipt
        # written while its part's transaction is open sees no part, and that transaction sees
        # no receipt, so the receipt would wait in the pending table for the periodic sweep
        # (30 s) — under load, for a large share of the messages.
        self._correlating = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        min_connections: int = 1,
        max_connections: int = 4,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT_SECONDS,
        verify_schema: bool = True,
    ) -> OutboxStore:
        """Connect (retrying like every other call) and, unless told not to, refuse a
        database whose schema is not the one this code needs (migrate.SchemaError)."""
        clock = clock or SystemClock()
        retry = retry or RetryPolicy()

        async def connect() -> asyncpg.Pool:
            return await asyncpg.create_pool(
                dsn,
                min_size=min_connections,
                max_size=max_connections,
                command_timeout=command_timeout,
                server_settings=_SERVER_SETTINGS,
                reset=_keep_session,
            )

        pool = await with_retry(connect, clock=clock, policy=retry, name="connect")
        store = cls(pool, clock=clock, retry=retry)
        if verify_schema:
            try:
                await store._run("check_schema", check_schema)
            except BaseException:
                await pool.close()
                raise
        return store

    async def close(self) -> None:
        await self._pool.close()

    async def _run(
        self,
        name: str,
        work: Callable[[asyncpg.Connection], Awaitable[T]],
        *,
        transaction: bool = False,
    ) -> T:
        async def attempt() -> T:
            connection = await self._pool.acquire()
            try:
                if transaction:
                    async with connection.transaction():
                        result = await work(connection)
                else:
                    result = await work(connection)
            finally:
                await self._release(connection)
            return result

        return await with_retry(attempt, clock=self._clock, policy=self._retry, name=name)

    async def _release(self, connection: asyncpg.Connection) -> None:
        """Hand a connection back. If the connection died just after the work finished,
        the pool's reset fails; the pool has dropped the connection by then, and the work is
        done, so it must not be retried (a claim would be made twice)."""
        try:
            await self._pool.release(connection)
        except Exception as error:
            if not is_retryable(error):
                raise
            log.warning("outbox.connection_lost_on_release",
                        error=f"{type(error).__name__}: {error}")

    # -- claims ----------------------------------------------------------------------------

    async def claim(
        self,
        daemon_id: str,
        limit: int,
        lease_seconds: float,
        routes: Sequence[str] | None = None,
        *,
        written: bool = False,
    ) -> list[ClaimedMessage]:
        """Claim up to `limit` due rows (of `routes` only, if given): `queued` -> `sending`
        with a lease, attempts + 1. Highest priority first; within a priority, rows due
        earliest first; concurrent claimers never get the same row (SKIP LOCKED).

        `written=True` is for a caller that writes every row it claims right away: the claim
        sets the in-doubt marker itself, saving the `mark_written` round trip, at the price of
        rows that never reached the wire before a crash counting as in doubt too."""
        return await self._run(
            "claim",
            lambda c: claims.claim(c, daemon_id, limit, lease_seconds, routes, written),
        )

    async def renew(
        self, daemon_id: str, lease_seconds: float, ids: Sequence[int] | None = None
    ) -> set[int]:
        """Extend this daemon's leases (all, or those of `ids`); returns the ids renewed."""
        return await self._run(
            "renew", lambda c: claims.renew(c, daemon_id, lease_seconds, ids)
        )

    async def mark_written(self, daemon_id: str, ids: Sequence[int]) -> None:
        """The in-doubt marker: call it BEFORE writing these rows' PDUs to a provider."""
        if ids:
            await self._run("mark_written", lambda c: claims.mark_written(c, daemon_id, ids))

    async def release(self, daemon_id: str, releases: Sequence[Release]) -> set[int]:
        """Back to `queued` (NOT_SENT, throttled, queue full ...), after an optional delay
        that puts the row at the end of its priority's queue; returns the ids released."""
        if not releases:
            return set()
        return await self._run("release", lambda c: claims.release(c, daemon_id, releases))

    async def recover(
        self,
        in_doubt: InDoubtPolicy = InDoubtPolicy.RESEND,
        *,
        max_attempts: int | None = None,
        own_daemon_id: str | None = None,
    ) -> RecoveryReport:
        """Crash recovery (run at start-up and periodically): rows whose lease ran out, and
        at start-up the rows of this daemon's previous run (`own_daemon_id`), go back to the
        queue, or follow `in_doubt` when their PDU may have been written; rows already
        claimed `max_attempts` times fail instead."""
        return await self._run(
            "recover", lambda c: claims.recover(c, in_doubt, max_attempts, own_daemon_id)
        )

    # -- results ---------------------------------------------------------------------------

    async def record_results(
        self, submissions: Sequence[Submission], receipt_batch: Sequence[ReceiptRecord] = ()
    ) -> ReceiptReport:
        """Rows accepted by a provider become `submitted` with their parts, then receipts are
        applied to their parts and messages (a message of one part whose receipt is in the
        same batch becomes final at once); receipts for parts not recorded yet wait in the
        pending table, and those that came early for these parts are applied. One
        transaction; either sequence may be empty."""
        if not submissions and not receipt_batch:
            return ReceiptReport(matched=0, pending=0, finalised=0)
        async with self._correlating:
            return await self._run(
                "record_results",
                lambda c: results.record_results(c, submissions, receipt_batch),
                transaction=True,
            )

    async def finish(self, final_results: Sequence[FinalResult]) -> set[int]:
        """Final statuses (rejected rows, provider refusals, out of attempts); rows already
        final are left alone. Returns the ids changed."""
        if not final_results:
            return set()
        return await self._run("finish", lambda c: results.finish(c, final_results))

    # -- receipts and status queries -------------------------------------------------------

    async def record_part_outcomes(self, outcomes: Sequence[PartOutcome]) -> int:
        """Apply answers to status queries (query_sm, HTTP status calls); returns how many
        messages became final."""
        if not outcomes:
            return 0
        return await self._run(
            "record_part_outcomes",
            lambda c: receipts.apply_outcomes(c, outcomes),
            transaction=True,
        )

    async def match_pending_receipts(self, limit: int = 1000) -> tuple[int, int]:
        """The periodic sweep: pending receipts whose part is now known are applied.
        Returns (receipts matched, messages that became final)."""
        return await self._run(
            "match_pending_receipts", lambda c: receipts.match_pending(c, limit),
            transaction=True,
        )

    async def drop_stale_pending_receipts(self, max_age_seconds: float) -> int:
        """Forget receipts unmatched for longer than `max_age_seconds` (count them in a
        metric); returns how many were dropped."""
        return await self._run(
            "drop_stale_pending_receipts",
            lambda c: receipts.drop_stale_pending(c, max_age_seconds),
        )

    async def take_overdue(
        self,
        *,
        older_than_seconds: float,
        requery_seconds: float,
        limit: int,
        accounts: Sequence[str] | None = None,
    ) -> list[OverduePart]:
        """Parts whose receipt is overdue, to refresh with a status query; each part is
        offered again only after `requery_seconds`."""
        return await self._run(
            "take_overdue",
            lambda c: overdue.take_overdue(
                c,
                older_than_seconds=older_than_seconds,
                requery_seconds=requery_seconds,
                limit=limit,
                accounts=accounts,
            ),
        )

    async def expire_unanswered(
        self,
        *,
        margin_seconds: float,
        default_validity_seconds: int,
        route_validity_seconds: Mapping[str, int] | None = None,
        limit: int = 10_000,
    ) -> set[int]:
        """Submitted messages past validity + margin without a final answer become
        `unknown`; returns their ids."""
        return await self._run(
            "expire_unanswered",
            lambda c: overdue.expire_unanswered(
                c,
                margin_seconds=margin_seconds,
                default_validity_seconds=default_validity_seconds,
                route_validity_seconds=route_validity_seconds or {},
                limit=limit,
            ),
        )

    # -- incoming messages and statistics --------------------------------------------------

    async def store_incoming(self, messages: Sequence[IncomingMessage]) -> set[str]:
        """Store reassembled MO messages; returns the dedupe keys that were new (the others
        were repeats)."""
        if not messages:
            return set()
        return await self._run("store_incoming", lambda c: incoming.store_incoming(c, messages))

    async def stats(self, recent_errors: int = 10) -> OutboxStats:
        return await self._run("stats", lambda c: stats.read_stats(c, recent_errors))

    # -- Viber legs, provider callbacks, HLR results ---------------------------------------

    async def record_viber_legs(
        self, legs: Sequence[LegRecord], outcomes: Sequence[PartOutcome]
    ) -> int:
        """Keep Viber legs' statuses and apply the messages' final outcomes (one
        transaction); returns how many messages became final."""
        if not legs and not outcomes:
            return 0
        return await self._run(
            "record_viber_legs", lambda c: viber.record_legs(c, legs, outcomes),
            transaction=True,
        )

    async def viber_legs(self, outbox_ids: Sequence[int]) -> dict[int, dict[str, LegRecord]]:
        return await self._run("viber_legs", lambda c: viber.legs_of(c, outbox_ids))

    async def find_parts(
        self, accounts: Sequence[str], provider_ids: Sequence[str]
    ) -> list[PartRef]:
        """Sent parts by the provider's ids (status callbacks name nothing else)."""
        return await self._run("find_parts",
                               lambda c: viber.find_parts(c, accounts, provider_ids))

    async def store_callbacks(self, records: Sequence[CallbackRecord]) -> set[str]:
        """Keep provider callbacks once each; returns the dedupe keys that were new."""
        if not records:
            return set()
        return await self._run("store_callbacks",
                               lambda c: callbacks.store_callbacks(c, records))

    async def store_hlr(self, records: Sequence[HlrRecord]) -> None:
        if records:
            await self._run("store_hlr", lambda c: hlr.store_hlr(c, records))

    async def dead_numbers(
        self, numbers: Sequence[str], max_age_seconds: float
    ) -> dict[str, datetime]:
        """Numbers an HLR check younger than `max_age_seconds` found dead."""
        if not numbers:
            return {}
        return await self._run("dead_numbers",
                               lambda c: hlr.dead_numbers(c, numbers, max_age_seconds))
