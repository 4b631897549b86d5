"""`smpp-dispatcher status`: what the outbox holds, read from the database only.

    smpp-dispatcher status --config dispatcher.toml [--errors 10] [--json]

Prints the messages counted by route and status, the receipts still waiting for their message
(a receipt that came before its submit_sm_resp was recorded, or for an id nobody knows), and
the latest errors. The counts scan the whole table: an operator's command, not a probe to run
every second (the daemon's /metrics carries the same counts, refreshed periodically).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any

from dispatcher.commands.outbox_access import (
    CommandError,
    add_database_arguments,
    outbox_connection,
    resolve_dsn,
)
from dispatcher.commands.text_table import text_table
from dispatcher.outbox.records import OutboxStats
from dispatcher.outbox.stats import read_stats
from dispatcher.status import MessageStatus

DEFAULT_ERRORS_SHOWN = 10
# an error text longer than this is cut in the table (--json keeps it whole)
_ERROR_TEXT_WIDTH = 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_database_arguments(parser)
    parser.add_argument("--errors", type=int, default=DEFAULT_ERRORS_SHOWN, metavar="N",
                        help=f"how many of the latest errors to show (default "
                             f"{DEFAULT_ERRORS_SHOWN})")
    parser.add_argument("--json", action="store_true", help="one JSON document, for machines")


def run(args: argparse.Namespace) -> int:
    try:
        if args.errors < 0:
            raise CommandError("--errors must not be negative", exit_code=2)
        stats = asyncio.run(fetch_stats(resolve_dsn(args), args.errors))
    except CommandError as error:
        print(f"status: {error}", file=sys.stderr)
        return error.exit_code
    if args.json:
        print(json.dumps(stats_document(stats), indent=2, ensure_ascii=False))
    else:
        print(render_text(stats))
    return 0


async def fetch_stats(dsn: str, recent_errors: int) -> OutboxStats:
    async with outbox_connection(dsn) as connection:
        return await read_stats(connection, recent_errors)


def stats_document(stats: OutboxStats) -> dict[str, Any]:
    """The --json form: every status appears in `totals`, also at zero."""
    totals = dict.fromkeys((status.value for status in MessageStatus), 0)
    for count in stats.counts:
        totals[count.status.value] += count.count
    return {
        "counts": [
            {"route": c.route, "status": c.status.value, "count": c.count} for c in stats.counts
        ],
        "totals": totals,
        "pending_receipts": stats.pending_receipts,
        "recent_errors": [
            {
                "id": e.outbox_id,
                "route": e.route,
                "status": e.status.value,
                "error_code": e.error_code,
                "error_text": e.error_text,
                "status_at": e.status_at.isoformat(),
            }
            for e in stats.recent_errors
        ],
    }


def render_text(stats: OutboxStats) -> str:
    sections = [_counts_section(stats), _receipts_line(stats), _errors_section(stats)]
    return "\n\n".join(sections)


def _counts_section(stats: OutboxStats) -> str:
    if not stats.counts:
        return "The outbox is empty."
    # only the statuses present, in their life-cycle order, so the table stays narrow
    present = {count.status for count in stats.counts}
    statuses = [status for status in MessageStatus if status in present]
    routes = sorted({count.route for count in stats.counts})
    by_cell = {(count.route, count.status): count.count for count in stats.counts}
    rows = []
    for route in routes:
        cells = [by_cell.get((route, status), 0) for status in statuses]
        rows.append([route, *map(_number, cells), _number(sum(cells))])
    if len(routes) > 1:
        columns = [sum(by_cell.get((r, s), 0) for r in routes) for s in statuses]
        rows.append(["all routes", *map(_number, columns), _number(sum(columns))])
    headers = ["route", *(status.value for status in statuses), "total"]
    return "Messages by route and status\n" + text_table(headers, rows, right_from=1)


def _receipts_line(stats: OutboxStats) -> str:
    return f"Receipts waiting for their message: {_number(stats.pending_receipts)}"


def _errors_section(stats: OutboxStats) -> str:
    if not stats.recent_errors:
        return "No errors recorded."
    rows = [
        [
            str(error.outbox_id),
            error.route,
            error.status.value,
            error.error_code or "-",
            _utc(error.status_at),
            _one_line(error.error_text or ""),
        ]
        for error in stats.recent_errors
    ]
    headers = ["id", "route", "status", "code", "time (UTC)", "text"]
    return "Latest errors\n" + text_table(headers, rows)


def _number(value: int) -> str:
    return f"{value:,}"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _ERROR_TEXT_WIDTH else flat[: _ERROR_TEXT_WIDTH - 3] + "..."
