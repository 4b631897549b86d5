"""`smpp-dispatcher stats --config FILE --from DATE --to DATE`: the providers' own message
counters for a period (Devino REST `Sms/Statistics`, SOAP `GetStatistics`).

DATE is `YYYY-MM-DD` (a whole day: `--to` counts up to the end of that day) or an ISO time;
times without a zone are UTC. A provider whose API has no statistics call, or that fails or
refuses the period (Devino: at most 90 days), shows why in the ERROR column. Exit status 0
when every provider with a statistics call answered, 1 otherwise, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime, time, timedelta

from dispatcher.commands.outbox_access import CommandError
from dispatcher.commands.provider_clients import (
    USAGE_EXIT,
    add_config_argument,
    read_config,
    sms_clients,
)
from dispatcher.commands.text_table import text_table
from dispatcher.config import Config
from dispatcher.fallback.account_readings import (
    DEFAULT_READ_TIMEOUT_SECONDS,
    HasStatistics,
    Reading,
    read_statistics,
)
from dispatcher.fallback.devino_codes import DevinoStatistics

NO_STATISTICS_CALL = "this API has no statistics call"
COLUMNS = ("sent", "delivered", "errors", "in_process", "expired", "rejected", "total")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--from", dest="start", required=True, metavar="DATE",
                        help="start of the period (YYYY-MM-DD or ISO time, UTC)")
    parser.add_argument("--to", dest="end", required=True, metavar="DATE",
                        help="end of the period (a date counts to the end of that day)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_READ_TIMEOUT_SECONDS,
                        help="seconds each provider may take (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    try:
        start, end = parse_moment(args.start, end=False), parse_moment(args.end, end=True)
        if end < start:
            raise CommandError("--to is before --from", USAGE_EXIT)
        config = read_config(args.config)
        readings = asyncio.run(read_all(config, start, end, args.timeout))
    except CommandError as error:
        print(f"stats: {error}", file=sys.stderr)
        return error.exit_code
    print(f"from {start:%Y-%m-%d %H:%M:%S} to {end:%Y-%m-%d %H:%M:%S} UTC")
    print(render(readings))
    failed = [r for r in readings if r.error is not None and r.error != NO_STATISTICS_CALL]
    return 1 if failed else 0


def parse_moment(text: str, *, end: bool) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(), UTC)
            return moment + timedelta(days=1, seconds=-1) if end else moment
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO time",
                           USAGE_EXIT) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def read_all(
    config: Config, start: datetime, end: datetime, timeout: float
) -> list[Reading[DevinoStatistics]]:
    async with sms_clients(config) as clients:
        capable: list[HasStatistics] = [
            c for c in clients.values() if hasattr(c, "statistics")]  # type: ignore[misc]
        readings = await read_statistics(capable, start, end, timeout_seconds=timeout)
    others: list[Reading[DevinoStatistics]] = [Reading(name, None, NO_STATISTICS_CALL)
              for name in sorted(set(config.providers) - {r.provider for r in readings})]
    return sorted(readings + others, key=lambda r: r.provider)


def render(readings: list[Reading[DevinoStatistics]]) -> str:
    rows = []
    for r in readings:
        values = [None] * len(COLUMNS) if r.value is None else [
            getattr(r.value, column) for column in COLUMNS]
        rows.append((r.provider, *values, r.error))
    return text_table(("PROVIDER", *(c.upper() for c in COLUMNS), "ERROR"), rows)
