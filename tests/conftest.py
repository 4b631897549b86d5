"""Shared fixtures: one real PostgreSQL server per test session, a fresh database per test.

- `postgres_server`: the session's EmbeddedPostgres (started on first use; initdb runs once).
- `database_dsn`: a DSN to a new, empty database (from template0), dropped after the test.
- `migrated_dsn`: the same with the outbox migrations applied (copied from a template database
  migrated once per session, so it costs a CREATE DATABASE, not a migration run).

Do not restart or stop `postgres_server` in a test: every test shares it. A test that needs
to restart PostgreSQL starts its own EmbeddedPostgres.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import asyncpg
import pytest

from dispatcher.outbox.migrate import migrate
from dispatcher.pg.admin import create_database, drop_database
from dispatcher.pg.embedded import EmbeddedPostgres
from tests.compiled_build import MODULE_LIST, ROOT, stale_extensions

# the HTTP fixtures (serve, closing, closed_port_url, a scaled clock) for every area
pytest_plugins = ["tests.http_servers"]

T = TypeVar("T")
_database_numbers = itertools.count(1)
_MIGRATED_TEMPLATE = "smpp_dispatcher_migrated_template"


def pytest_sessionstart(session: pytest.Session) -> None:
    stale = stale_extensions(ROOT, MODULE_LIST)
    if stale:
        pytest.exit("stale compiled modules (run `make test`, which rebuilds them):\n"
                    + "\n".join(stale), returncode=2)


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, whether or not a loop is running here
    (a fixture may be set up while an async test's loop exists)."""
    outcome: dict[str, Any] = {}

    def runner() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:  # handed over to the calling thread
            outcome["error"] = error

    thread = threading.Thread(target=runner)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    result: T = outcome["value"]
    return result


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


async def _migrate_database(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await migrate(connection)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def migrated_template(postgres_server: EmbeddedPostgres) -> str:
    run_coroutine(create_database(postgres_server.dsn, _MIGRATED_TEMPLATE))
    run_coroutine(_migrate_database(postgres_server.dsn_for(_MIGRATED_TEMPLATE)))
    return _MIGRATED_TEMPLATE


def _new_database_name() -> str:
    return f"test_{os.getpid()}_{next(_database_numbers)}"


@pytest.fixture
def database_dsn(postgres_server: EmbeddedPostgres) -> Iterator[str]:
    name = _new_database_name()
    run_coroutine(create_database(postgres_server.dsn, name))
    try:
        yield postgres_server.dsn_for(name)
    finally:
        run_coroutine(drop_database(postgres_server.dsn, name))


@pytest.fixture
def migrated_dsn(postgres_server: EmbeddedPostgres, migrated_template: str) -> Iterator[str]:
    name = _new_database_name()
    run_coroutine(create_database(postgres_server.dsn, name, template=migrated_template))
    try:
        yield postgres_server.dsn_for(name)
    finally:
        run_coroutine(drop_database(postgres_server.dsn, name))
