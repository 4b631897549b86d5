"""The `smpp-dispatcher` command line.

Each sub-command lives in its own module, imported only when it runs (start-up stays fast and
a broken optional part cannot stop the others). A command module exposes
`add_arguments(parser)` and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# sub-command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "smsc-sim": (
        "dispatcher.smsc_sim.cli",
        "Run the built-in SMSC simulator (for staging and demos)",
    ),
    "migrate": ("dispatcher.outbox.migrate_cli", "Apply the database migrations"),
    "provider-sim": (
        "dispatcher.provider_sim.cli",
        "Run one fake provider HTTP API (for staging and demos)",
    ),
    "run": ("dispatcher.commands.run", "Run the daemon in the foreground"),
    "check-config": ("dispatcher.commands.check_config", "Validate a configuration file"),
    "enqueue": ("dispatcher.commands.enqueue", "Put messages into the outbox (arguments or CSV)"),
    "status": ("dispatcher.commands.status", "Outbox counts, pending receipts and latest errors"),
    "demo": ("dispatcher.commands.demo", "A demo: PostgreSQL, SMSC simulator, daemon"),
    "hlr": ("dispatcher.commands.hlr", "Look numbers up in the network (HLR) and store it"),
    "balance": ("dispatcher.commands.balance", "Every configured provider's balance"),
    "stats": ("dispatcher.commands.stats", "The providers' message statistics for a period"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smpp-dispatcher",
        description="Drain a PostgreSQL outbox into SMPP and HTTP SMS traffic.",
    )
    from dispatcher import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        command_parser.set_defaults(_module=module_name)
        if "--help" in sys.argv or "-h" in sys.argv or _selected(name):
            importlib.import_module(module_name).add_arguments(command_parser)
    return parser


def _selected(name: str) -> bool:
    return name in sys.argv[1:2]


def main(argv: Sequence[str] | None = None) -> int:
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:])
    module_name = getattr(args, "_module", None)
    if module_name is None:
        parser.print_help()
        return 2
    result: int = importlib.import_module(module_name).run(args)
    return result
