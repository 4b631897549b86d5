"""`smpp-dispatcher demo` (what `make demo` runs): the whole product on one machine.

1. a throw-away PostgreSQL in a temporary directory (as the `postgres` user when run as root);
2. the SMSC simulator in a child process, with faults on: some submits throttled, some
   answered "queue full", a handful of numbers refused, receipts mostly DELIVRD with some
   UNDELIV and EXPIRED;
3. a configuration file pointing at both (every other key at its real default, so the
   provider's rules run at their real pace: a throttled session pauses for 1 s, a full queue
   is retried after 5 s, 15 s, ...);
4. `migrate`, then `--messages` messages (20,000) of mixed kinds added with COPY;
5. the daemon, in this process, until every row is final, with a progress line on stderr;
6. a summary on stdout, and everything it started stopped and deleted, also after an error,
   Ctrl-C or SIGTERM. The exit status is 0 when every message reached a final status.

The daemon's and the simulator's logs go to files in the temporary directory; their last
lines are printed when something goes wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from secrets import token_hex
from types import FrameType
from typing import TextIO

import asyncpg

from dispatcher.clock import Clock, SystemClock
from dispatcher.commands.demo_messages import (
    INVALID_DESTINATIONS,
    INVALID_NUMBER_KIND,
    KINDS,
    MALFORMED_KIND,
    demo_records,
)
from dispatcher.commands.demo_report import (
    collect_summary,
    final_count,
    progress_text,
    render_summary,
    status_counts,
)
from dispatcher.commands.demo_smsc import SimulatorError, SimulatorFaults, SimulatorProcess
from dispatcher.commands.outbox_rows import copy_records
from dispatcher.commands.progress import LiveLine
from dispatcher.commands.run import secrets_of
from dispatcher.config import Config, ConfigError, load_config
from dispatcher.daemon.runner import Daemon
from dispatcher.logs import configure_logging
from dispatcher.outbox.migrate import migrate
from dispatcher.pg.admin import create_database
from dispatcher.pg.embedded import EmbeddedPostgres, EmbeddedPostgresError, PostgresNotInstalled
from dispatcher.smpp.settings import QUEUE_FULL_DELAYS

DEFAULT_MESSAGES = 20_000
DATABASE = "smpp_dispatcher_demo"
SYSTEM_ID = "demo"
# The provider allows four sessions per account (seed 004_80a28bca441860d4.txt L2922-2923);
# the demo binds all four, as a bulk sender would.
BINDS = ("trx", "trx", "trx", "trx")
# The fault mix. Each throttled answer stops its session for the seed's full second, so the
# throttle rate is what bounds the demo's throughput (a few percent would stop every session
# several times a second): 0.2% of submits keeps 20,000 messages well inside two minutes on
# two cores and still shows dozens of pauses.
THROTTLE_RATE = 0.002
QUEUE_FULL_RATE = 0.01
RECEIPT_STATES = {"DELIVRD": 90.0, "UNDELIV": 6.0, "EXPIRED": 4.0}
RECEIPT_DELAY_SECONDS = 0.2
# how often the progress line reads the outbox
POLL_SECONDS = 0.25
# plain progress lines when stderr is not a terminal
PLAIN_PROGRESS_SECONDS = 5.0
# A multipart message is final once one part fails, while its other parts' receipts may
# still be on their way: the summary waits this long at most for every accepted part's
# receipt (many times RECEIPT_DELAY_SECONDS).
LAST_RECEIPTS_SECONDS = 5.0
# No row became final for this long: the demo gives up. Longer than the third queue-full
# back-off (45 s) with room for the fourth (135 s), which a message meets once in 10^8.
STALL_SECONDS = 180.0
# log lines quoted after a failure are cut to this length
LOG_LINE_CHARACTERS = 400
# On Ctrl-C the daemon stops as in production (claimed messages go out or back to the queue),
# but a person at the terminal waits this long at most instead of the default 30 s.
DRAIN_SECONDS = 5
# how long the daemon may take to stop after the run
STOP_TIMEOUT_SECONDS = 60.0


class DemoError(Exception):
    """The demo could not run to its end; the message says what failed."""


@dataclass(frozen=True, slots=True)
class DemoPaths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "dispatcher.toml"

    @property
    def daemon_log(self) -> Path:
        return self.root / "daemon.log"

    @property
    def simulator_log(self) -> Path:
        return self.root / "smsc-sim.log"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES, metavar="N",
                        help=f"how many messages to send (default {DEFAULT_MESSAGES:,})")
    parser.add_argument("--seed", type=int, default=1,
                        help="seed of the message mix and of the simulator's faults")


def run(args: argparse.Namespace) -> int:
    if args.messages < 1:
        print("demo: --messages must be at least 1", file=sys.stderr)
        return 2
    try:
        with _sigterm_as_interrupt():
            print(run_demo(args.messages, args.seed))
    except DemoError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\ndemo: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    return 0


def run_demo(messages: int, seed: int, *, stderr: TextIO | None = None) -> str:
    """Run the demo and return its summary; DemoError when it cannot finish."""
    err = stderr or sys.stderr
    with contextlib.ExitStack() as cleanup:
        paths = DemoPaths(Path(tempfile.mkdtemp(prefix="smpp-dispatcher-demo-")))
        cleanup.callback(shutil.rmtree, paths.root, ignore_errors=True)
        postgres = _start_postgres(cleanup)
        print(f"PostgreSQL {postgres.pg_bin.parent.name} on 127.0.0.1:{postgres.port} "
              f"(temporary, in {postgres.root})", file=err)
        password = token_hex(16)
        simulator = SimulatorProcess(
            system_id=SYSTEM_ID, password=password, log_path=paths.simulator_log,
            faults=SimulatorFaults(
                throttle_rate=THROTTLE_RATE, queue_full_rate=QUEUE_FULL_RATE,
                invalid_destinations=INVALID_DESTINATIONS, receipt_states=RECEIPT_STATES,
                receipt_delay=RECEIPT_DELAY_SECONDS, seed=seed,
            ),
        )
        cleanup.callback(simulator.stop)
        try:
            sim_port = simulator.start()
        except SimulatorError as error:
            raise DemoError(str(error)) from None
        print(f"SMSC simulator on 127.0.0.1:{sim_port} (throttled {THROTTLE_RATE:.1%}, queue "
              f"full {QUEUE_FULL_RATE:.1%}, {len(INVALID_DESTINATIONS)} numbers refused, "
              f"receipts {_mix(RECEIPT_STATES)})", file=err)
        config = _write_config(paths, postgres.dsn_for(DATABASE), sim_port, password)
        print(f"logs: {paths.daemon_log} and {paths.simulator_log.name} beside it "
              "(removed at the end)", file=err)
        # open for the whole run: the daemon's logger writes here until the very end
        log = cleanup.enter_context(open(paths.daemon_log, "w", encoding="utf-8"))
        configure_logging(config.log.level, secrets=secrets_of(config), stream=log)
        try:
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                summary = runner.run(_drive(config, postgres, messages, seed, err))
        except (OSError, asyncpg.PostgresError) as error:
            raise DemoError(f"{type(error).__name__}: {error}") from None
        except DemoError as error:
            raise DemoError(
                f"{error}\n--- daemon log (last lines) ---\n{_tail(paths.daemon_log)}"
                f"\n--- simulator log (last lines) ---\n{simulator.log_tail()}") from None
    print("stopped the daemon, the simulator and PostgreSQL; removed their files", file=err)
    return summary


def _start_postgres(cleanup: contextlib.ExitStack) -> EmbeddedPostgres:
    try:
        postgres = EmbeddedPostgres()
        cleanup.callback(postgres.cleanup)
        return postgres.start()
    except PostgresNotInstalled as error:
        raise DemoError(str(error)) from None
    except EmbeddedPostgresError as error:
        raise DemoError(f"PostgreSQL did not start: {error}") from None


def _write_config(paths: DemoPaths, dsn: str, sim_port: int, password: str) -> Config:
    """The configuration a user would write: real defaults except where the servers are."""
    text = f"""\
