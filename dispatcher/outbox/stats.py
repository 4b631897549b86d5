"""Counts and recent errors for `smpp-dispatcher status`."""

from __future__ import annotations

import asyncpg

from dispatcher.outbox.records import OutboxStats, RecentError, StatusCount
from dispatcher.status import MessageStatus

_COUNTS = "SELECT route, status, count(*) AS n FROM outbox GROUP BY route, status ORDER BY 1, 2"
_RECENT_ERRORS = """
SELECT id, route, status, error_code, error_text, status_at
FROM outbox
WHERE error_text IS NOT NULL
ORDER BY status_at DESC
LIMIT $1
"""
_PENDING_RECEIPTS = "SELECT count(*) FROM dispatcher_pending_receipt"


async def read_stats(connection: asyncpg.Connection, recent_errors: int) -> OutboxStats:
    """Counts by route and status over the whole table (a full scan: an operator's command,
    not something to poll every second), the latest errors and the unmatched receipts."""
    counts = await connection.fetch(_COUNTS)
    errors = await connection.fetch(_RECENT_ERRORS, recent_errors)
    pending: int = await connection.fetchval(_PENDING_RECEIPTS)
    return OutboxStats(
        counts=tuple(
            StatusCount(row["route"], MessageStatus(row["status"]), row["n"]) for row in counts
        ),
        recent_errors=tuple(
            RecentError(
                outbox_id=row["id"],
                route=row["route"],
                status=MessageStatus(row["status"]),
                error_code=row["error_code"],
                error_text=row["error_text"],
                status_at=row["status_at"],
            )
            for row in errors
        ),
        pending_receipts=pending,
    )
