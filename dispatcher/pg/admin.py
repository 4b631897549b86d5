"""Creating and dropping whole databases (test fixtures, `make demo`)."""

from __future__ import annotations

import re

import asyncpg

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _quoted(name: str) -> str:
    # database names come from our own code, but they end up in DDL that cannot take
    # parameters, so anything but a plain lower-case identifier is refused outright
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a plain database name: {name!r}")
    return f'"{name}"'


async def create_database(admin_dsn: str, name: str, *, template: str = "template0") -> None:
    """CREATE DATABASE name from a template (template0: empty; or a prepared database)."""
    connection = await asyncpg.connect(admin_dsn)
    try:
        # PostgreSQL 15 copies a template through the WAL by default, which takes ~8 times
        # longer than copying its files for the small databases of tests and demos
        strategy = " STRATEGY FILE_COPY" if connection.get_server_version().major >= 15 else ""
        await connection.execute(
            f"CREATE DATABASE {_quoted(name)} TEMPLATE {_quoted(template)}{strategy}"
        )
    finally:
        await connection.close()


async def drop_database(admin_dsn: str, name: str) -> None:
    """DROP DATABASE, disconnecting whoever is still connected to it."""
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)")
    finally:
        await connection.close()
