"""End to end with every simulator fault at once: throttling, queue full (for good and once),
invalid destinations, receipts before their submit_sm_resp, a mix of receipt states,
multipart bodies, and, in the middle of the run, an SMSC that goes quiet and then drops every
connection (so what was in the windows was taken but never answered: in doubt).

Each row must end in the status its destination's fault dictates, the simulator must have
seen each message the expected number of times (more than once only for a row in doubt after
the drop, and no more of those than the windows held), multipart messages must re-join to
their bodies, and the simulator must record no rule violation (but the repeated parts of an
in-doubt multipart message sent again, which at-least-once delivery implies).
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg

from dispatcher.clock import ScaledClock
from dispatcher.smpp.settings import QUEUE_FULL_MAX_ATTEMPTS
from dispatcher.smsc_sim import FaultConfig, SimConfig, SmscSimulator
from pdu.constants import CommandStatus
from tests.daemon.conftest import PASSWORD, SYSTEM_ID, daemon_config
from tests.daemon.resilience_support import (
    Fault,
    apply_faults,
    check_rejoined,
    check_sent_once_or_in_doubt,
    insert_messages,
    plan_messages,
    rows_by_destination,
    submits_by_destination,
    unexpected_violations,
    wait_all_final,
    wait_for,
)

MESSAGES = 20_000
BINDS = 2
WINDOW = 50
THROTTLE_RATE = 0.02


async def test_every_fault_at_once_ends_each_row_in_its_status(
    migrated_dsn: str, db: asyncpg.Connection, start_daemon: Any, clock: ScaledClock
) -> None:
    plan = plan_messages(MESSAGES)
    config = SimConfig(credentials={SYSTEM_ID: PASSWORD}, receipt_delay=0.5, seed=11,
                       faults=FaultConfig(throttle_rate=THROTTLE_RATE))
    apply_faults(config, plan)
    simulator = SmscSimulator(config, clock=clock)
    await simulator.start(host="127.0.0.1", port=0)
    try:
        await insert_messages(db, plan)
        started = time.monotonic()
        running = await start_daemon(daemon_config(
            migrated_dsn, simulator.port,
            # one clock second lasts 10 ms here: a 6 s lease and a 3 s response timeout keep
            # a margin over event-loop stalls under this load, as the defaults do
            daemon__lease_seconds=600, daemon__drain_timeout=50,
            smpp__accounts__main__binds=["trx"] * BINDS,
            smpp__accounts__main__window=WINDOW,
            smpp__accounts__main__response_timeout=300,
        ))

        def accepted() -> int:
            return len(simulator.recording.messages)

        await wait_for(lambda: accepted() >= MESSAGES // 10, 60, "the first tenth")
        config.faults.receipt_before_resp = True
        early_from = accepted()
        await wait_for(lambda: accepted() >= MESSAGES * 4 // 10, 60, "receipts before resps")
        config.faults.receipt_before_resp = False
        early_until = accepted()
        await wait_for(lambda: accepted() >= MESSAGES // 2, 60, "half the messages")
        bound_before_drop = sum(1 for b in simulator.recording.binds if b.ok)
        # the SMSC goes quiet, then the connections drop: what filled the windows meanwhile
        # was taken by the SMSC but never answered, so it is in doubt and goes out again
        config.faults.silent = True
        submitted_before = len(simulator.recording.submits)
        await wait_for(lambda: len(simulator.recording.submits) >= submitted_before + WINDOW, 10,
                       "submits the SMSC leaves unanswered")
        await simulator.drop_connections()
        config.faults.silent = False
        await wait_all_final(db, MESSAGES, timeout=150)
        elapsed = time.monotonic() - started
        assert not running.task.done(), "the daemon stopped by itself"

        rows = await rows_by_destination(db)
        assert len(rows) == MESSAGES
        submits = submits_by_destination(simulator)
        throttled = submits_by_destination(simulator, CommandStatus.ESME_RTHROTTLED)
        accepted_counts = simulator.recording.accepted_counts
        for message in plan:
            row = rows[message.destination]
            assert row.status == message.fault.expected_status, (message, row)
            times = accepted_counts[(row.destination, row.body)]
            tries = submits[message.destination]
            # a row claimed once met no in-doubt event: its submits are exactly what its
            # fault causes; one claimed again was in doubt after the drop
            exact = row.attempts == 1
            if message.fault is Fault.INVALID:
                assert row.error_code == f"0x{CommandStatus.ESME_RINVDSTADR:08X}", row
                assert times == 0
                # final: never sent again (seed 004 L2959-2960), unless the refusal was lost
                assert tries == 1 or (not exact and tries <= row.attempts), (row, tries)
            elif message.fault is Fault.QUEUE_FULL_ALWAYS:
                assert "queue full" in (row.error_text or ""), row
                assert times == 0
                # the first try, then the bounded retries (seed 004 L2965-2966)
                if exact:
                    assert tries == 1 + QUEUE_FULL_MAX_ATTEMPTS, (row, tries)
            else:
                assert times >= 1, row
                first_refusals = 1 if message.fault is Fault.QUEUE_FULL_ONCE else 0
                if exact:
                    expected = message.parts + first_refusals + throttled[message.destination]
                    assert tries == expected, (row, tries, expected)

        duplicated = check_sent_once_or_in_doubt(
            simulator, rows, in_doubt_limit=BINDS * WINDOW)
        assert duplicated, "the messages accepted in silence were not sent again"
        check_rejoined(simulator, rows)
        unexpected = unexpected_violations(simulator, rows)
        assert not unexpected, unexpected[:5]

        # every fault really happened
        statuses = [s.command_status for s in simulator.recording.submits]
        assert statuses.count(CommandStatus.ESME_RTHROTTLED) > MESSAGES * THROTTLE_RATE / 2
        assert early_until - early_from > MESSAGES // 5
        assert sum(1 for b in simulator.recording.binds if b.ok) > bound_before_drop
        # every multipart message arrived whole (check_rejoined: as its body)
        multipart = {m.destination for m in plan if m.parts > 1}
        assert multipart
        assert {m.destination for m in simulator.recording.messages if m.parts > 1} == multipart
        print(f"\n{MESSAGES} messages with every fault in {elapsed:.1f} s; "
              f"{sum(r.attempts > 1 for r in rows.values())} in doubt after the drop, "
              f"{len(duplicated)} of them accepted twice, "
              f"{len(simulator.recording.violations)} parts of them repeated")
    finally:
        await simulator.stop()
