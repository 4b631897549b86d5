"""HLR lookup results (`dispatcher_hlr`): the latest verdict per number, and which of a
batch's destinations were found dead recently enough to skip them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

_STORE = """
INSERT INTO dispatcher_hlr AS h
    (number, verdict, state_code, description, country, operator, provider, checked_at)
SELECT number, verdict, state_code, description, country, operator, provider, now()
FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[])
     AS r(number, verdict, state_code, description, country, operator, provider)
ON CONFLICT (number) DO UPDATE
SET verdict = excluded.verdict, state_code = excluded.state_code,
    description = excluded.description, country = excluded.country,
    operator = excluded.operator, provider = excluded.provider, checked_at = now()
"""

_DEAD = """
SELECT number, checked_at FROM dispatcher_hlr
WHERE number = ANY($1::text[]) AND verdict = 'dead'
  AND checked_at > now() - make_interval(secs => $2::float8)
"""


@dataclass(frozen=True, slots=True)
class HlrRecord:
    number: str  # digits only
    verdict: str  # dispatcher.fallback.devino_hlr.NumberVerdict values
    provider: str
    state_code: int | None = None
    description: str | None = None
    country: str | None = None
    operator: str | None = None


async def store_hlr(connection: asyncpg.Connection, records: Sequence[HlrRecord]) -> None:
    """Keep each number's latest result (the last one of the batch wins)."""
    latest = list({r.number: r for r in records}.values())
    if not latest:
        return
    await connection.execute(
        _STORE,
        [r.number for r in latest],
        [r.verdict for r in latest],
        [r.state_code for r in latest],
        [r.description for r in latest],
        [r.country for r in latest],
        [r.operator for r in latest],
        [r.provider for r in latest],
    )


async def dead_numbers(
    connection: asyncpg.Connection, numbers: Sequence[str], max_age_seconds: float
) -> dict[str, datetime]:
    """The numbers found dead by a check younger than `max_age_seconds`, with its time."""
    if not numbers:
        return {}
    rows = await connection.fetch(_DEAD, sorted(set(numbers)), max_age_seconds)
    return {row["number"]: row["checked_at"] for row in rows}
