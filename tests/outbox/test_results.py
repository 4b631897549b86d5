"""Results written back: submitted with parts, final statuses that never change, batching."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from dispatcher.outbox import receipts, results
from dispatcher.outbox.records import FinalResult, Release
from dispatcher.outbox.store import OutboxStore
from dispatcher.status import MessageStatus
from tests.outbox.support import DAEMON, insert, receipt, row_of, status_of, submission


async def test_recorded_results_keep_the_parts(store: OutboxStore, db: asyncpg.Connection) -> None:
    single, multi = await insert(db, 2)
    await store.claim(DAEMON, 2, 60)
    await store.mark_written(DAEMON, [single, multi])
    await store.record_results([submission(single, "100"), submission(multi, "201", "202")])
    row = await row_of(db, multi)
    assert (row["status"], row["parts"], row["provider"]) == ("submitted", 2, "ads")
    assert row["submitted_at"] is not None and row["dispatcher_lease_owner"] is None
    assert row["dispatcher_written_at"] is None
    parts = await db.fetch(
        "SELECT outbox_id, part_index, account, message_id, raw_message_id, status "
        "FROM dispatcher_part ORDER BY outbox_id, part_index"
    )
    assert [tuple(p) for p in parts] == [
        (single, 1, "ads", "100", "100", "submitted"),
        (multi, 1, "ads", "201", "201", "submitted"),
        (multi, 2, "ads", "202", "202", "submitted"),
    ]


async def test_a_submission_retried_changes_nothing(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    [outbox_id] = await insert(db)
    await store.claim(DAEMON, 1, 60)
    await store.record_results([submission(outbox_id, "1", "2")])
    await db.execute(
        "UPDATE dispatcher_part SET status = 'delivered' WHERE outbox_id = $1 AND part_index = 1",
        outbox_id,
    )
    await store.record_results([submission(outbox_id, "1", "2")])
    statuses = await db.fetch(
        "SELECT status FROM dispatcher_part WHERE outbox_id = $1 ORDER BY part_index", outbox_id
    )
    assert [r["status"] for r in statuses] == ["delivered", "submitted"]


async def test_finish_writes_final_statuses_with_the_provider_words(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    bad, refused = await insert(db, 2)
    await store.claim(DAEMON, 2, 60)
    changed = await store.finish(
        [
            FinalResult.rejected(bad, "destination '+7 903' has non-digit characters"),
            FinalResult(refused, MessageStatus.REJECTED, error_code="0x0000000B",
                        error_text="ESME_RINVDSTADR: invalid destination address",
                        provider="ads"),
        ]
    )
    assert changed == {bad, refused}
    row = await row_of(db, refused)
    assert (row["status"], row["error_code"], row["provider"]) == (
        "rejected", "0x0000000B", "ads"
    )
    assert row["done_at"] is not None and row["dispatcher_lease_owner"] is None
    assert (await row_of(db, bad))["error_text"] == (
        "destination '+7 903' has non-digit characters"
    )


def test_a_final_result_needs_a_final_status() -> None:
    with pytest.raises(ValueError, match="not a final status"):
        FinalResult(1, MessageStatus.SUBMITTED)


async def test_final_statuses_never_change(store: OutboxStore, db: asyncpg.Connection) -> None:
    [outbox_id] = await insert(db)
    await store.claim(DAEMON, 1, 60)
    await store.finish([FinalResult(outbox_id, MessageStatus.FAILED, error_text="first")])
    assert await store.finish([FinalResult(outbox_id, MessageStatus.DELIVERED)]) == set()
    await store.record_results([submission(outbox_id, "77")])
    assert await store.release(DAEMON, [Release(outbox_id)]) == set()
    await store.recover(own_daemon_id=DAEMON)
    row = await row_of(db, outbox_id)
    assert (row["status"], row["error_text"]) == ("failed", "first")
    assert await store.claim(DAEMON, 1, 60) == []


async def test_results_for_rows_deleted_by_the_producer_are_ignored(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    gone, kept = await insert(db, 2)
    await store.claim(DAEMON, 2, 60)
    await db.execute("DELETE FROM outbox WHERE id = $1", gone)
    await store.record_results([submission(gone, "1"), submission(kept, "2")])
    assert await status_of(db, kept) == "submitted"
    assert await db.fetchval("SELECT count(*) FROM dispatcher_part") == 1


@pytest.mark.parametrize("batch", [3, 1500])
async def test_writes_cost_the_same_statements_whatever_the_batch(
    db: asyncpg.Connection, batch: int
) -> None:
    """One statement per step for the whole batch, never one per row."""
    await db.execute(
        "INSERT INTO outbox (destination, body) "
        "SELECT '79031234567', 'm' || n FROM generate_series(1, $1::int) AS n", batch
    )
    ids = [r["id"] for r in await db.fetch("SELECT id FROM outbox ORDER BY id")]
    statements: list[str] = []

    def log_ours(record: asyncpg.connection.LoggedQuery) -> None:
        # leave out BEGIN/COMMIT and asyncpg's own type introspection
        if "outbox" in record.query or "dispatcher_" in record.query:
            statements.append(record.query)

    db.add_query_logger(log_ours)
    async with db.transaction():
        await results.record_results(db, [submission(i, str(i), f"{i}b") for i in ids], [])
    await asyncio.sleep(0)  # query loggers run as loop callbacks
    assert len(statements) == 1  # rows, their parts and early receipts in one statement
    statements.clear()
    async with db.transaction():
        report = await receipts.record_receipts(
            db, [receipt(str(i), MessageStatus.DELIVERED) for i in ids]
        )
    await asyncio.sleep(0)
    assert len(statements) == 3  # parts, lock, roll-up
    assert (report.matched, report.finalised) == (batch, 0)  # the b parts are still out
    statements.clear()
    await results.finish(db, [FinalResult(i, MessageStatus.DELIVERED) for i in ids])
    await asyncio.sleep(0)
    assert len(statements) == 1
    assert await db.fetchval(
        "SELECT count(*) FROM outbox WHERE status = 'delivered'"
    ) == batch
    assert await db.fetchval("SELECT count(*) FROM dispatcher_part") == 2 * batch

    # one-part messages with their receipts in the same batch: still one statement
    more = [r["id"] for r in await db.fetch(
        "INSERT INTO outbox (destination, body) "
        "SELECT '79031234567', 'm' || n FROM generate_series(1, $1::int) AS n RETURNING id",
        batch)]
    await asyncio.sleep(0)
    statements.clear()
    async with db.transaction():
        report = await results.record_results(
            db, [submission(i, f"one{i}") for i in more],
            [receipt(f"one{i}", MessageStatus.DELIVERED) for i in more])
    await asyncio.sleep(0)
    assert len(statements) == 1
    assert (report.matched, report.finalised) == (batch, batch)
    assert await db.fetchval(
        "SELECT count(*) FROM outbox WHERE status = 'delivered'"
    ) == 2 * batch


async def test_stats_count_by_route_and_status_with_recent_errors(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    await insert(db, 2, route="otp")
    [bad] = await insert(db, route="bulk")
    await store.claim(DAEMON, 1, 60, routes=["bulk"])
    await store.finish([FinalResult.rejected(bad, "body is empty")])
    stats = await store.stats()
    assert [(c.route, c.status, c.count) for c in stats.counts] == [
        ("bulk", MessageStatus.REJECTED, 1),
        ("otp", MessageStatus.QUEUED, 2),
    ]
    [error] = stats.recent_errors
    assert (error.outbox_id, error.status, error.error_text) == (
        bad, MessageStatus.REJECTED, "body is empty"
    )
    assert stats.pending_receipts == 0


async def test_deleting_outbox_rows_deletes_their_parts(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    gone, kept = await insert(db, 2)
    await store.claim(DAEMON, 2, 60)
    await store.record_results([submission(gone, "g1", "g2"), submission(kept, "k1")])
    await db.execute("DELETE FROM outbox WHERE id = $1", gone)
    remaining = await db.fetch("SELECT outbox_id FROM dispatcher_part")
    assert [r["outbox_id"] for r in remaining] == [kept]
