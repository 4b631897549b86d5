"""Helpers shared by the outbox tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from dispatcher.outbox.records import ReceiptRecord, Submission, SubmittedPart
from dispatcher.status import MessageStatus

DAEMON = "daemon-a"
ACCOUNT = "ads"


async def insert(db: asyncpg.Connection, count: int = 1, **columns: Any) -> list[int]:
    """INSERT `count` rows like a producer would; returns their ids in insert order."""
    values = {"destination": "79031234567", "body": "hello", **columns}
    names = ", ".join(values)
    placeholders = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    ids = []
    for _ in range(count):
        ids.append(
            await db.fetchval(
                f"INSERT INTO outbox ({names}) VALUES ({placeholders}) RETURNING id",
                *values.values(),
            )
        )
    return ids


async def status_of(db: asyncpg.Connection, outbox_id: int) -> str:
    status: str = await db.fetchval("SELECT status FROM outbox WHERE id = $1", outbox_id)
    return status


async def row_of(db: asyncpg.Connection, outbox_id: int) -> asyncpg.Record:
    return await db.fetchrow("SELECT * FROM outbox WHERE id = $1", outbox_id)


def submission(outbox_id: int, *message_ids: str, account: str = ACCOUNT) -> Submission:
    """A submission whose parts carry these (already normalised) ids, parts numbered 1..n."""
    return Submission(
        outbox_id=outbox_id,
        provider=account,
        parts=tuple(
            SubmittedPart(index, account, message_id, message_id.upper())
            for index, message_id in enumerate(message_ids, start=1)
        ),
    )


def receipt(
    message_id: str,
    status: MessageStatus,
    *,
    account: str = ACCOUNT,
    at: datetime | None = None,
    state: str | None = None,
    error_code: str | None = None,
    text: str | None = None,
) -> ReceiptRecord:
    return ReceiptRecord(
        account=account,
        message_id=message_id,
        status=status,
        received_at=at or datetime.now(UTC),
        state=state,
        error_code=error_code,
        text=text,
    )
