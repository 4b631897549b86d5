"""Overdue receipts (status query refresh) and unknown after validity + margin."""

from __future__ import annotations

from typing import Any

import asyncpg

from dispatcher.outbox import overdue
from dispatcher.outbox.store import OutboxStore
from dispatcher.status import MessageStatus
from tests.outbox.support import DAEMON, insert, receipt, row_of, status_of, submission


async def submitted_ago(
    store: OutboxStore, db: asyncpg.Connection, seconds: int, *message_ids: str, **columns: Any
) -> int:
    [outbox_id] = await insert(db, **columns)
    await store.claim(DAEMON, 10, 60)
    await store.record_results([submission(outbox_id, *message_ids)])
    await db.execute(
        "UPDATE outbox SET submitted_at = now() - make_interval(secs => $2) WHERE id = $1",
        outbox_id, seconds,
    )
    return outbox_id


async def test_overdue_parts_are_offered_once_per_requery_interval(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    old = await submitted_ago(store, db, 3600, "o1", "o2", source="Shop", destination="7903123")
    await submitted_ago(store, db, 10, "young")
    answered = await submitted_ago(store, db, 3600, "done")
    await store.record_results([], [receipt("done", MessageStatus.DELIVERED)])

    parts = await store.take_overdue(older_than_seconds=600, requery_seconds=300, limit=10)
    assert sorted((p.outbox_id, p.part_index, p.message_id) for p in parts) == [
        (old, 1, "o1"), (old, 2, "o2")
    ]
    first = parts[0]
    assert (first.account, first.raw_message_id, first.source, first.destination,
            first.route, first.query_count) == ("ads", first.message_id.upper(), "Shop",
                                                "7903123", "default", 0)
    assert answered not in {p.outbox_id for p in parts}
    # asked already: not offered again until the requery interval has passed
    assert await store.take_overdue(older_than_seconds=600, requery_seconds=300, limit=10) == []
    await db.execute("UPDATE dispatcher_part SET queried_at = now() - interval '10 minutes'")
    again = await store.take_overdue(older_than_seconds=600, requery_seconds=300, limit=1)
    assert len(again) == 1 and again[0].query_count == 1


async def test_overdue_can_be_limited_to_accounts(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    await submitted_ago(store, db, 3600, "a1")
    assert await store.take_overdue(
        older_than_seconds=60, requery_seconds=60, limit=10, accounts=["other"]
    ) == []
    assert len(await store.take_overdue(
        older_than_seconds=60, requery_seconds=60, limit=10, accounts=["ads"]
    )) == 1


async def test_unanswered_messages_become_unknown_after_validity_and_margin(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    own_validity = await submitted_ago(store, db, 200, "v1", validity=120)
    route_validity = await submitted_ago(store, db, 200, "v2", route="short")
    default_validity = await submitted_ago(store, db, 200, "v3")
    within_margin = await submitted_ago(store, db, 150, "v4", validity=120)
    delivered = await submitted_ago(store, db, 10_000, "v5")
    await store.record_results([], [receipt("v5", MessageStatus.DELIVERED)])

    expired = await store.expire_unanswered(
        margin_seconds=60,
        default_validity_seconds=86_400,
        route_validity_seconds={"short": 100},
    )
    assert expired == {own_validity, route_validity}
    row = await row_of(db, own_validity)
    assert row["status"] == "unknown" and row["done_at"] is not None
    assert row["error_text"] == (
        "no final delivery receipt within the validity period (120 s) plus a margin of 60 s"
    )
    for untouched in (default_validity, within_margin):
        assert await status_of(db, untouched) == "submitted"
    assert await status_of(db, delivered) == "delivered"


async def test_parts_another_daemon_is_taking_are_skipped_and_then_not_offered_again(
    store: OutboxStore, db: asyncpg.Connection, migrated_dsn: str
) -> None:
    outbox_id = await submitted_ago(store, db, 3600, "x1", "x2")
    other = await asyncpg.connect(migrated_dsn)
    try:
        async with other.transaction():
            taken = await overdue.take_overdue(
                other, older_than_seconds=600, requery_seconds=300, limit=10, accounts=None
            )
            assert sorted(p.part_index for p in taken) == [1, 2]
            # still locked by the other daemon's open transaction: skipped, not waited for
            assert await store.take_overdue(
                older_than_seconds=600, requery_seconds=300, limit=10
            ) == []
        # committed: stamped as queried, so not offered again within the requery interval
        assert await store.take_overdue(
            older_than_seconds=600, requery_seconds=300, limit=10
        ) == []
    finally:
        await other.close()
    assert await db.fetchval(
        "SELECT sum(query_count) FROM dispatcher_part WHERE outbox_id = $1", outbox_id
    ) == 2


async def test_overdue_parts_come_never_asked_first_then_longest_ago(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    asked_long_ago = await submitted_ago(store, db, 7200, "l1")
    never_asked_newer = await submitted_ago(store, db, 1800, "n1")
    never_asked_older = await submitted_ago(store, db, 3600, "n2")
    await db.execute(
        "UPDATE dispatcher_part SET queried_at = now() - interval '1 hour' WHERE outbox_id = $1",
        asked_long_ago,
    )
    order = []
    for _ in range(3):
        [part] = await store.take_overdue(older_than_seconds=600, requery_seconds=300, limit=1)
        order.append(part.outbox_id)
    assert order == [never_asked_older, never_asked_newer, asked_long_ago]
