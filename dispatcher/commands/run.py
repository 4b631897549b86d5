"""`smpp-dispatcher run --config FILE`: the daemon in the foreground (systemd runs this).

SIGTERM and SIGINT drain and exit 0. SIGHUP reads the file again and applies what can change
without dropping a bind (routes, rate limits, the daemon's timings and policies, the log
level), and logs what it applied and what needs a restart; a file that does not validate is
refused with the key named, and the running configuration stays.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import structlog

from dispatcher.config import Config, ConfigError, load_config
from dispatcher.gc_tuning import tune_garbage_collection
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


def setup_logging(config: Config) -> None:
    configure_logging(config.log.level, secrets=secrets_of(config),
                      mask_numbers=config.log.mask_numbers, mask_bodies=config.log.mask_bodies)


async def serve(config: Config, path: str) -> None:
    from dispatcher.daemon.runner import Daemon

    tune_garbage_collection()
    daemon = Daemon(config)
    log = structlog.get_logger()

    def reload() -> None:
        try:
            new = load_config(path)
        except ConfigError as exc:
            log.error("reload_refused", file=path, problem=str(exc))
            return
        applied, needs_restart = daemon.reload(new)
        setup_logging(daemon.config)
        # the confirmation must pass the new level, even when the reload raised it
        confirm = log.warning if daemon.config.log.level in ("warning", "error") else log.info
        confirm("reloaded", file=path, applied=applied, needs_restart=needs_restart)

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, daemon.stop)
    loop.add_signal_handler(signal.SIGHUP, reload)
    await daemon.run()


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"{args.config}: {exc}", file=sys.stderr)
        return 1
    setup_logging(config)
    try:
        import uvloop

        uvloop.run(serve(config, args.config))
    except SchemaError as exc:
        print(f"smpp-dispatcher: {exc}", file=sys.stderr)
        return 1
    return 0
