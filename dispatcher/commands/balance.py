"""`smpp-dispatcher balance --config FILE`: every configured provider's balance, side by side.

    PROVIDER  BALANCE  CURRENCY  ERROR
    devino    1000.0   RUB
    webcom                       webcom refused the request: ...

Providers are asked at once, each within `--timeout` seconds; one that fails shows its error
(never a traceback, never a secret). The Devino Viber API has no balance call: its account's
balance is the one of the Devino SMS APIs. Exit status 0 when every provider answered, 1
otherwise, 2 for a configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from dispatcher.commands.outbox_access import CommandError
from dispatcher.commands.provider_clients import (
    add_config_argument,
    read_config,
    sms_clients,
)
from dispatcher.commands.text_table import text_table
from dispatcher.config import Config
from dispatcher.fallback.account_readings import (
    DEFAULT_READ_TIMEOUT_SECONDS,
    Reading,
    read_balances,
)
from dispatcher.fallback.base import Balance

NO_BALANCE_CALL = "this API has no balance call"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--timeout", type=float, default=DEFAULT_READ_TIMEOUT_SECONDS,
                        help="seconds each provider may take (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    try:
        config = read_config(args.config)
        readings = asyncio.run(read_all(config, args.timeout))
    except CommandError as error:
        print(f"balance: {error}", file=sys.stderr)
        return error.exit_code
    print(render(readings))
    return 0 if all(r.error is None for r in readings) else 1


async def read_all(config: Config, timeout: float) -> list[Reading[Balance]]:
    """One reading per configured provider, by name."""
    async with sms_clients(config) as clients:
        readings = await read_balances(list(clients.values()), timeout_seconds=timeout)
    others: list[Reading[Balance]] = [Reading(name, None, NO_BALANCE_CALL)
              for name in sorted(set(config.providers) - set(clients))]
    return sorted(readings + others, key=lambda r: r.provider)


def render(readings: list[Reading[Balance]]) -> str:
    return text_table(
        ("PROVIDER", "BALANCE", "CURRENCY", "ERROR"),
        [(r.provider, None if r.value is None else f"{r.value.amount:g}",
          None if r.value is None else r.value.currency, r.error) for r in readings])
