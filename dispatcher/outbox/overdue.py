"""Submitted messages whose receipt is late: parts to refresh with a status query (query_sm or
an HTTP status call), and messages given up on once their validity has passed.

`take_overdue()` stamps the parts it returns (queried_at), so repeated calls, from this daemon
or another one, spread the queries out instead of asking about the same parts again: a part is
offered again only after `requery_seconds`. The caller applies its own rate limit by choosing
how often it calls and how many parts it takes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import asyncpg

from dispatcher.outbox.records import OverduePart
from dispatcher.smpp.settings import MIN_VALIDITY_SECONDS

# The overdue messages come from the partial index on submitted rows, and their parts are
# looked up by key: OFFSET 0 keeps the planner from joining the parts any other way. Joined
# freely, with statistics from before a bulk load, the statement read every part of the
# account (the (account, message_id) index, also beside a key lookup) and probed its message:
# 15-200 ms a call with 50,000-100,000 parts, growing with the table. The parts chosen are
# locked afterwards, and checked again once locked: another daemon may have taken them.
_TAKE_OVERDUE = """
WITH candidate AS (
    SELECT p.outbox_id, p.part_index
    FROM outbox AS o
    CROSS JOIN LATERAL (
        SELECT outbox_id, part_index, account, status, queried_at
        FROM dispatcher_part
        WHERE outbox_id = o.id
        OFFSET 0
    ) AS p
    WHERE o.status = 'submitted'
      AND o.submitted_at < now() - make_interval(secs => $1)
      AND p.status = 'submitted'
      AND (p.queried_at IS NULL OR p.queried_at < now() - make_interval(secs => $2))
      AND ($4::text[] IS NULL OR p.account = ANY($4::text[]))
    ORDER BY p.queried_at ASC NULLS FIRST, o.submitted_at
    LIMIT $3
),
due AS (
    SELECT p.outbox_id, p.part_index
    FROM dispatcher_part AS p
    JOIN candidate AS c ON c.outbox_id = p.outbox_id AND c.part_index = p.part_index
    WHERE p.status = 'submitted'
      AND (p.queried_at IS NULL OR p.queried_at < now() - make_interval(secs => $2))
    FOR UPDATE OF p SKIP LOCKED
)
UPDATE dispatcher_part AS p
SET queried_at = now(), query_count = p.query_count + 1
FROM due, outbox AS o
WHERE p.outbox_id = due.outbox_id AND p.part_index = due.part_index AND o.id = p.outbox_id
RETURNING p.outbox_id, p.part_index, p.account, p.message_id, p.raw_message_id, o.route,
          o.source, o.destination, p.submitted_at, p.query_count - 1 AS query_count
"""

# A submitted message becomes `unknown` once validity (its own, else its route's, else the
# default) plus the margin has passed. `submitted_at < now() - $1` (the smallest validity any
# row can have, plus the margin) lets the partial index on submitted rows skip the young ones.
_EXPIRE_UNANSWERED = """
WITH route_validity AS (
    SELECT * FROM unnest($3::text[], $4::int[]) AS v(route, seconds)
),
overdue AS (
    SELECT o.id, coalesce(o.validity, rv.seconds, $2::int) AS validity
    FROM outbox AS o
    LEFT JOIN route_validity AS rv ON rv.route = o.route
    WHERE o.status = 'submitted'
      AND o.submitted_at < now() - make_interval(secs => $1::float8)
      AND o.submitted_at
          < now() - make_interval(secs => coalesce(o.validity, rv.seconds, $2::int) + $5::float8)
    ORDER BY o.submitted_at
    LIMIT $6::int
    FOR UPDATE OF o SKIP LOCKED
)
UPDATE outbox AS o
SET status = 'unknown',
    status_at = now(),
    done_at = now(),
    error_text = format('no final delivery receipt within the validity period (%s s) '
                        'plus a margin of %s s', d.validity, $5)
FROM overdue AS d
WHERE o.id = d.id
RETURNING o.id
"""


def _overdue_part(row: asyncpg.Record) -> OverduePart:
    return OverduePart(
        outbox_id=row["outbox_id"],
        part_index=row["part_index"],
        account=row["account"],
        message_id=row["message_id"],
        raw_message_id=row["raw_message_id"],
        route=row["route"],
        source=row["source"],
        destination=row["destination"],
        submitted_at=row["submitted_at"],
        query_count=row["query_count"],
    )


async def take_overdue(
    connection: asyncpg.Connection,
    *,
    older_than_seconds: float,
    requery_seconds: float,
    limit: int,
    accounts: Sequence[str] | None,
) -> list[OverduePart]:
    """Parts of messages submitted more than `older_than_seconds` ago that have no final
    outcome, oldest first, never queried (or longest ago) first."""
    rows = await connection.fetch(
        _TAKE_OVERDUE,
        older_than_seconds,
        requery_seconds,
        limit,
        None if accounts is None else list(accounts),
    )
    return [_overdue_part(row) for row in rows]


async def expire_unanswered(
    connection: asyncpg.Connection,
    *,
    margin_seconds: float,
    default_validity_seconds: int,
    route_validity_seconds: Mapping[str, int],
    limit: int,
) -> set[int]:
    """Mark `unknown` the submitted messages past validity + margin; returns their ids."""
    floor = min(MIN_VALIDITY_SECONDS, default_validity_seconds, *route_validity_seconds.values())
    rows = await connection.fetch(
        _EXPIRE_UNANSWERED,
        floor + margin_seconds,
        default_validity_seconds,
        list(route_validity_seconds),
        list(route_validity_seconds.values()),
        margin_seconds,
        limit,
    )
    return {row["id"] for row in rows}
