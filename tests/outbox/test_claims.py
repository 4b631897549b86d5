"""Claims: ordering, not_before, concurrent claimers, leases, release and crash recovery."""

from __future__ import annotations

import asyncio

import asyncpg

from dispatcher.clock import ScaledClock
from dispatcher.outbox.records import InDoubtPolicy, Release
from dispatcher.outbox.store import OutboxStore
from tests.outbox.support import DAEMON, insert, row_of, status_of

LEASE = 60.0


async def test_claim_takes_highest_priority_then_oldest(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    low = await insert(db, 2, priority=0)
    high = await insert(db, 2, priority=5)
    middle = await insert(db, 1, priority=1)
    first = await store.claim(DAEMON, 3, LEASE)
    assert [m.id for m in first] == [*high, *middle]
    second = await store.claim(DAEMON, 10, LEASE)
    assert [m.id for m in second] == low
    assert await store.claim(DAEMON, 10, LEASE) == []


async def test_claim_returns_the_row_as_written_and_leases_it(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    [outbox_id] = await insert(
        db, route="bulk", source="Shop", destination="+7 903", body="text", validity=120,
        client_ref="c-1",
    )
    [message] = await store.claim(DAEMON, 1, LEASE)
    assert (message.id, message.route, message.source, message.destination, message.body,
            message.validity, message.client_ref, message.attempts) == (
        outbox_id, "bulk", "Shop", "+7 903", "text", 120, "c-1", 1
    )
    row = await row_of(db, outbox_id)
    assert row["status"] == "sending" and row["attempts"] == 1
    assert row["dispatcher_lease_owner"] == DAEMON
    lease_left = await db.fetchval(
        "SELECT extract(epoch FROM dispatcher_lease_until - now()) FROM outbox WHERE id = $1",
        outbox_id,
    )
    assert 0 < lease_left <= LEASE


async def test_not_before_is_honoured(store: OutboxStore, db: asyncpg.Connection) -> None:
    later = await insert(db, 1, priority=9)
    await db.execute("UPDATE outbox SET not_before = now() + interval '1 hour' WHERE id = $1",
                     later[0])
    due = await insert(db, 1)
    past = await insert(db, 1)
    await db.execute("UPDATE outbox SET not_before = now() - interval '1 hour' WHERE id = $1",
                     past[0])
    claimed = await store.claim(DAEMON, 10, LEASE)
    assert sorted(m.id for m in claimed) == sorted([*due, *past])
    assert await status_of(db, later[0]) == "queued"


async def test_routes_filter(store: OutboxStore, db: asyncpg.Connection) -> None:
    bulk = await insert(db, 2, route="bulk")
    await insert(db, 2, route="otp")
    claimed = await store.claim(DAEMON, 10, LEASE, routes=["bulk", "absent"])
    assert [m.id for m in claimed] == bulk


async def test_concurrent_claimers_never_share_a_row(
    migrated_dsn: str, db: asyncpg.Connection
) -> None:
    await db.execute(
        "INSERT INTO outbox (destination, body) "
        "SELECT '79031234567', 'm' || n FROM generate_series(1, 600) AS n"
    )
    stores = [await OutboxStore.open(migrated_dsn, clock=ScaledClock(0.001)) for _ in range(2)]
    try:
        async def drain(store: OutboxStore, name: str) -> list[int]:
            taken: list[int] = []
            while batch := await store.claim(name, 25, LEASE):
                taken.extend(m.id for m in batch)
                await asyncio.sleep(0)
            return taken

        a, b = await asyncio.gather(drain(stores[0], "a"), drain(stores[1], "b"))
    finally:
        for store in stores:
            await store.close()
    assert not set(a) & set(b)
    assert len(a) + len(b) == 600
    assert a and b  # both got work
    owners = await db.fetch(
        "SELECT dispatcher_lease_owner AS o, count(*) AS n FROM outbox GROUP BY 1 ORDER BY 1"
    )
    assert [(r["o"], r["n"]) for r in owners] == [("a", len(a)), ("b", len(b))]


async def test_renew_extends_only_own_leases(store: OutboxStore, db: asyncpg.Connection) -> None:
    ids = await insert(db, 3)
    mine = await store.claim(DAEMON, 2, 1.0)
    theirs = await store.claim("other", 1, 1.0)
    assert await store.renew(DAEMON, LEASE) == {m.id for m in mine}
    assert await store.renew(DAEMON, LEASE, [ids[0], theirs[0].id]) == {ids[0]}
    assert await store.renew("other", LEASE, [theirs[0].id]) == {theirs[0].id}


async def test_release_puts_rows_back_with_a_delay_and_a_reason(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    first, second = await insert(db, 2)
    await store.claim(DAEMON, 2, LEASE)
    released = await store.release(
        DAEMON,
        [
            Release(first, delay_seconds=3600, error_code="0x00000014",
                    error_text="ESME_RMSGQFUL: retry in 5 s"),
            Release(second),
        ],
    )
    assert released == {first, second}
    delayed = await row_of(db, first)
    assert delayed["status"] == "queued" and delayed["not_before"] is not None
    assert delayed["error_text"] == "ESME_RMSGQFUL: retry in 5 s"
    assert delayed["dispatcher_lease_owner"] is None
    # the undelayed one is claimable again at once; the delayed one is not
    assert [m.id for m in await store.claim(DAEMON, 10, LEASE)] == [second]


async def test_release_leaves_a_row_another_daemon_holds(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    [outbox_id] = await insert(db)
    await store.claim("other", 1, LEASE)
    assert await store.release(DAEMON, [Release(outbox_id)]) == set()
    assert await status_of(db, outbox_id) == "sending"


async def _expire_leases(db: asyncpg.Connection) -> None:
    await db.execute(
        "UPDATE outbox SET dispatcher_lease_until = now() - interval '1 second' "
        "WHERE status = 'sending'"
    )


async def test_recovery_requeues_unwritten_and_resends_in_doubt_by_default(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    clean, in_doubt, alive = await insert(db, 3)
    await store.claim(DAEMON, 2, LEASE)
    await store.claim("other", 1, LEASE)
    await store.mark_written(DAEMON, [in_doubt])
    await db.execute(
        "UPDATE outbox SET dispatcher_lease_until = now() - interval '1 second' "
        "WHERE dispatcher_lease_owner = $1", DAEMON
    )
    report = await store.recover()
    assert (report.requeued, report.requeued_in_doubt, report.marked_unknown, report.failed) == (
        1, 1, 0, 0
    )
    assert await status_of(db, clean) == "queued"
    assert await status_of(db, in_doubt) == "queued"
    assert "may arrive twice" in (await row_of(db, in_doubt))["error_text"]
    assert await status_of(db, alive) == "sending"  # its lease still runs
    claimed = await store.claim(DAEMON, 10, LEASE)
    assert {m.id: m.attempts for m in claimed} == {clean: 2, in_doubt: 2}


async def test_recovery_marks_in_doubt_unknown_under_that_policy(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    clean, in_doubt = await insert(db, 2)
    await store.claim(DAEMON, 2, LEASE)
    await store.mark_written(DAEMON, [in_doubt])
    await _expire_leases(db)
    report = await store.recover(InDoubtPolicy.UNKNOWN)
    assert (report.requeued, report.marked_unknown) == (1, 1)
    row = await row_of(db, in_doubt)
    assert row["status"] == "unknown" and row["done_at"] is not None
    assert "may or may not have reached the provider" in row["error_text"]
    assert await status_of(db, clean) == "queued"


async def test_a_lease_running_out_in_real_time_is_recovered(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    [outbox_id] = await insert(db)
    await store.claim(DAEMON, 1, 0.05)
    await asyncio.sleep(0.2)
    assert (await store.recover()).requeued == 1
    assert await status_of(db, outbox_id) == "queued"


async def test_start_up_recovers_own_rows_before_their_lease_ends(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    mine, theirs = await insert(db, 2)
    await store.claim(DAEMON, 1, LEASE)
    await store.claim("other", 1, LEASE)
    report = await store.recover(own_daemon_id=DAEMON)
    assert report.requeued == 1
    assert (await status_of(db, mine), await status_of(db, theirs)) == ("queued", "sending")


async def test_rows_out_of_attempts_fail_instead_of_looping(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    [outbox_id] = await insert(db)
    for _ in range(3):
        await store.claim(DAEMON, 1, LEASE)
        await _expire_leases(db)
        await store.recover(max_attempts=3)
    row = await row_of(db, outbox_id)
    assert (row["status"], row["attempts"]) == ("failed", 3)
    assert row["error_text"].startswith("gave up after 3 attempts")


async def test_mark_written_only_touches_own_sending_rows(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    mine, theirs = await insert(db, 2)
    await store.claim(DAEMON, 1, LEASE)
    await store.claim("other", 1, LEASE)
    await store.mark_written(DAEMON, [mine, theirs])
    written = await db.fetch(
        "SELECT id FROM outbox WHERE dispatcher_written_at IS NOT NULL ORDER BY id"
    )
    assert [r["id"] for r in written] == [mine]


async def test_a_claim_can_set_the_in_doubt_marker_itself(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    marked, plain = await insert(db, 2)
    await store.claim(DAEMON, 1, LEASE, written=True)
    await store.claim(DAEMON, 1, LEASE)
    await _expire_leases(db)
    report = await store.recover(InDoubtPolicy.UNKNOWN)
    assert (report.marked_unknown, report.requeued) == (1, 1)
    assert (await status_of(db, marked), await status_of(db, plain)) == ("unknown", "queued")
