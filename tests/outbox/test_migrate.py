"""Migrations: idempotent, concurrent-safe, refusing newer databases; the schema's contract."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from dispatcher.cli import main
from dispatcher.outbox.migrate import (
    VERSION_TABLE,
    SchemaNotMigrated,
    SchemaTooNew,
    check_schema,
    latest_version,
    migrate,
)
from dispatcher.outbox.notify import NOTIFY_CHANNEL
from dispatcher.status import MessageStatus
from tests.outbox.support import insert


async def test_migrate_applies_once_and_is_idempotent(database_dsn: str) -> None:
    connection = await asyncpg.connect(database_dsn)
    try:
        with pytest.raises(SchemaNotMigrated, match="not migrated yet"):
            await check_schema(connection)
        assert await migrate(connection) == list(range(1, latest_version() + 1))
        assert await migrate(connection) == []
        assert await check_schema(connection) == latest_version()
        versions = await connection.fetch(f"SELECT version FROM {VERSION_TABLE}")
        assert [row["version"] for row in versions] == list(range(1, latest_version() + 1))
    finally:
        await connection.close()


async def test_daemons_migrating_at_once_apply_each_version_once(database_dsn: str) -> None:
    connections = [await asyncpg.connect(database_dsn) for _ in range(3)]
    try:
        applied = await asyncio.gather(*(migrate(c) for c in connections))
        assert sorted(applied, key=len) == [[], [], list(range(1, latest_version() + 1))]
    finally:
        for connection in connections:
            await connection.close()


async def test_a_newer_database_is_refused(migrated_dsn: str) -> None:
    connection = await asyncpg.connect(migrated_dsn)
    try:
        newer = latest_version() + 1
        await connection.execute(
            f"INSERT INTO {VERSION_TABLE} (version, name) VALUES ($1, 'future')", newer
        )
        expected = (
            f"database schema version {newer} is newer than this smpp-dispatcher supports "
            rf"\({latest_version()}\); upgrade the daemon"
        )
        with pytest.raises(SchemaTooNew, match=expected):
            await check_schema(connection)
        with pytest.raises(SchemaTooNew, match=expected):
            await migrate(connection)
    finally:
        await connection.close()


def test_cli_migrates_then_checks(database_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--dsn", database_dsn, "--check"]) == 1
    assert "not migrated yet" in capsys.readouterr().err
    assert main(["migrate", "--dsn", database_dsn]) == 0
    assert "applied migration(s) 1" in capsys.readouterr().out
    assert main(["migrate", "--dsn", database_dsn]) == 0
    assert "nothing to apply" in capsys.readouterr().out
    assert main(["migrate", "--dsn", database_dsn, "--check"]) == 0


def test_cli_reports_an_unreachable_database_without_the_dsn(
    capsys: pytest.CaptureFixture[str],
) -> None:
    dsn = "postgresql://someone:s3cret-pw@127.0.0.1:1/nowhere"
    assert main(["migrate", "--dsn", dsn]) == 1
    err = capsys.readouterr().err
    assert "cannot use the database" in err
    assert "s3cret-pw" not in err


async def test_status_check_lists_exactly_the_message_statuses(db: asyncpg.Connection) -> None:
    for status in MessageStatus:
        await insert(db, status=status.value)
    with pytest.raises(asyncpg.CheckViolationError):
        await insert(db, status="in_flight")


async def test_client_ref_is_unique_when_given(db: asyncpg.Connection) -> None:
    await insert(db, client_ref="order-1")
    await insert(db, 2)  # NULL client_ref any number of times
    with pytest.raises(asyncpg.UniqueViolationError):
        await insert(db, client_ref="order-1")


async def test_defaults_of_a_minimal_insert(db: asyncpg.Connection) -> None:
    row = await db.fetchrow(
        "INSERT INTO outbox (destination, body) VALUES ('79031234567', 'hi') RETURNING *"
    )
    assert (row["route"], row["channel"], row["status"], row["priority"], row["attempts"]) == (
        "default", "sms", "queued", 0, 0
    )
    assert row["id"] >= 1 and row["created_at"] is not None and row["status_at"] is not None


async def test_every_outbox_column_is_documented(db: asyncpg.Connection) -> None:
    undocumented = await db.fetch(
        """
        SELECT a.attname FROM pg_attribute a
        WHERE a.attrelid = 'outbox'::regclass AND a.attnum > 0 AND NOT a.attisdropped
          AND col_description(a.attrelid, a.attnum) IS NULL
        """
    )
    assert [row["attname"] for row in undocumented] == []


async def test_insert_notifies_the_channel_the_waiter_listens_on(
    db: asyncpg.Connection, migrated_dsn: str
) -> None:
    received: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(migrated_dsn)
    try:
        await listener.add_listener(NOTIFY_CHANNEL, lambda *args: received.put_nowait(args[2]))
        await insert(db)
        assert await asyncio.wait_for(received.get(), 10) == NOTIFY_CHANNEL
    finally:
        await listener.close()
