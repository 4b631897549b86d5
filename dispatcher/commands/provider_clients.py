"""What the `balance`, `stats` and `hlr` commands share: the configuration, a client for each
configured provider (closed afterwards), and a plain-text table.

Nothing here prints a secret: configuration errors name keys, provider errors are the
clients' `ChannelError` texts (which never carry credentials).
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from dispatcher.clock import Clock, SystemClock
from dispatcher.config import SMS_PROVIDER_TYPES, Config, ConfigError, load_config
from dispatcher.daemon.providers import build_sender
from dispatcher.fallback.base import FallbackSender


class CommandFailed(Exception):
    """One line for stderr; the command returns `exit_code`."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="the daemon's TOML configuration file")


def read_config(path: str) -> Config:
    try:
        return load_config(path)
    except ConfigError as error:
        raise CommandFailed(str(error)) from None


@asynccontextmanager
async def sms_clients(
    config: Config, names: Sequence[str] | None = None, clock: Clock | None = None
) -> AsyncIterator[dict[str, FallbackSender]]:
    """A client per configured SMS provider (or per name in `names`), closed on exit."""
    clock = clock or SystemClock()
    wanted = sorted(config.providers) if names is None else list(names)
    clients = {name: build_sender(name, config.providers[name], clock) for name in wanted
               if config.providers[name].type in SMS_PROVIDER_TYPES}
    try:
        yield clients
    finally:
        for client in clients.values():
            await client.close()


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns, empty cells for None."""
    cells = [[str(h) for h in headers]]
    cells += [["" if value is None else str(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(value.ljust(width) for value, width in zip(row, widths,
                                                                             strict=True)).rstrip()
                     for row in cells)
