"""Schema migrations: numbered SQL files shipped in the package, applied in order.

`migrations/NNNN_name.sql` holds schema version NNNN. `migrate()` applies the pending ones in
one transaction under a transaction-level advisory lock, so several daemons starting at once
(or `smpp-dispatcher migrate` run twice) apply each version exactly once; running it again is
a no-op. `check_schema()` is the daemon's start-up check: it refuses a database that is not
migrated, migrated only partly, or migrated by a newer smpp-dispatcher than this one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import asyncpg

VERSION_TABLE = "dispatcher_schema_version"
# pg_advisory_xact_lock key serialising migrations (an arbitrary constant: b"smppmigr")
MIGRATION_LOCK_KEY = 0x736D70706D696772
_FILE_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")

_CREATE_VERSION_TABLE = f"""
CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE {VERSION_TABLE} IS
    'Internal: the schema versions applied by smpp-dispatcher migrate.';
"""


class SchemaError(RuntimeError):
    """The database schema does not match this smpp-dispatcher."""


class SchemaTooNew(SchemaError):
    pass


class SchemaNotMigrated(SchemaError):
    pass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


@cache
def load_migrations() -> tuple[Migration, ...]:
    """The shipped migrations in version order (versions must run 1, 2, 3, ... without gaps)."""
    found: list[Migration] = []
    for entry in resources.files("dispatcher.outbox").joinpath("migrations").iterdir():
        match = _FILE_NAME.fullmatch(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise SchemaError(f"the shipped migrations are not numbered 1..N: {versions}")
    return tuple(found)


def latest_version() -> int:
    """The schema version this code needs."""
    return load_migrations()[-1].version


async def current_version(connection: asyncpg.Connection) -> int:
    """The database's schema version (0 when never migrated)."""
    exists = await connection.fetchval("SELECT to_regclass($1) IS NOT NULL", VERSION_TABLE)
    if not exists:
        return 0
    version: int = await connection.fetchval(
        f"SELECT coalesce(max(version), 0) FROM {VERSION_TABLE}"
    )
    return version


def _too_new(database_version: int, supported: int) -> SchemaTooNew:
    return SchemaTooNew(
        f"database schema version {database_version} is newer than this smpp-dispatcher "
        f"supports ({supported}); upgrade the daemon"
    )


async def migrate(connection: asyncpg.Connection) -> list[int]:
    """Apply the pending migrations; returns the versions applied (empty when up to date)."""
    migrations = load_migrations()
    supported = migrations[-1].version
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        await connection.execute(_CREATE_VERSION_TABLE)
        database_version = await current_version(connection)
        if database_version > supported:
            raise _too_new(database_version, supported)
        applied: list[int] = []
        for migration in migrations[database_version:]:
            await connection.execute(migration.sql)
            await connection.execute(
                f"INSERT INTO {VERSION_TABLE} (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
            applied.append(migration.version)
    return applied


async def check_schema(connection: asyncpg.Connection) -> int:
    """Start-up check: the schema version when it is exactly the one this code needs."""
    supported = latest_version()
    database_version = await current_version(connection)
    if database_version > supported:
        raise _too_new(database_version, supported)
    if database_version == 0:
        raise SchemaNotMigrated(
            "the database is not migrated yet; run `smpp-dispatcher migrate`"
        )
    if database_version < supported:
        raise SchemaNotMigrated(
            f"database schema version {database_version} is older than this smpp-dispatcher "
            f"needs ({supported}); run `smpp-dispatcher migrate`"
        )
    return database_version
