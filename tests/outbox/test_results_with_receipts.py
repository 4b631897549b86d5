"""Submissions and receipts written together (`record_results`): a receipt in the batch of its
part goes in with the part, and every row ends exactly as if the two had come in separate
batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from dispatcher.outbox.records import ReceiptRecord, Submission
from dispatcher.outbox.store import OutboxStore
from dispatcher.status import MessageStatus
from tests.outbox.support import DAEMON, insert, receipt, row_of, submission

DELIVERED = MessageStatus.DELIVERED
UNDELIVERABLE = MessageStatus.UNDELIVERABLE
T0 = datetime(2030, 1, 1, tzinfo=UTC)

# (part ids of one message, its receipts as (part id, status, state, error code, text, seconds))
Receipt = tuple[str, MessageStatus, str | None, str | None, str | None, int]
SCENARIOS: list[tuple[tuple[str, ...], list[Receipt]]] = [
    (("a",), [("a", DELIVERED, "DELIVRD", "000", "id:a stat:DELIVRD", 0)]),
    (("b",), [("b", UNDELIVERABLE, "UNDELIV", "011", "id:b stat:UNDELIV err:011", 0)]),
    (("c",), [("c", MessageStatus.EXPIRED, "EXPIRED", "004", None, 0)]),  # no text
    (("d",), [("d", MessageStatus.REJECTED, None, None, None, 0)]),  # no text, no state
    (("e",), [("e", MessageStatus.SUBMITTED, "ENROUTE", None, None, 0)]),  # not final
    (("f",), []),  # no receipt yet
    (("g1", "g2"), [("g1", DELIVERED, "DELIVRD", None, None, 0),
                    ("g2", DELIVERED, "DELIVRD", None, None, 1)]),
    (("h1", "h2", "h3"), [("h2", UNDELIVERABLE, "UNDELIV", "011", "h2 failed", 0),
                          ("h1", DELIVERED, "DELIVRD", None, None, 1)]),
    (("i1", "i2"), [("i1", DELIVERED, "DELIVRD", None, None, 0)]),  # one part still out
    # two receipts for one part: not folded, the first final one wins
    (("j",), [("j", MessageStatus.SUBMITTED, "ENROUTE", None, None, 0),
              ("j", UNDELIVERABLE, "UNDELIV", "011", "later", 2),
              ("j", DELIVERED, "DELIVRD", None, "earlier", 1)]),
]


def batch_of(
    prefix: str, ids: list[int]
) -> tuple[list[Submission], list[ReceiptRecord]]:
    submissions: list[Submission] = []
    receipts: list[ReceiptRecord] = []
    for outbox_id, (part_ids, scenario_receipts) in zip(ids, SCENARIOS, strict=True):
        submissions.append(submission(outbox_id, *(prefix + part for part in part_ids)))
        receipts.extend(
            receipt(prefix + part, status, state=state, error_code=code, text=text,
                    at=T0 + timedelta(seconds=seconds))
            for part, status, state, code, text, seconds in scenario_receipts
        )
    return submissions, receipts


async def outcomes(db: asyncpg.Connection, ids: list[int]) -> list[tuple[object, ...]]:
    """What a producer and the receipt correlation see of these rows, ids and times left out
    (parts by position)."""
    seen: list[tuple[object, ...]] = []
    for outbox_id in ids:
        row = await row_of(db, outbox_id)
        parts = await db.fetch(
            "SELECT part_index, status, receipt_state, receipt_error, receipt_text, receipt_at "
            "FROM dispatcher_part WHERE outbox_id = $1 ORDER BY part_index", outbox_id)
        seen.append((
            row["status"], row["error_code"], row["error_text"], row["parts"], row["provider"],
            row["submitted_at"] is not None, row["done_at"] is not None,
            row["dispatcher_lease_owner"], [tuple(part) for part in parts],
        ))
    return seen


async def test_a_batch_with_its_receipts_ends_as_two_batches_would(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    together = await insert(db, len(SCENARIOS))
    apart = await insert(db, len(SCENARIOS))
    await store.claim(DAEMON, 2 * len(SCENARIOS), 60)

    report = await store.record_results(*batch_of("t-", together))
    submissions, receipts = batch_of("a-", apart)
    await store.record_results(submissions)
    separate = await store.record_results([], receipts)

    assert await outcomes(db, together) == await outcomes(db, apart)
    assert (report.matched, report.pending, report.finalised) == (
        separate.matched, separate.pending, separate.finalised)
    statuses = [row[0] for row in await outcomes(db, together)]
    assert statuses == ["delivered", "undeliverable", "expired", "rejected", "submitted",
                        "submitted", "delivered", "undeliverable", "submitted", "delivered"]


async def test_a_message_of_one_part_skips_submitted_and_its_receipt_is_kept(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    [outbox_id] = await insert(db)
    await store.claim(DAEMON, 1, 60)
    report = await store.record_results(
        [submission(outbox_id, "x1")],
        [receipt("x1", UNDELIVERABLE, state="UNDELIV", error_code="011", text="stat:UNDELIV")],
    )
    assert (report.matched, report.pending, report.finalised) == (1, 0, 1)
    row = await row_of(db, outbox_id)
    assert (row["status"], row["error_code"], row["error_text"]) == (
        "undeliverable", "011", "stat:UNDELIV")
    assert row["submitted_at"] is not None and row["done_at"] is not None
    part = await db.fetchrow("SELECT * FROM dispatcher_part WHERE outbox_id = $1", outbox_id)
    assert (part["message_id"], part["status"], part["receipt_state"]) == (
        "x1", "undeliverable", "UNDELIV")


async def test_a_receipt_goes_to_the_newest_part_with_its_id(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    """An id the provider gave out before (to another message) and again in this batch: the
    receipt is the new part's."""
    old, new = await insert(db, 2)
    await store.claim(DAEMON, 2, 60)
    await store.record_results([submission(old, "r1", "other")])
    await store.record_results([submission(new, "r1")], [receipt("r1", DELIVERED)])
    assert [row[0] for row in await outcomes(db, [old, new])] == ["submitted", "delivered"]
    old_part = await db.fetchval(
        "SELECT status FROM dispatcher_part WHERE outbox_id = $1 AND part_index = 1", old)
    assert old_part == "submitted"


