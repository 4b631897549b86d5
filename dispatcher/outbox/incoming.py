"""Storing incoming (MO) messages once each.

The SMSC delivers a deliver_sm again when our deliver_sm_resp was lost, so the same message can
arrive twice. Each message carries a dedupe key built from what identifies it on the wire; the
second copy finds the key taken and is not stored again (and is still acknowledged).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import asyncpg

from dispatcher.outbox.records import IncomingMessage

_STORE = """
INSERT INTO dispatcher_incoming
    (account, source, destination, body, received_at, parts, details, dedupe_key)
SELECT account, source, destination, body, received_at, parts, details::jsonb, dedupe_key
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::int[],
            $7::text[], $8::text[])
     AS m(account, source, destination, body, received_at, parts, details, dedupe_key)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING dedupe_key
"""


def dedupe_key(*components: str | int | None) -> str:
    """A stable key from the fields that identify one incoming message.

    Use what the SMSC repeats identically in a redelivery and what differs between two
    messages: the account, source, destination and text, plus whatever id the SMSC gives
    (a message id TLV, the concatenation reference and total of a multipart message) and,
    when it gives none, a coarse time bucket of the SMSC timestamp, so the same short text
    sent twice by a person minutes apart is stored twice.
    """
    digest = hashlib.sha256()
    for component in components:
        digest.update(repr(component).encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.hexdigest()


async def store_incoming(
    connection: asyncpg.Connection, messages: Sequence[IncomingMessage]
) -> set[str]:
    """Store the messages not seen before; returns the dedupe keys that were new."""
    if not messages:
        return set()
    rows = await connection.fetch(
        _STORE,
        [message.account for message in messages],
        [message.source for message in messages],
        [message.destination for message in messages],
        [message.body for message in messages],
        [message.received_at for message in messages],
        [message.parts for message in messages],
        [json.dumps(dict(message.details), default=str) for message in messages],
        [message.dedupe_key for message in messages],
    )
    return {row["dedupe_key"] for row in rows}