# written by `smpp-dispatcher demo`; every key not set here has its documented default
[database]
dsn = "{dsn}"

[daemon]
id = "demo"
drain_timeout = {DRAIN_SECONDS}   # after Ctrl-C, in-flight messages get this long, not 30 s

[metrics]
listen = "127.0.0.1:0"   # any free port, so a running daemon's 9465 is left alone

[smpp.accounts.{SYSTEM_ID}]
system_id = "{SYSTEM_ID}"
password = "{password}"
hosts = ["127.0.0.1:{sim_port}"]
binds = [{", ".join(f'"{mode}"' for mode in BINDS)}]
# the simulator writes ids as 8 hex digits; "auto" would read an id without letters such as
# "00000060" as decimal, and two messages would then share one normalised id
message_id_format = "hex"

[routes.default]
smpp = "{SYSTEM_ID}"
source = "Demo"
"""
    paths.config.write_text(text, encoding="utf-8")
    paths.config.chmod(0o600)  # it holds the simulator account's password
    try:
        # the environment may hold a real deployment's overrides: the demo ignores them
        return load_config(paths.config, environ={})
    except ConfigError as error:
        raise DemoError(f"the demo's configuration is invalid: {error}") from None


async def _drive(
    config: Config, postgres: EmbeddedPostgres, messages: int, seed: int, err: TextIO
) -> str:
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    # in the loop, SIGTERM cancels the run (the `finally` blocks stop the daemon); outside it,
    # the handler installed by run() applies again
    previous = signal.getsignal(signal.SIGTERM)
    loop.add_signal_handler(signal.SIGTERM, main.cancel)
    try:
        await create_database(postgres.dsn, DATABASE)
        dsn = config.database.dsn.get_secret_value()
        connection = await asyncpg.connect(dsn)
        try:
            await migrate(connection)
            await _enqueue(connection, messages, seed, err)
            return await _run_daemon(config, connection, messages, err, SystemClock())
        finally:
            await connection.close()
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


async def _enqueue(connection: asyncpg.Connection, messages: int, seed: int, err: TextIO) -> None:
    records, kinds = demo_records(messages, seed)
    started = asyncio.get_running_loop().time()
    async with connection.transaction():
        await copy_records(connection, records)
    seconds = asyncio.get_running_loop().time() - started
    listing = ", ".join(f"{kinds[kind.name]:,} {kind.name}" for kind in KINDS if kinds[kind.name])
    print(f"enqueued {messages:,} messages with COPY in {seconds:.2f} s: {listing}", file=err)
    if kinds[INVALID_NUMBER_KIND] or kinds[MALFORMED_KIND]:
        print(f"expected rejected: {kinds[INVALID_NUMBER_KIND] + kinds[MALFORMED_KIND]:,} "
              f"({kinds[INVALID_NUMBER_KIND]:,} to invalid numbers, "
              f"{kinds[MALFORMED_KIND]:,} malformed)", file=err)


async def _run_daemon(
    config: Config, connection: asyncpg.Connection, total: int, err: TextIO, clock: Clock
) -> str:
    daemon = Daemon(config, clock=clock)
    started = clock.monotonic()
    task = asyncio.create_task(daemon.run(), name="daemon")
    progress = LiveLine(err, plain_interval=PLAIN_PROGRESS_SECONDS, clock=clock)
    try:
        await _wait_all_final(task, connection, total, progress, clock)
        await _wait_for_last_receipts(connection, clock)
        summary = await collect_summary(
            connection, daemon.metrics, total=total, seconds=clock.monotonic() - started,
            throttle_pause_seconds=config.smpp.accounts[SYSTEM_ID].throttle_pause,
            queue_full_delays=QUEUE_FULL_DELAYS)
    finally:
        progress.finish()
        await _stop(daemon, task, clock)
    return render_summary(summary)


async def _wait_all_final(
    task: asyncio.Task[None], connection: asyncpg.Connection, total: int, progress: LiveLine,
    clock: Clock,
) -> None:
    started = last_change = clock.monotonic()
    last_final = -1
    while True:
        if task.done():
            problem = task.exception() if not task.cancelled() else None
            raise DemoError(f"the daemon stopped: {problem!r}" if problem else
                            "the daemon stopped before the messages were final")
        counts = await status_counts(connection)
        final = final_count(counts)
        now = clock.monotonic()
        progress.show(progress_text(counts, total, now - started), force=final >= total)
        if final >= total:
            return
        if final != last_final:
            last_final, last_change = final, now
        elif now - last_change > STALL_SECONDS:
            raise DemoError(f"no message became final for {STALL_SECONDS:.0f} s "
                            f"({final:,} of {total:,} are)")
        await clock.sleep(POLL_SECONDS)


async def _wait_for_last_receipts(connection: asyncpg.Connection, clock: Clock) -> None:
    deadline = clock.monotonic() + LAST_RECEIPTS_SECONDS
    while clock.monotonic() < deadline and await connection.fetchval(
        "SELECT EXISTS (SELECT FROM dispatcher_part WHERE receipt_at IS NULL)"
    ):
        await clock.sleep(POLL_SECONDS)


async def _stop(daemon: Daemon, task: asyncio.Task[None], clock: Clock) -> None:
    """Stop the daemon (it unbinds and writes its last results) and wait for it.

    A Ctrl-C (the demo's own task cancelled) while it waits still stops the daemon, and is
    then passed on: swallowed here, the demo would finish as if nothing had been pressed."""
    daemon.stop()
    interrupted = False
    try:
        await clock.wait_for(asyncio.shield(task), STOP_TIMEOUT_SECONDS)
    except asyncio.CancelledError:
        interrupted = _being_cancelled()
    except Exception:  # the daemon's own failure or the timeout: it is cancelled below
        pass
    if not task.done():
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            interrupted = interrupted or _being_cancelled()
        except Exception:
            pass
    if interrupted:
        raise asyncio.CancelledError


def _being_cancelled() -> bool:
    current = asyncio.current_task()
    return current is not None and current.cancelling() > 0


def _mix(states: dict[str, float]) -> str:
    total = sum(states.values())
    return ", ".join(f"{state} {weight / total:.0%}" for state, weight in states.items())


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(_cut(line) for line in text.splitlines()[-lines:]) or "(empty log)"


def _cut(line: str) -> str:
    """A log line short enough to read in a terminal (tracebacks make very long ones)."""
    return line if len(line) <= LOG_LINE_CHARACTERS else line[:LOG_LINE_CHARACTERS] + " ..."


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM cleans up like Ctrl-C does, instead of leaving PostgreSQL and the simulator
    running."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _loop_factory() -> type[asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    loop_class: type[asyncio.AbstractEventLoop] = uvloop.Loop
    return loop_class
