"""`smpp-dispatcher enqueue`: put messages into the outbox, from arguments or a CSV file.

    smpp-dispatcher enqueue --config dispatcher.toml --to 79031234567 --text "Hello"
    smpp-dispatcher enqueue --config dispatcher.toml --csv messages.csv

From arguments it prints the new row's id (one line per --to); from a CSV it prints how many
rows it added. A CSV goes in with COPY, in batches, inside ONE transaction: either every row
is enqueued or none is, so a file refused half-way (a bad cell, a client_ref already in the
outbox) can be fixed and simply given again. Every bad row of the file is listed at once.
A progress bar runs on stderr when it is a terminal.

This command only checks that values fit their columns; the daemon applies the message rules
and marks a row that breaks them `rejected` with the reason, as for any other producer.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

import asyncpg

from dispatcher.commands.csv_source import CsvFormatError, csv_records
from dispatcher.commands.outbox_access import (
    CommandError,
    add_database_arguments,
    outbox_connection,
    resolve_dsn,
)
from dispatcher.commands.outbox_rows import (
    OutboxRecord,
    RowError,
    copy_records,
    insert_returning_ids,
    make_record,
)
from dispatcher.commands.progress import LiveLine, bar

# rows per COPY: large enough that the round trips do not matter, small enough that memory
# stays flat for files of millions of rows
DEFAULT_BATCH_ROWS = 10_000
# bad rows listed before "... and N more"
LISTED_ROW_ERRORS = 20
# how often (in rows read) the progress line is offered a new state
_PROGRESS_EVERY_ROWS = 1_000
_DUPLICATE_DETAIL = re.compile(r"Key \(client_ref\)=\((?P<ref>.*)\) already exists")
_PER_MESSAGE_OPTIONS = ("text", "source", "route", "priority", "client_ref", "validity",
                        "not_before")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_database_arguments(parser)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--to", action="append", metavar="NUMBER",
                      help="destination in international format (repeat for the same text "
                           "to several numbers)")
    what.add_argument("--csv", metavar="FILE",
                      help="a CSV file whose header names outbox columns ('-' for stdin)")
    parser.add_argument("--text", help="the message body (with --to)")
    parser.add_argument("--from", dest="source", metavar="NAME",
                        help="the sender (default: the route's)")
    parser.add_argument("--route", help="the route (default: 'default')")
    parser.add_argument("--priority", metavar="N", help="higher is sent first (default 0)")
    parser.add_argument("--client-ref", metavar="X",
                        help="your own unique reference for the message")
    parser.add_argument("--validity", metavar="SECONDS",
                        help="how long the SMSC keeps trying (default: the route's)")
    parser.add_argument("--not-before", metavar="ISO",
                        help="do not send before this time (ISO 8601; no offset = local time)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_ROWS,
                        help=f"rows per COPY for --csv (default {DEFAULT_BATCH_ROWS})")


def run(args: argparse.Namespace) -> int:
    try:
        dsn = resolve_dsn(args)
        if args.csv is not None:
            _refuse_per_message_options(args)
            count = asyncio.run(enqueue_csv(dsn, args.csv, batch_rows=args.batch_size))
            print(f"enqueued {count} messages")
        else:
            for outbox_id in asyncio.run(enqueue_one_text(dsn, args)):
                print(outbox_id)
    except CommandError as error:
        print(f"enqueue: {error}", file=sys.stderr)
        return error.exit_code
    return 0


# -- from arguments ----------------------------------------------------------------------------


async def enqueue_one_text(dsn: str, args: argparse.Namespace) -> list[int]:
    """One row per --to, all with the same text; their ids in order."""
    if args.text is None:
        raise CommandError("--to needs --text", exit_code=2)
    if args.client_ref and len(args.to) > 1:
        raise CommandError("--client-ref names one message; give one --to with it", exit_code=2)
    try:
        records = [
            make_record(destination=to, body=args.text, source=args.source, route=args.route,
                        priority=args.priority, client_ref=args.client_ref,
                        validity=args.validity, not_before=args.not_before)
            for to in args.to
        ]
    except RowError as error:
        raise CommandError(str(error), exit_code=2) from None
    async with outbox_connection(dsn) as connection:
        try:
            return await insert_returning_ids(connection, records)
        except asyncpg.UniqueViolationError as error:
            raise CommandError(_duplicate_message(error) + "; nothing was enqueued") from None
        except asyncpg.PostgresError as error:
            raise CommandError(f"the database refused the message: {error}") from None


def _refuse_per_message_options(args: argparse.Namespace) -> None:
    given = [name for name in _PER_MESSAGE_OPTIONS if getattr(args, name) is not None]
    if given:
        flags = ", ".join("--" + ("from" if n == "source" else n.replace("_", "-"))
                          for n in given)
        raise CommandError(f"{flags}: with --csv, give these as columns of the file",
                           exit_code=2)


# -- from a CSV file ---------------------------------------------------------------------------


async def enqueue_csv(
    dsn: str, path: str, *, batch_rows: int = DEFAULT_BATCH_ROWS, stderr: TextIO | None = None
) -> int:
    """COPY every row of the file in one transaction; the number of rows enqueued."""
    if batch_rows < 1:
        raise CommandError("--batch-size must be at least 1", exit_code=2)
    progress = LiveLine(stderr or sys.stderr)
    with _open_text(path) as (handle, size):
        async with outbox_connection(dsn) as connection:
            try:
                async with connection.transaction():
                    count = await _copy_file(connection, handle, size, batch_rows, progress)
            except asyncpg.PostgresError as error:
                raise CommandError(f"the database refused the rows: {error}; "
                                   "nothing was enqueued") from None
            except (OSError, asyncpg.InterfaceError) as error:
                raise CommandError(f"lost the database connection before the commit was "
                                   f"confirmed: {error}") from None
            finally:
                progress.finish()
    return count


async def _copy_file(
    connection: asyncpg.Connection, handle: TextIO, size: int | None, batch_rows: int,
    progress: LiveLine,
) -> int:
    batch: list[OutboxRecord] = []
    batch_lines: list[int] = []
    errors: list[str] = []
    bad_rows = copied = read = 0
    try:
        for line, item in csv_records(handle):
            read += 1
            if read % _PROGRESS_EVERY_ROWS == 0:
                progress.show(_progress_text(read, handle, size, progress.elapsed))
            if isinstance(item, RowError):
                bad_rows += 1
                if len(errors) < LISTED_ROW_ERRORS:
                    errors.append(f"line {line}: {item}")
                continue
            if bad_rows:
                continue  # the file is refused anyway: only look for more bad rows
            batch.append(item)
            batch_lines.append(line)
            if len(batch) >= batch_rows:
                copied += await _copy_batch(connection, batch, batch_lines)
                batch, batch_lines = [], []
    except CsvFormatError as error:
        raise CommandError(f"{_display_name(handle)}: {error}; nothing was enqueued") from None
    if bad_rows:
        more = f"\n  ... and {bad_rows - len(errors)} more" if bad_rows > len(errors) else ""
        raise CommandError(
            f"{bad_rows} bad row(s) in {_display_name(handle)}; nothing was enqueued:\n  "
            + "\n  ".join(errors) + more)
    if batch:
        copied += await _copy_batch(connection, batch, batch_lines)
    progress.show(_progress_text(read, handle, size, progress.elapsed), force=True)
    return copied


async def _copy_batch(
    connection: asyncpg.Connection, batch: Sequence[OutboxRecord], lines: Sequence[int]
) -> int:
    try:
        await copy_records(connection, batch)
    except asyncpg.UniqueViolationError as error:
        message = _duplicate_message(error)
        ref = _duplicate_ref(error)
        where = next((f"line {line}: " for line, record in zip(lines, batch, strict=True)
                      if record.client_ref == ref), "")
        raise CommandError(f"{where}{message}; nothing was enqueued") from None
    return len(batch)


def _duplicate_ref(error: asyncpg.UniqueViolationError) -> str | None:
    match = _DUPLICATE_DETAIL.search(getattr(error, "detail", None) or "")
    return match["ref"] if match else None


def _duplicate_message(error: asyncpg.UniqueViolationError) -> str:
    ref = _duplicate_ref(error)
    if ref is None:
        return f"the database refused a duplicate: {error}"
    return f"client_ref {ref!r} is already in the outbox"


def _progress_text(rows: int, handle: TextIO, size: int | None, elapsed: float) -> str:
    rate = f"{rows / elapsed:,.0f} rows/s" if elapsed > 0 else ""
    if size:
        done = _bytes_read(handle) / size
        return f"enqueue {bar(done)} {done:4.0%}  {rows:,} rows  {rate}"
    return f"enqueue {rows:,} rows  {rate}"


def _bytes_read(handle: TextIO) -> int:
    # the text layer reads ahead in chunks, so the binary position is at most a chunk ahead
    buffer = getattr(handle, "buffer", None)
    try:
        return int(buffer.tell()) if buffer is not None else 0
    except (OSError, ValueError):
        return 0


def _display_name(handle: TextIO) -> str:
    name = getattr(handle, "name", None)
    return str(name) if isinstance(name, str) else "the CSV"


@contextmanager
def _open_text(path: str) -> Iterator[tuple[TextIO, int | None]]:
    """The file as UTF-8 text (BOM accepted) and its size in bytes when it is a regular file."""
    if path == "-":
        stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
        try:
            yield stdin, None
        finally:
            stdin.detach()  # leave sys.stdin open
        return
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None
    with handle:
        stat = os.fstat(handle.fileno())
        yield handle, stat.st_size if stat.st_size > 0 else None
