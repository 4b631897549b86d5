"""`smpp-dispatcher check-config FILE`: validate a configuration without starting anything."""

from __future__ import annotations

import argparse
import sys

from dispatcher.config import ConfigError, load_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the TOML configuration file")


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    accounts = ", ".join(sorted(config.smpp.accounts)) or "none"
    routes = ", ".join(sorted(config.routes))
    print(f"{args.file}: ok (SMPP accounts: {accounts}; routes: {routes})")
    return 0
