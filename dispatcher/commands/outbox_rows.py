"""Outbox rows as producers write them: from text values (command arguments, CSV cells) to
records that COPY or INSERT accept.

Only the types are checked here (an integer priority, an ISO 8601 time, ...), because a value
of the wrong type cannot even be stored. The message rules (digits in the destination, the
sender's length, the minimum validity, the number of parts) are the daemon's: a row that
breaks them is stored and then `rejected` with an error_text saying why, exactly as a row
INSERTed by any other producer would be.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

import asyncpg

# The columns a producer sets, in the order of `OutboxRecord` (and of every COPY).
PRODUCER_COLUMNS = (
    "destination", "body", "source", "route", "priority", "client_ref", "validity", "not_before",
)
# the outbox's own defaults (migrations/0001_outbox.sql), filled in here because COPY and an
# explicit NULL do not apply a column's DEFAULT
DEFAULT_ROUTE = "default"
DEFAULT_PRIORITY = 0
# priority and validity are PostgreSQL `integer` columns
_INT4_MIN, _INT4_MAX = -(2**31), 2**31 - 1


class OutboxRecord(NamedTuple):
    destination: str | None
    body: str | None
    source: str | None
    route: str
    priority: int
    client_ref: str | None
    validity: int | None
    not_before: datetime | None


class RowError(ValueError):
    """A value that cannot be stored in its column; the message names the column."""


def make_record(
    *,
    destination: str | None,
    body: str | None,
    source: str | None = None,
    route: str | None = None,
    priority: str | None = None,
    client_ref: str | None = None,
    validity: str | None = None,
    not_before: str | None = None,
) -> OutboxRecord:
    """A record from text values; empty text means "not given" (NULL or the column default).
    Raises RowError naming every value that cannot be stored."""
    problems: list[str] = []

    def text(column: str, value: str | None) -> str | None:
        if not value:
            return None
        if "\x00" in value:  # PostgreSQL text cannot hold NUL
            problems.append(f"{column} contains a NUL character")
        return value

    def integer(column: str, value: str | None) -> int | None:
        if value is None or not value.strip():
            return None
        try:
            number = int(value.strip())
        except ValueError:
            problems.append(f"{column} {value!r} is not a whole number")
            return None
        if not _INT4_MIN <= number <= _INT4_MAX:
            problems.append(f"{column} {number} is out of range")
            return None
        return number

    priority_number = integer("priority", priority)
    record = OutboxRecord(
        destination=text("destination", destination),
        body=text("body", body),
        source=text("source", source),
        route=text("route", route) or DEFAULT_ROUTE,
        priority=DEFAULT_PRIORITY if priority_number is None else priority_number,
        client_ref=text("client_ref", client_ref),
        validity=integer("validity", validity),
        not_before=_timestamp(not_before, problems),
    )
    if problems:
        raise RowError("; ".join(problems))
    return record


def _timestamp(value: str | None, problems: list[str]) -> datetime | None:
    """ISO 8601; a time without an offset is taken as this machine's local time."""
    if value is None or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        problems.append(f"not_before {value!r} is not an ISO 8601 time (2025-01-31T09:00+03:00)")
        return None
    return moment if moment.tzinfo is not None else moment.astimezone()


async def copy_records(connection: asyncpg.Connection, records: Sequence[OutboxRecord]) -> None:
    """Append `records` to the outbox with COPY (one round trip for the whole batch)."""
    await connection.copy_records_to_table("outbox", records=records, columns=PRODUCER_COLUMNS)


async def insert_returning_ids(
    connection: asyncpg.Connection, records: Sequence[OutboxRecord]
) -> list[int]:
    """INSERT a few records in one transaction and return their ids, in order."""
    placeholders = ", ".join(f"${n}" for n in range(1, len(PRODUCER_COLUMNS) + 1))
    statement = (
        f"INSERT INTO outbox ({', '.join(PRODUCER_COLUMNS)}) VALUES ({placeholders}) RETURNING id"
    )
    async with connection.transaction():
        return [await connection.fetchval(statement, *record) for record in records]
