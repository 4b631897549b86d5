"""Provider callbacks (status events) kept once each in `dispatcher_callback`.

Providers POST a callback again when our answer was lost or late, so every record carries a
dedupe key built from what the provider repeats identically; the second copy finds the key
taken. A record about a message we never sent is kept too, flagged `known = false`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

_STORE = """
INSERT INTO dispatcher_callback (dedupe_key, kind, provider_id, known, payload)
SELECT dedupe_key, kind, provider_id, known, payload::jsonb
FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::text[])
     AS c(dedupe_key, kind, provider_id, known, payload)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING dedupe_key
"""


@dataclass(frozen=True, slots=True)
class CallbackRecord:
    dedupe_key: str
    kind: str  # webcom_status, viber_status, ...
    provider_id: str | None
    known: bool  # False: about a message this database never sent
    payload: Mapping[str, Any] = field(default_factory=dict)


async def store_callbacks(
    connection: asyncpg.Connection, records: Sequence[CallbackRecord]
) -> set[str]:
    """Keep the records not seen before; returns their dedupe keys."""
    if not records:
        return set()
    rows = await connection.fetch(
        _STORE,
        [r.dedupe_key for r in records],
        [r.kind for r in records],
        [r.provider_id for r in records],
        [r.known for r in records],
        [json.dumps(dict(r.payload), default=str, ensure_ascii=False) for r in records],
    )
    return {row["dedupe_key"] for row in rows}
