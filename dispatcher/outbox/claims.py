"""Claiming rows, holding their leases, giving them back, and crash recovery.

A claim moves rows from `queued` to `sending` and stamps them with a lease: the claiming
daemon's id and an expiry time (the database clock, shared by every daemon). While the daemon
works it renews its leases; when it dies they run out and `recover()` (run by any daemon,
periodically and at start-up) puts the rows back.

The in-doubt marker, `dispatcher_written_at`, is set by `mark_written()` *before* a message's
bytes are written to a provider. A row whose lease runs out with the marker set may have
reached the provider; one without it certainly did not. So the duplicate bound under the
"resend" policy is: a message is sent more than once only if a daemon died (or lost its lease)
between `mark_written()` and recording the provider's answer, once per such event. Exposed at
any moment are the rows a daemon has marked written and whose answer is not yet recorded: the
messages its pools hold (in a window, or queued: the daemon keeps two claim batches at most
unsent per account, see `Daemon._room`) and the answers it has received but not yet written
(results are written in batches, back to back). Of those, only the ones whose PDU reached the
provider can arrive twice: the windows plus the received answers not yet written.
tests/daemon/test_resilience_kill.py checks both after a kill -9 under load (hundreds of
answers can be waiting for their write at that moment).

Every statement here is a single round trip for the whole batch and safe to run twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from dispatcher.outbox.packing import numbers_sql, pack_numbers, pack_texts, texts_sql
from dispatcher.outbox.records import ClaimedMessage, InDoubtPolicy, RecoveryReport, Release

# in the order of ClaimedMessage's fields: a row becomes a ClaimedMessage as it is
_CLAIMED_COLUMNS = ", ".join(f"o.{name}" for name in ClaimedMessage._fields)

# `id = ANY(ARRAY(...))` makes the update a primary-key lookup per picked row; a join with
# the picked rows can be planned as a scan of the whole table. The rows come back in the
# order they are to be sent (an UPDATE returns them in the order it met them).
_CLAIM = f"""
WITH claimed AS (
    UPDATE outbox AS o
    SET status = 'sending',
        status_at = now(),
        attempts = o.attempts + 1,
        dispatcher_lease_owner = $1,
        dispatcher_lease_until = now() + make_interval(secs => $3),
        dispatcher_written_at = CASE WHEN $4::boolean THEN now() END
    WHERE o.id = ANY(ARRAY(
        SELECT id FROM outbox
        WHERE status = 'queued'
          AND (not_before IS NULL OR not_before <= now())
          {{route_filter}}
        ORDER BY priority DESC, not_before ASC NULLS FIRST, id
        LIMIT $2
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING {_CLAIMED_COLUMNS}
)
SELECT * FROM claimed ORDER BY priority DESC, id
"""
_CLAIM_ANY_ROUTE = _CLAIM.format(route_filter="")
# The claim must walk outbox_claim_idx in its order and stop after `limit` rows. With
# statistics from before a bulk INSERT (autovacuum analyzes the table up to a minute later)
# the planner expects a handful of queued rows and chooses to read and sort the whole queue,
# for every claim: with 30,000 rows queued that cost 88 µs of database time per claimed row
# against 31 µs for the index walk (benchmarks/RESULTS.md, Daemon). Scoped to the claim's
# own transaction.
_WALK_THE_CLAIM_INDEX = (
    "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off; "
    "SET LOCAL enable_seqscan = off"
)
_CLAIM_ROUTES = _CLAIM.format(route_filter="AND route = ANY($5::text[])")

# The rows are locked in id order (the batched result writes look rows up by id too): a
# renewal that locked them in scan order could deadlock with a result batch, which costs a
# retry and about a second.
_RENEW_ALL = """
UPDATE outbox
SET dispatcher_lease_until = now() + make_interval(secs => $2)
WHERE id = ANY(ARRAY(
    SELECT id FROM outbox
    WHERE status = 'sending' AND dispatcher_lease_owner = $1
    ORDER BY id
    FOR UPDATE
))
  AND status = 'sending' AND dispatcher_lease_owner = $1
RETURNING id
"""

_RENEW_SOME = """
UPDATE outbox
SET dispatcher_lease_until = now() + make_interval(secs => $2)
WHERE id = ANY($3::bigint[]) AND status = 'sending' AND dispatcher_lease_owner = $1
RETURNING id
"""

_MARK_WRITTEN = """
UPDATE outbox
SET dispatcher_written_at = now()
WHERE id = ANY($2::bigint[])
  AND status = 'sending'
  AND dispatcher_lease_owner = $1
  AND dispatcher_written_at IS NULL
"""

_RELEASE = f"""
UPDATE outbox AS o
SET status = 'queued',
    status_at = now(),
    not_before = CASE WHEN r.delay > 0 THEN now() + make_interval(secs => r.delay)
                      ELSE o.not_before END,
    error_code = r.error_code,
    error_text = r.error_text,
    dispatcher_lease_owner = NULL,
    dispatcher_lease_until = NULL,
    dispatcher_written_at = NULL
FROM unnest({numbers_sql(2, 'bigint')}, $3::float8[], {texts_sql(4)}, {texts_sql(5)})
     AS r(id, delay, error_code, error_text)
WHERE o.id = r.id
  AND o.status = 'sending' AND o.dispatcher_lease_owner = $1
RETURNING o.id
"""

# Rows of a dead daemon (lease run out) or, at start-up, of this daemon's previous life.
# Out of attempts -> failed; in doubt -> the policy; otherwise back to the queue.
_RECOVER = """
WITH stale AS (
    SELECT id FROM outbox
    WHERE status = 'sending'
      AND (dispatcher_lease_until < now() OR dispatcher_lease_owner = $3)
    ORDER BY id
    FOR UPDATE SKIP LOCKED
),
decided AS (
    SELECT o.id,
           CASE
               WHEN $2::int IS NOT NULL AND o.attempts >= $2 THEN 'failed'
               WHEN o.dispatcher_written_at IS NULL THEN 'requeued'
               WHEN $1 = 'unknown' THEN 'unknown'
               ELSE 'requeued_in_doubt'
           END AS outcome
    FROM outbox AS o JOIN stale USING (id)
)
UPDATE outbox AS o
SET status = CASE d.outcome WHEN 'failed' THEN 'failed'
                            WHEN 'unknown' THEN 'unknown'
                            ELSE 'queued' END,
    status_at = now(),
    done_at = CASE WHEN d.outcome IN ('failed', 'unknown') THEN now() END,
    error_text = CASE d.outcome
        WHEN 'failed' THEN format('gave up after %s attempts; the last one was interrupted '
                                  '(daemon stopped or lost its lease)', o.attempts)
        WHEN 'unknown' THEN 'in doubt after a daemon stopped or lost its lease: the message '
                            'may or may not have reached the provider, and the in-doubt '
                            'policy is "unknown"'
        WHEN 'requeued_in_doubt' THEN 'in doubt after a daemon stopped or lost its lease: '
                                      'sent again, so it may arrive twice'
        ELSE o.error_text END,
    dispatcher_lease_owner = NULL,
    dispatcher_lease_until = NULL,
    dispatcher_written_at = NULL
FROM decided AS d
WHERE o.id = d.id
RETURNING d.outcome
"""


async def claim(
    connection: asyncpg.Connection,
    daemon_id: str,
    limit: int,
    lease_seconds: float,
    routes: Sequence[str] | None,
    written: bool,
) -> list[ClaimedMessage]:
    """Claim up to `limit` due rows, highest priority first (then due first, then oldest);
    `written` sets the in-doubt marker in the same statement."""
    async with connection.transaction():
        await connection.execute(_WALK_THE_CLAIM_INDEX)
        if routes is None:
            rows = await connection.fetch(
                _CLAIM_ANY_ROUTE, daemon_id, limit, lease_seconds, written
            )
        else:
            rows = await connection.fetch(
                _CLAIM_ROUTES, daemon_id, limit, lease_seconds, written, list(routes)
            )
    return [ClaimedMessage._make(row) for row in rows]


async def renew(
    connection: asyncpg.Connection,
    daemon_id: str,
    lease_seconds: float,
    ids: Sequence[int] | None,
) -> set[int]:
    """Extend the leases this daemon holds (all of them, or those of `ids`); returns the ids
    renewed. An id asked for and not returned was lost: stop working on it."""
    if ids is None:
        rows = await connection.fetch(_RENEW_ALL, daemon_id, lease_seconds)
    else:
        rows = await connection.fetch(_RENEW_SOME, daemon_id, lease_seconds, list(ids))
    return {row["id"] for row in rows}


async def mark_written(
    connection: asyncpg.Connection, daemon_id: str, ids: Sequence[int]
) -> None:
    await connection.execute(_MARK_WRITTEN, daemon_id, list(ids))


async def release(
    connection: asyncpg.Connection, daemon_id: str, releases: Sequence[Release]
) -> set[int]:
    """Back to `queued` (after `delay_seconds`, at the end of its priority's queue); returns
    the ids released (a row whose lease this daemon no longer holds is left alone)."""
    rows = await connection.fetch(
        _RELEASE,
        daemon_id,
        pack_numbers(item.outbox_id for item in releases),
        [item.delay_seconds for item in releases],
        pack_texts([item.error_code for item in releases]),
        pack_texts([item.error_text for item in releases]),
    )
    return {row["id"] for row in rows}


async def recover(
    connection: asyncpg.Connection,
    in_doubt: InDoubtPolicy,
    max_attempts: int | None,
    own_daemon_id: str | None,
) -> RecoveryReport:
    rows = await connection.fetch(_RECOVER, in_doubt.value, max_attempts, own_daemon_id)
    outcomes = [row["outcome"] for row in rows]
    return RecoveryReport(
        requeued=outcomes.count("requeued"),
        requeued_in_doubt=outcomes.count("requeued_in_doubt"),
        marked_unknown=outcomes.count("unknown"),
        failed=outcomes.count("failed"),
    )
