"""The daemon end to end: rows in, PDUs on the wire, receipts back, final statuses."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from dispatcher.smsc_sim import SmscSimulator
from tests.daemon.conftest import daemon_config, wait_all_final


async def test_rows_become_delivered_with_receipts(
    migrated_dsn: str, db: asyncpg.Connection, simulator: SmscSimulator, start_daemon: Any
) -> None:
    bodies = ["Hello", "Привет, мир", "long " * 60, "emoji 😀 " * 20, "{€} escapes"]
    await db.executemany(
        "INSERT INTO outbox (destination, body) VALUES ($1, $2)",
        [(f"7903123{i:04d}", body) for i, body in enumerate(bodies)],
    )
    await start_daemon(daemon_config(migrated_dsn, simulator.port))
    await wait_all_final(db, len(bodies))
    rows = await db.fetch("SELECT destination, body, status, provider FROM outbox ORDER BY id")
    assert [r["status"] for r in rows] == ["delivered"] * len(bodies)
    assert {r["provider"] for r in rows} == {"smpp:main"}
    seen = {(m.destination, m.text): m.times_seen for m in simulator.recording.messages}
    for row in rows:
        assert seen[(row["destination"], row["body"])] == 1
    assert not simulator.recording.violations


async def test_an_idle_daemon_sends_a_new_row_at_once(
    migrated_dsn: str, db: asyncpg.Connection, simulator: SmscSimulator, start_daemon: Any
) -> None:
    await start_daemon(daemon_config(migrated_dsn, simulator.port))
    await asyncio.sleep(0.2)
    await db.execute("INSERT INTO outbox (destination, body) VALUES ('79031234567', 'ping')")
    await wait_all_final(db, 1, timeout=10)
    assert await db.fetchval("SELECT status FROM outbox") == "delivered"


async def test_bad_rows_are_rejected_with_a_reason(
    migrated_dsn: str, db: asyncpg.Connection, simulator: SmscSimulator, start_daemon: Any
) -> None:
    await db.executemany(
        "INSERT INTO outbox (route, destination, body, validity) VALUES ($1, $2, $3, $4)",
        [
            ("default", "+7 903 123", "spaces", None),
            ("default", "79031234567", "", None),
            ("default", "79031234567", "short validity", 30),
            ("nowhere", "79031234567", "unknown route", None),
            ("default", "79031234568", "good", None),
        ],
    )
    await start_daemon(daemon_config(migrated_dsn, simulator.port))
    await wait_all_final(db, 5)
    rows = await db.fetch("SELECT body, status, error_text FROM outbox ORDER BY id")
    by_body = {r["body"]: (r["status"], r["error_text"]) for r in rows}
    assert by_body["good"][0] == "delivered"
    for body in ("spaces", "", "short validity", "unknown route"):
        status, error = by_body[body]
        assert status == "rejected" and error, body
    assert "nowhere" in by_body["unknown route"][1]
