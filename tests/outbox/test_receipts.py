"""Receipt correlation: matching, early receipts, multipart roll-up, finality, expiry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg

from dispatcher.clock import ScaledClock
from dispatcher.outbox import receipts
from dispatcher.outbox.receipt_states import status_for_state
from dispatcher.outbox.records import PartOutcome
from dispatcher.outbox.store import OutboxStore
from dispatcher.status import MessageStatus
from pdu.message_id import normalize_message_id
from tests.outbox.support import DAEMON, insert, receipt, row_of, status_of, submission

DELIVERED = MessageStatus.DELIVERED
T0 = datetime(2030, 1, 1, tzinfo=UTC)


async def submitted(store: OutboxStore, db: asyncpg.Connection, *message_ids: str) -> int:
    [outbox_id] = await insert(db)
    await store.claim(DAEMON, 1, 60)
    await store.record_results([submission(outbox_id, *message_ids)])
    return outbox_id


async def test_a_receipt_finalises_its_message(store: OutboxStore, db: asyncpg.Connection) -> None:
    outbox_id = await submitted(store, db, "1001")
    report = await store.record_results(
        [],
        [receipt("1001", DELIVERED, state="DELIVRD", text="id:1001 stat:DELIVRD")]
    )
    assert (report.matched, report.pending, report.finalised) == (1, 0, 1)
    row = await row_of(db, outbox_id)
    assert row["status"] == "delivered" and row["done_at"] is not None
    part = await db.fetchrow("SELECT * FROM dispatcher_part WHERE outbox_id = $1", outbox_id)
    assert (part["status"], part["receipt_state"], part["receipt_text"]) == (
        "delivered", "DELIVRD", "id:1001 stat:DELIVRD"
    )


async def test_one_part_messages_take_their_receipts_outcome_in_one_batch(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    """Messages of one part are finished by the receipts' own statement, beside a multipart
    message rolled up the usual way: every outcome, code and text as the roll-up gives it."""
    delivered = await submitted(store, db, "s1")
    failed = await submitted(store, db, "s2")
    no_text = await submitted(store, db, "s3")
    waiting = await submitted(store, db, "s4")
    multipart = await submitted(store, db, "m1", "m2")
    report = await store.record_results([], [
        receipt("s1", DELIVERED, state="DELIVRD", text="id:s1 stat:DELIVRD"),
        receipt("s2", MessageStatus.UNDELIVERABLE, state="UNDELIV", error_code="011",
                text="id:s2 stat:UNDELIV err:011"),
        receipt("s3", MessageStatus.EXPIRED, state="EXPIRED", error_code="004"),
        receipt("s4", MessageStatus.SUBMITTED, state="ENROUTE"),
        receipt("m1", DELIVERED), receipt("m2", DELIVERED),
    ])
    assert (report.matched, report.pending, report.finalised) == (6, 0, 4)
    outcomes = {}
    for outbox_id in (delivered, failed, no_text, waiting, multipart):
        row = await row_of(db, outbox_id)
        outcomes[outbox_id] = (row["status"], row["error_code"], row["error_text"])
    assert outcomes == {
        delivered: ("delivered", None, None),
        failed: ("undeliverable", "011", "id:s2 stat:UNDELIV err:011"),
        no_text: ("expired", "004", "EXPIRED"),
        waiting: ("submitted", None, None),
        multipart: ("delivered", None, None),
    }
    # a second receipt for a finished one-part message is kept on its part only
    report = await store.record_results([], [receipt("s1", MessageStatus.UNDELIVERABLE)])
    assert report.finalised == 0
    assert await status_of(db, delivered) == "delivered"


async def test_ids_written_in_other_bases_meet_once_normalised(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    # the SMSC answers submit_sm in hex and writes the receipt id in decimal
    resp_id = normalize_message_id("0000B8BE19", "hex")
    outbox_id = await submitted(store, db, resp_id)
    decimal_id = normalize_message_id("12107289", "decimal")
    await store.record_results([], [receipt(decimal_id, DELIVERED)])
    assert await status_of(db, outbox_id) == "delivered"


async def test_receipts_are_matched_per_account(store: OutboxStore, db: asyncpg.Connection) -> None:
    outbox_id = await submitted(store, db, "55")
    report = await store.record_results([], [receipt("55", DELIVERED, account="other")])
    assert (report.matched, report.pending) == (0, 1)
    assert await status_of(db, outbox_id) == "submitted"


async def test_an_early_receipt_waits_for_its_part(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    [outbox_id] = await insert(db)
    await store.claim(DAEMON, 1, 60)
    report = await store.record_results(
        [],
        [receipt("9", MessageStatus.UNDELIVERABLE, state="UNDELIV", error_code="011",
                 text="id:9 stat:UNDELIV err:011")]
    )
    assert (report.matched, report.pending) == (0, 1)
    assert await status_of(db, outbox_id) == "sending"
    # the submit_sm_resp is recorded: the waiting receipt applies in the same transaction
    assert (await store.record_results([submission(outbox_id, "9")])).finalised == 1
    row = await row_of(db, outbox_id)
    assert (row["status"], row["error_code"], row["error_text"]) == (
        "undeliverable", "011", "id:9 stat:UNDELIV err:011"
    )
    assert await db.fetchval("SELECT count(*) FROM dispatcher_pending_receipt") == 0


async def test_an_early_receipt_survives_a_restart(
    migrated_dsn: str, db: asyncpg.Connection
) -> None:
    [outbox_id] = await insert(db)
    first = await OutboxStore.open(migrated_dsn, clock=ScaledClock(0.001))
    await first.claim(DAEMON, 1, 60)
    await first.record_results([], [receipt("abc", DELIVERED)])
    await first.close()

    second = await OutboxStore.open(migrated_dsn, clock=ScaledClock(0.001))
    try:
        await second.record_results([submission(outbox_id, "abc")])
    finally:
        await second.close()
    assert await status_of(db, outbox_id) == "delivered"


async def test_the_sweep_matches_receipts_whose_part_appeared_meanwhile(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    """A receipt and its part recorded by transactions that could not see each other."""
    outbox_id = await submitted(store, db, "s1")
    await db.execute(
        "INSERT INTO dispatcher_pending_receipt (account, message_id, status, received_at) "
        "VALUES ('ads', 's1', 'delivered', now())"
    )
    assert await store.match_pending_receipts() == (1, 1)
    assert await status_of(db, outbox_id) == "delivered"
    assert await store.match_pending_receipts() == (0, 0)


async def test_multipart_is_delivered_only_when_every_part_is(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    outbox_id = await submitted(store, db, "p1", "p2", "p3")
    await store.record_results([], [receipt("p1", DELIVERED), receipt("p3", DELIVERED)])
    assert await status_of(db, outbox_id) == "submitted"
    await store.record_results([], [receipt("p2", MessageStatus.SUBMITTED, state="ENROUTE")])
    assert await status_of(db, outbox_id) == "submitted"
    report = await store.record_results([], [receipt("p2", DELIVERED)])
    assert report.finalised == 1
    assert await status_of(db, outbox_id) == "delivered"


async def test_multipart_takes_the_failure_of_the_first_failing_part(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    outbox_id = await submitted(store, db, "q1", "q2", "q3")
    await store.record_results(
        [],
        [
            receipt("q3", MessageStatus.EXPIRED, at=T0 + timedelta(seconds=2), state="EXPIRED",
                    error_code="002"),
            receipt("q2", MessageStatus.UNDELIVERABLE, at=T0 + timedelta(seconds=1),
                    state="UNDELIV", error_code="001"),
            receipt("q1", DELIVERED, at=T0),
        ]
    )
    row = await row_of(db, outbox_id)
    assert (row["status"], row["error_code"], row["error_text"]) == (
        "undeliverable", "001", "part 2 of 3: UNDELIV"
    )


async def test_a_final_message_never_changes_but_its_part_keeps_the_receipt(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    outbox_id = await submitted(store, db, "r1", "r2")
    await store.record_results([], [receipt("r1", MessageStatus.REJECTED, state="REJECTD")])
    assert await status_of(db, outbox_id) == "rejected"
    report = await store.record_results([], [receipt("r2", DELIVERED, state="DELIVRD")])
    assert (report.matched, report.finalised) == (1, 0)
    assert await status_of(db, outbox_id) == "rejected"
    part = await db.fetchrow(
        "SELECT status, receipt_state FROM dispatcher_part WHERE outbox_id = $1 "
        "AND part_index = 2", outbox_id
    )
    assert tuple(part) == ("delivered", "DELIVRD")


async def test_a_final_part_keeps_its_first_outcome(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    outbox_id = await submitted(store, db, "d1", "d2")
    await store.record_results(
        [],
        [receipt("d1", DELIVERED, at=T0), receipt("d1", MessageStatus.UNDELIVERABLE,
                                                  at=T0 + timedelta(seconds=1))]
    )
    await store.record_results([], [receipt("d1", MessageStatus.EXPIRED)])
    assert await db.fetchval(
        "SELECT status FROM dispatcher_part WHERE outbox_id = $1 AND part_index = 1", outbox_id
    ) == "delivered"
    assert await status_of(db, outbox_id) == "submitted"


async def test_two_daemons_receiving_the_last_two_parts_at_once(
    store: OutboxStore, db: asyncpg.Connection, migrated_dsn: str
) -> None:
    """Each transaction sees only its own part delivered unless the roll-ups are serialised:
    daemon B records part 2 while daemon A's transaction with part 1 is still open."""
    outbox_id = await submitted(store, db, "m1", "m2")
    daemon_a = await asyncpg.connect(migrated_dsn)
    daemon_b = await asyncpg.connect(migrated_dsn)
    try:
        transaction_a = daemon_a.transaction()
        await transaction_a.start()
        await receipts.record_receipts(daemon_a, [receipt("m1", DELIVERED)])

        async def daemon_b_records() -> None:
            async with daemon_b.transaction():
                await receipts.record_receipts(daemon_b, [receipt("m2", DELIVERED)])

        b_done = asyncio.create_task(daemon_b_records())
        await asyncio.sleep(0.2)  # B runs as far as it can while A is open
        await transaction_a.commit()
        await b_done
    finally:
        await daemon_a.close()
        await daemon_b.close()
    assert await status_of(db, outbox_id) == "delivered"


