"""Fixtures of the outbox tests: a store on a fresh migrated database, and a plain connection
to the same database for setting rows up and looking at them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from dispatcher.clock import ScaledClock
from dispatcher.outbox.store import OutboxStore


@pytest.fixture
async def store(migrated_dsn: str) -> AsyncIterator[OutboxStore]:
    opened = await OutboxStore.open(migrated_dsn, clock=ScaledClock(0.001))
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def db(migrated_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(migrated_dsn)
    try:
        yield connection
    finally:
        await connection.close()
