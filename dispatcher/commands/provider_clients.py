"""What the `balance`, `stats` and `hlr` commands share: the configuration, a client for each
configured provider (closed afterwards).

Nothing here prints a secret: configuration errors name keys, provider errors are the
clients' `ChannelError` texts (which never carry credentials).
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from dispatcher.clock import Clock, SystemClock
from dispatcher.commands.outbox_access import CommandError
from dispatcher.config import SMS_PROVIDER_TYPES, Config, ConfigError, load_config
from dispatcher.daemon.providers import build_sender
from dispatcher.fallback.base import FallbackSender

# What these commands refuse (a bad file, bad arguments) exits 2, like a usage error.
USAGE_EXIT = 2


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="the daemon's TOML configuration file")


def read_config(path: str) -> Config:
    try:
        return load_config(path)
    except ConfigError as error:
        raise CommandError(str(error), USAGE_EXIT) from None


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
