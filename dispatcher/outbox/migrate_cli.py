"""`smpp-dispatcher migrate`: apply the database migrations (or, with --check, only verify)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import asyncpg

from dispatcher.outbox.migrate import SchemaError, check_schema, migrate

# the same variable that overrides [database] dsn in the configuration file
DSN_ENVIRONMENT_VARIABLE = "SMPP_DISPATCHER__DATABASE__DSN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dsn",
        default=os.environ.get(DSN_ENVIRONMENT_VARIABLE),
        help=f"PostgreSQL DSN (default: ${DSN_ENVIRONMENT_VARIABLE})",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 unless the schema is exactly the one this version needs",
    )


def run(args: argparse.Namespace) -> int:
    if not args.dsn:
        print(f"migrate: no database: give --dsn or set ${DSN_ENVIRONMENT_VARIABLE}",
              file=sys.stderr)
        return 2
    try:
        message = asyncio.run(_run(args.dsn, check_only=args.check))
    except SchemaError as error:
        print(f"migrate: {error}", file=sys.stderr)
        return 1
    except (OSError, asyncpg.PostgresError) as error:
        # the DSN is left out on purpose: it may carry a password
        print(f"migrate: cannot use the database: {error}", file=sys.stderr)
        return 1
    print(message)
    return 0


async def _run(dsn: str, *, check_only: bool) -> str:
    connection = await asyncpg.connect(dsn)
    try:
        if check_only:
            version = await check_schema(connection)
            return f"database schema version {version} is current"
        applied = await migrate(connection)
        version = await check_schema(connection)
    finally:
        await connection.close()
    if not applied:
        return f"database schema version {version} is current; nothing to apply"
    return f"applied migration(s) {', '.join(map(str, applied))}; schema version is {version}"
