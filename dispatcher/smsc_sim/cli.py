"""`smpp-dispatcher smsc-sim`: run the SMSC simulator for staging and demos.

Prints "listening on HOST:PORT" on stdout once it accepts connections (logs go to stderr) and
runs until SIGTERM or SIGINT, then unbinds its clients and exits 0.

Accounts: --system-id/--password pairs (repeatable, paired in order) and/or
--accounts "id:password,id2:password2"; the environment variable SMSC_SIM_ACCOUNTS takes the
same list and keeps passwords out of the process list. With none given the account is
test/test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from typing import Final

import structlog

from dispatcher.clock import SystemClock
from dispatcher.gc_tuning import tune_garbage_collection
from dispatcher.smsc_sim.config import DEFAULT_MAX_SESSIONS, DEFAULT_PORT, FaultConfig, SimConfig
from dispatcher.smsc_sim.receipts import check_state_mix
from dispatcher.smsc_sim.server import SmscSimulator

ACCOUNTS_ENV: Final = "SMSC_SIM_ACCOUNTS"
DEFAULT_ACCOUNT: Final = ("test", "test")
# How long a shutdown waits for clients to answer the simulator's unbind (real seconds).
_UNBIND_GRACE_SECONDS: Final = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port (0: any free)")
    parser.add_argument("--system-id", action="append", default=[], help="an account's login")
    parser.add_argument("--password", action="append", default=[], help="its password")
    parser.add_argument("--accounts", default="", help=f'"id:password,..." (or set {ACCOUNTS_ENV})')
    parser.add_argument("--message-id-format", choices=("hex", "decimal"), default="hex")
    parser.add_argument(
        "--receipt-id-base",
        choices=("same", "other"),
        default="same",
        help="write receipt ids in the same base as submit_sm_resp ids, or the other one",
    )
    parser.add_argument(
        "--receipts",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="send delivery receipts when registered_delivery asks for them",
    )
    parser.add_argument("--receipt-delay", type=float, default=1.0, help="seconds")
    parser.add_argument(
        "--receipt-states",
        type=_state_mix,
        default=None,
        help='final states of receipts and their weights, e.g. "DELIVRD=90,UNDELIV=6,EXPIRED=4"'
        " (default: all DELIVRD)",
    )
    parser.add_argument("--throttle-rate", type=_fraction, default=0.0)
    parser.add_argument("--queue-full-rate", type=_fraction, default=0.0)
    parser.add_argument("--invalid-rate", type=_fraction, default=0.0)
    parser.add_argument(
        "--invalid-destination",
        action="append",
        default=[],
        metavar="NUMBER",
        help="always answer ESME_RINVDSTADR for this destination (repeatable)",
    )
    parser.add_argument("--response-delay", type=float, default=0.0, help="seconds")
    parser.add_argument("--max-sessions", type=int, default=DEFAULT_MAX_SESSIONS)
    parser.add_argument(
        "--no-record",
        dest="record",
        action="store_false",
        help="keep no per-message state (benchmarks); query_sm then finds nothing",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault and state draws")


def run(args: argparse.Namespace) -> int:
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    try:
        config = SimConfig(
            credentials=_accounts(args),
            max_sessions=args.max_sessions,
            message_id_format=args.message_id_format,
            receipts=args.receipts,
            receipt_delay=args.receipt_delay,
            **({"receipt_states": args.receipt_states} if args.receipt_states else {}),
            receipt_id_base=args.receipt_id_base,
            record=args.record,
            seed=args.seed,
            faults=FaultConfig(
                throttle_rate=args.throttle_rate,
                queue_full_rate=args.queue_full_rate,
                invalid_rate=args.invalid_rate,
                invalid_destinations=set(args.invalid_destination),
                response_delay=args.response_delay,
            ),
        )
    except ValueError as exc:
        print(f"smsc-sim: {exc}", file=sys.stderr)
        return 2
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(_serve(config, args.host, args.port))


async def _serve(config: SimConfig, host: str, port: int) -> int:
    tune_garbage_collection()
    sim = SmscSimulator(config, clock=SystemClock())
    try:
        await sim.start(host=host, port=port)
    except OSError as exc:
        print(f"smsc-sim: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"listening on {sim.host}:{sim.port}", flush=True)
    await stop.wait()
    # Clients that do not answer unbind in time are cut by stop().
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(sim.unbind_all(), _UNBIND_GRACE_SECONDS)
    await sim.stop()
    return 0


def _accounts(args: argparse.Namespace) -> dict[str, str]:
    if len(args.system_id) != len(args.password):
        raise ValueError("give one --password for each --system-id")
    accounts = dict(zip(args.system_id, args.password, strict=True))
    for listing in (os.environ.get(ACCOUNTS_ENV, ""), args.accounts):
        for entry in filter(None, (item.strip() for item in listing.split(","))):
            system_id, separator, password = entry.partition(":")
            if not separator or not system_id:
                # No part of the entry is echoed: it may be a password.
                raise ValueError("an account entry is not of the form id:password")
            accounts[system_id] = password
    return accounts or dict([DEFAULT_ACCOUNT])


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction between 0 and 1")
    return value


def _state_mix(text: str) -> dict[str, float]:
    """"DELIVRD=90,UNDELIV=6" -> {"DELIVRD": 90.0, "UNDELIV": 6.0} (weights, not fractions)."""
    mix: dict[str, float] = {}
    for entry in filter(None, (item.strip() for item in text.split(","))):
        state, separator, weight = entry.partition("=")
        try:
            mix[state.strip().upper()] = float(weight) if separator else 1.0
        except ValueError:
            raise argparse.ArgumentTypeError(f"{entry!r} is not STATE=WEIGHT") from None
    try:
        check_state_mix(mix)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return mix


def _loop_factory() -> type[asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    loop_class: type[asyncio.AbstractEventLoop] = uvloop.Loop
    return loop_class
