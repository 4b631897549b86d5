"""Incoming (MO) messages: stored once, repeats recognised."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from dispatcher.outbox.incoming import dedupe_key
from dispatcher.outbox.records import IncomingMessage
from dispatcher.outbox.store import OutboxStore


def mo(body: str, reference: str) -> IncomingMessage:
    return IncomingMessage(
        account="ads",
        source="79031234567",
        destination="4711",
        body=body,
        received_at=datetime(2030, 1, 1, tzinfo=UTC),
        dedupe_key=dedupe_key("ads", "79031234567", "4711", body, reference),
        parts=2,
        details={"reference": reference, "total": 2, "data_coding": 8},
    )


async def test_a_repeated_delivery_is_stored_once(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    first = mo("Привет, мир", "ref-17")
    assert await store.store_incoming([first]) == {first.dedupe_key}
    again = mo("Привет, мир", "ref-17")
    other = mo("Привет, мир", "ref-18")
    assert await store.store_incoming([again, other, other]) == {other.dedupe_key}
    rows = await db.fetch("SELECT body, parts, details FROM dispatcher_incoming ORDER BY id")
    assert [r["body"] for r in rows] == ["Привет, мир", "Привет, мир"]
    assert rows[0]["parts"] == 2
    assert '"reference": "ref-17"' in rows[0]["details"]


def test_dedupe_keys_tell_fields_apart() -> None:
    assert dedupe_key("a", "bc") != dedupe_key("ab", "c")
    assert dedupe_key("a", None) != dedupe_key("a", "None")
    assert dedupe_key("a", 1) == dedupe_key("a", 1)
