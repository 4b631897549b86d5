"""Which database an operator's command talks to, and a checked connection to it.

`enqueue` and `status` take the database from `--config FILE` (its `[database] dsn`, with the
same environment overrides and secret files as the daemon), from `--dsn`, or from the
environment variable the daemon's configuration uses. The DSN never appears in a message: it
may carry a password.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from dispatcher.config import ConfigError, load_config
from dispatcher.outbox.migrate import SchemaError, check_schema
from dispatcher.outbox.migrate_cli import DSN_ENVIRONMENT_VARIABLE

# an operator's command should fail fast when the database is not there; the daemon retries,
# a person at a terminal would rather read the reason
CONNECT_TIMEOUT_SECONDS = 10.0


class CommandError(Exception):
    """A problem to print as one line (no traceback); `exit_code` is what the command returns."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--config", help="the daemon's TOML configuration file (its [database])")
    where.add_argument(
        "--dsn", help=f"PostgreSQL DSN instead of --config (default: ${DSN_ENVIRONMENT_VARIABLE})"
    )


def resolve_dsn(args: argparse.Namespace) -> str:
    """The DSN from --config, --dsn or the environment; CommandError when there is none."""
    if args.config:
        try:
            return load_config(args.config).database.dsn.get_secret_value()
        except ConfigError as exc:
            raise CommandError(f"{args.config}: {exc}") from None
    dsn: str | None = args.dsn or os.environ.get(DSN_ENVIRONMENT_VARIABLE)
    if not dsn:
        raise CommandError(
            f"no database: give --config FILE or --dsn DSN (or set ${DSN_ENVIRONMENT_VARIABLE})",
            exit_code=2,
        )
    return dsn


@asynccontextmanager
async def outbox_connection(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a database whose schema is the one this version needs."""
    try:
        connection = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_SECONDS)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise CommandError(f"cannot connect to the database: {_reason(exc)}") from None
    try:
        try:
            await check_schema(connection)
        except SchemaError as exc:
            raise CommandError(str(exc)) from None
        yield connection
    finally:
        await connection.close()


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