async def test_an_id_given_to_two_parts_in_one_batch_is_not_folded(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    first, second = await insert(db, 2)
    await store.claim(DAEMON, 2, 60)
    report = await store.record_results(
        [submission(first, "dup"), submission(second, "dup")], [receipt("dup", DELIVERED)])
    # matched as a receipt written after the batch is: the newest part, the higher id on a tie
    assert report.matched == 1
    assert [row[0] for row in await outcomes(db, [first, second])] == [
        "submitted", "delivered"]


async def test_a_receipt_for_a_part_of_a_later_batch_waits_and_is_applied_with_it(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    [outbox_id] = await insert(db)
    await store.claim(DAEMON, 1, 60)
    report = await store.record_results([], [receipt("late", DELIVERED)])
    assert (report.matched, report.pending) == (0, 1)
    report = await store.record_results([submission(outbox_id, "late")], [])
    assert report.finalised == 1
    assert [row[0] for row in await outcomes(db, [outbox_id])] == ["delivered"]


EARLY_AND_LATER: list[tuple[tuple[str, ...], list[Receipt], list[Receipt], str]] = [
    # (part ids, receipts that came before the parts, receipts in the parts' batch, status)
    (("p",), [("p", UNDELIVERABLE, "UNDELIV", "011", None, 0)],
     [("p", DELIVERED, "DELIVRD", None, None, 1)], "undeliverable"),
    (("p",), [("p", MessageStatus.SUBMITTED, "ENROUTE", None, None, 0)],
     [("p", DELIVERED, "DELIVRD", None, None, 1)], "delivered"),
    (("p1", "p2"), [("p1", DELIVERED, "DELIVRD", None, None, 0)],
     [("p2", DELIVERED, "DELIVRD", None, None, 1)], "delivered"),
    (("p1", "p2"), [("p2", MessageStatus.EXPIRED, "EXPIRED", None, None, 0)], [], "expired"),
]


@pytest.mark.parametrize(("part_ids", "early", "later", "status"), EARLY_AND_LATER)
async def test_receipts_that_waited_for_their_parts_end_as_in_separate_batches(
    store: OutboxStore, db: asyncpg.Connection, part_ids: tuple[str, ...],
    early: list[Receipt], later: list[Receipt], status: str,
) -> None:
    """A receipt kept in the pending table and one in the batch of its part: the first final
    one wins, as when the part and the later receipt are written one after the other."""
    together, apart = await insert(db, 2)
    await store.claim(DAEMON, 2, 60)

    def receipts_of(prefix: str, spec: list[Receipt]) -> list[ReceiptRecord]:
        return [receipt(prefix + part, part_status, state=state, error_code=code, text=text,
                        at=T0 + timedelta(seconds=seconds))
                for part, part_status, state, code, text, seconds in spec]

    waiting = await store.record_results([], receipts_of("t-", early) + receipts_of("a-", early))
    assert waiting.pending == 2 * len(early)
    await store.record_results([submission(together, *("t-" + p for p in part_ids))],
                               receipts_of("t-", later))
    await store.record_results([submission(apart, *("a-" + p for p in part_ids))])
    await store.record_results([], receipts_of("a-", later))

    assert await outcomes(db, [together]) == await outcomes(db, [apart])
    assert (await outcomes(db, [together]))[0][0] == status
    assert await db.fetchval("SELECT count(*) FROM dispatcher_pending_receipt") == 0
