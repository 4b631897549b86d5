"""kill -9 of a daemon process in the middle of a run, then a restart with the same daemon.id.

The daemon runs as `python -m dispatcher run --config FILE` on the real clock, the simulator
in this process. At the kill, the rows the daemon had claimed are `sending`; those whose
in-doubt marker was down may have reached the SMSC. After the restart every row must be
delivered, start-up recovery must have put back exactly the rows left claimed, a message may
have been accepted twice only if the SMSC had accepted it and its row was still in doubt at
the kill, and the rows in doubt must stay within the bound dispatcher/outbox/claims.py states
(the windows, two claim batches held unsent, the answers not yet written).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from dispatcher.clock import SystemClock
from dispatcher.daemon.runner import UNSENT_BACKLOG_BATCHES
from dispatcher.smsc_sim import SimConfig, SmscSimulator
from tests.daemon.conftest import PASSWORD, SYSTEM_ID
from tests.daemon.resilience_support import (
    check_sent_once_or_in_doubt,
    rows_by_destination,
    wait_all_final,
    wait_for,
)
from tests.ops.daemon_process import DaemonProcess, running_daemon

MESSAGES = 6_000
BINDS = 2
WINDOW = 50
CLAIM_BATCH = 200
RATE_LIMIT = 500  # submit_sm per second per session
DAEMON_ID = "crash-test"


def write_config(path: Path, dsn: str, port: int) -> None:
    path.write_text(f"""
[database]
dsn = "{dsn}"

[daemon]
id = "{DAEMON_ID}"
claim_batch = {CLAIM_BATCH}
lease_seconds = 10
poll_interval = 1
drain_timeout = 5
# a receipt acknowledged but not yet stored when the process died is found again by query_sm
query_after = 3
query_rate = 100

[metrics]
enabled = false

[smpp.accounts.main]
system_id = "{SYSTEM_ID}"
password = "{PASSWORD}"
hosts = ["127.0.0.1:{port}"]
binds = {json.dumps(["trx"] * BINDS)}
window = {WINDOW}
# slower than the daemon can claim, so claims would run ahead of the wire without the
# daemon's cap on what a pool holds unsent
rate_limit = {RATE_LIMIT}

[routes.default]
smpp = "main"
source = "Dispatcher"
validity = 3600
""")


async def test_kill_9_mid_run_then_restart_loses_nothing(
    migrated_dsn: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    simulator = SmscSimulator(
        SimConfig(credentials={SYSTEM_ID: PASSWORD}, receipt_delay=1.0, seed=3),
        clock=SystemClock())
    await simulator.start(host="127.0.0.1", port=0)
    config = tmp_path / "dispatcher.toml"
    write_config(config, migrated_dsn, simulator.port)
    try:
        await db.copy_records_to_table(
            "outbox", columns=["destination", "body"],
            records=[(f"7946{i:07d}", f"crash {i}") for i in range(MESSAGES)])

        def accepted() -> int:
            return sum(simulator.recording.accepted_counts.values())

        async with running_daemon(config, wait_started=False) as daemon, _told(daemon):
            # mid-traffic, with receipts flowing too
            await wait_for(lambda: accepted() >= MESSAGES // 3
                           and bool(simulator.recording.delivers),
                           60, "traffic and receipts before the kill")
            await daemon.kill()
        await wait_for(lambda: simulator.bound_count(SYSTEM_ID) == 0, 10,
                       "the SMSC noticing the dead connections")
        # the moment of the crash, as the database and the SMSC saw it
        at_kill = await db.fetch("SELECT destination, status, dispatcher_written_at IS NOT NULL"
                                 " AS written FROM outbox")
        claimed = {r["destination"] for r in at_kill if r["status"] == "sending"}
        in_doubt = {r["destination"] for r in at_kill if r["status"] == "sending" and r["written"]}
        assert claimed, "the kill came after the run, not in the middle of it"
        accepted_at_kill = {destination for destination, _ in simulator.recording.accepted_counts}
        # accepted by the SMSC, the answer not recorded: these are the ones sent again
        answer_lost = in_doubt & accepted_at_kill
        # receipts the dead daemon acknowledged (the session acknowledges at once) and stored
        receipts_acked = sum(1 for d in simulator.recording.delivers
                             if d.kind == "receipt" and d.ack_status == 0)
        receipts_stored = await db.fetchval(
            "SELECT (SELECT count(*) FROM dispatcher_part WHERE receipt_at IS NOT NULL)"
            " + (SELECT count(*) FROM dispatcher_pending_receipt)")

        async with running_daemon(config, wait_started=False) as daemon, _told(daemon):
            await wait_all_final(db, MESSAGES, timeout=90)
            # SIGTERM drains and exits 0
            assert await daemon.stop(timeout=30) == 0, daemon.output_tail()
            recovered = daemon.events("recovered")

        # start-up recovery put back exactly what the crash left claimed
        assert recovered[-1]["requeued_in_doubt"] == len(in_doubt)
        assert recovered[-1]["requeued"] == len(claimed) - len(in_doubt)

        rows = await rows_by_destination(db)
        assert {row.status for row in rows.values()} == {"delivered"}
        for row in rows.values():
            assert simulator.recording.accepted_counts[(row.destination, row.body)] >= 1
        duplicated = check_sent_once_or_in_doubt(simulator, rows, in_doubt_limit=len(in_doubt))
        assert set(duplicated) == answer_lost, "only messages in doubt at the kill go twice"
        # the bound dispatcher/outbox/claims.py documents: in doubt were the messages in the
        # windows, at most UNSENT_BACKLOG_BATCHES claim batches held unsent, and the answers
        # not yet written; only the answered ones among them went out twice
        exposed = BINDS * WINDOW + UNSENT_BACKLOG_BATCHES * CLAIM_BATCH + len(answer_lost)
        assert len(in_doubt) <= exposed, (len(in_doubt), exposed)
        assert not simulator.recording.violations, simulator.recording.violations[:5]
        # receipts acknowledged to the SMSC but not yet stored died with the process; the
        # overdue query_sm found those messages' outcomes
        queried = await db.fetchval(
            "SELECT count(*) FROM dispatcher_part WHERE receipt_text = 'query_sm'")
        print(f"\nkilled with {len(claimed)} rows claimed, {len(in_doubt)} of them in doubt, "
              f"{len(answer_lost)} accepted with their answer unrecorded; {len(duplicated)} "
              f"accepted twice; receipts acknowledged {receipts_acked}, stored "
              f"{receipts_stored}; {queried} outcomes found by query_sm")
    finally:
        await simulator.stop()


@contextlib.asynccontextmanager
async def _told(daemon: DaemonProcess) -> AsyncIterator[None]:
    """On a failure, the daemon's last output goes with it."""
    try:
        yield
    except BaseException:
        print(daemon.output_tail())
        raise