async def test_status_query_answers_apply_like_receipts(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    outbox_id = await submitted(store, db, "x")
    finalised = await store.record_part_outcomes(
        [PartOutcome(outbox_id, 1, MessageStatus.EXPIRED, at=T0, state="EXPIRED")]
    )
    assert finalised == 1
    assert await status_of(db, outbox_id) == "expired"


async def test_stale_pending_receipts_are_dropped_and_counted(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    await store.record_results([], [receipt("old", DELIVERED), receipt("new", DELIVERED)])
    await db.execute(
        "UPDATE dispatcher_pending_receipt SET recorded_at = now() - interval '2 hours' "
        "WHERE message_id = 'old'"
    )
    assert await store.drop_stale_pending_receipts(3600) == 1
    remaining = await db.fetch("SELECT message_id FROM dispatcher_pending_receipt")
    assert [r["message_id"] for r in remaining] == ["new"]
    assert (await store.stats()).pending_receipts == 1


def test_receipt_states_map_to_part_statuses() -> None:
    assert status_for_state("DELIVRD") is MessageStatus.DELIVERED
    assert status_for_state("undeliv") is MessageStatus.UNDELIVERABLE
    assert status_for_state("DELETED") is MessageStatus.UNDELIVERABLE
    assert status_for_state("EXPIRED") is MessageStatus.EXPIRED
    assert status_for_state("REJECTD") is MessageStatus.REJECTED
    assert status_for_state("UNKNOWN") is MessageStatus.UNKNOWN
    for progress in ("ENROUTE", "ACCEPTD", "SCHEDULED", "WHATEVER", None):
        assert status_for_state(progress) is MessageStatus.SUBMITTED
