"""`smpp-dispatcher run --config FILE`: the daemon in the foreground (systemd runs this).

SIGTERM and SIGINT drain and exit 0; SIGHUP is logged (reloading is not supported yet: restart
the service to apply a new configuration).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import structlog

from dispatcher.config import Config, ConfigError, load_config
from dispatcher.logs import configure_logging
from dispatcher.outbox.migrate import SchemaError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="the TOML configuration file")


def secrets_of(config: Config) -> list[str]:
    """Every secret value in the configuration, for the log scrubber."""
    found = [config.database.dsn.get_secret_value()]
    found += [a.password.get_secret_value() for a in config.smpp.accounts.values()]
    for provider in config.providers.values():
        extra = provider.model_extra or {}
        found += [str(v) for k, v in extra.items() if "password" in k or "token" in k]
    return found


async def serve(config: Config) -> None:
    from dispatcher.daemon.runner import Daemon

    daemon = Daemon(config)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, daemon.stop)
    loop.add_signal_handler(
        signal.SIGHUP,
        lambda: structlog.get_logger().warning(
            "reload_not_supported", hint="restart the service to apply a new configuration"),
    )
    await daemon.run()


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"{args.config}: {exc}", file=sys.stderr)
        return 1
    configure_logging(config.log.level, secrets=secrets_of(config),
                      mask_numbers=config.log.mask_numbers, mask_bodies=config.log.mask_bodies)
    try:
        import uvloop

        uvloop.run(serve(config))
    except SchemaError as exc:
        print(f"smpp-dispatcher: {exc}", file=sys.stderr)
        return 1
    return 0
