"""The store's pooled connections: handed back without asyncpg's reset round trip, and still
clean for the next use."""

from __future__ import annotations

import asyncpg
import pytest

from dispatcher.outbox.store import APPLICATION_NAME, OutboxStore
from tests.outbox.support import DAEMON, insert


async def _last_queries(db: asyncpg.Connection) -> list[str]:
    rows = await db.fetch(
        "SELECT query FROM pg_stat_activity WHERE application_name = $1", APPLICATION_NAME
    )
    return [row["query"] for row in rows]


async def test_a_store_call_is_the_last_statement_its_connection_ran(
    store: OutboxStore, db: asyncpg.Connection
) -> None:
    ids = await insert(db, 3)
    await store.claim(DAEMON, 10, 60)
    assert await store.renew(DAEMON, 60) == set(ids)
    queries = await _last_queries(db)
    # asyncpg's default reset would have run after the renewal, and be the last statement
    assert queries and all("RESET ALL" not in query for query in queries), queries
    assert any("SET dispatcher_lease_until" in query for query in queries), queries


async def test_a_transaction_that_failed_does_not_leak_into_the_next_use(
    migrated_dsn: str, db: asyncpg.Connection
) -> None:
    store = await OutboxStore.open(migrated_dsn, min_connections=1, max_connections=1)
    try:
        [outbox_id] = await insert(db)

        async def fail_half_way(connection: asyncpg.Connection) -> None:
            await connection.execute("UPDATE outbox SET priority = 9 WHERE id = $1", outbox_id)
            raise RuntimeError("a bug half way through")

        with pytest.raises(RuntimeError):
            await store._run("fail", fail_half_way, transaction=True)
        # the one connection is used again: no transaction open, the update rolled back
        assert len(await store.claim(DAEMON, 10, 60)) == 1
        assert await db.fetchval("SELECT priority FROM outbox WHERE id = $1", outbox_id) == 0
    finally:
        await store.close()
