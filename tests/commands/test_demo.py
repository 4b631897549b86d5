"""`smpp-dispatcher demo` as a user runs it: a child process that starts its own PostgreSQL and
simulator, sends a mix of messages through the real daemon, prints a summary and leaves
nothing behind."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dispatcher.status import FINAL_STATUSES, MessageStatus

REPO = Path(__file__).resolve().parents[2]
MESSAGES = 300
# the demo itself takes 10-20 s here; the rest is headroom for a busy machine
TIMEOUT_SECONDS = 120
# stopping drains in-flight messages for the demo's 5 s, then closes the sessions
INTERRUPT_TIMEOUT_SECONDS = 60


def _number(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def demo_run() -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "dispatcher", "demo", "--messages", str(MESSAGES)],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
        check=False,
    )


def test_the_demo_exits_0_with_a_summary_whose_counts_add_up(
    demo_run: subprocess.CompletedProcess[str],
) -> None:
    assert demo_run.returncode == 0, demo_run.stderr[-3000:]
    summary = demo_run.stdout[demo_run.stdout.index("Summary"):]
    counts = {
        MessageStatus(match["status"]): _number(match["count"])
        for match in re.finditer(r"^  (?P<status>[a-z]+) +(?P<count>[\d,]+)\b", summary, re.M)
        if match["status"] in MessageStatus.__members__.values()
    }
    assert sum(counts.values()) == MESSAGES
    assert set(counts) <= FINAL_STATUSES
    # the simulator's receipt mix and its refused numbers, and the malformed rows, all show
    assert counts[MessageStatus.DELIVERED] > MESSAGES / 2
    assert counts[MessageStatus.UNDELIVERABLE] + counts[MessageStatus.EXPIRED] > 0
    expected = re.search(r"expected rejected: ([\d,]+) \(([\d,]+) to invalid numbers, "
                         r"([\d,]+) malformed\)", demo_run.stderr)
    assert expected is not None, demo_run.stderr
    rejected, invalid, malformed = map(_number, expected.groups())
    assert invalid > 0 and malformed > 0
    assert counts[MessageStatus.REJECTED] == rejected
    assert (f"(the SMSC refused the number: {invalid}; failed validation, never sent: "
            f"{malformed})") in summary
    assert re.search(r"messages +300 +final in [\d.]+ s \([\d,]+ messages/s\)", summary)


def test_every_receipt_was_matched_and_multipart_messages_went_out(
    demo_run: subprocess.CompletedProcess[str],
) -> None:
    receipts = re.search(r"receipts +([\d,]+) +matched of ([\d,]+) parts accepted; "
                         r"([\d,]+) unmatched", demo_run.stdout)
    multipart = re.search(r"multipart +([\d,]+) +messages sent as ([\d,]+) parts",
                          demo_run.stdout)
    assert receipts is not None and multipart is not None, demo_run.stdout
    matched, parts, unmatched = map(_number, receipts.groups())
    assert matched == parts > MESSAGES / 2
    assert unmatched == 0
    messages, multipart_parts = map(_number, multipart.groups())
    assert messages > 0 and multipart_parts >= 2 * messages


def test_the_demo_leaves_nothing_running_or_on_disk(
    demo_run: subprocess.CompletedProcess[str],
) -> None:
    assert "stopped the daemon, the simulator and PostgreSQL" in demo_run.stderr
    postgres_dir = re.search(r"\(temporary, in (\S+)\)", demo_run.stderr)
    assert postgres_dir is not None
    assert not Path(postgres_dir[1]).exists()
    logs = re.search(r"logs: (\S+)/daemon\.log", demo_run.stderr)
    assert logs is not None
    assert not Path(logs[1]).exists()
    simulator_port = re.search(r"SMSC simulator on 127\.0\.0\.1:(\d+)", demo_run.stderr)
    assert simulator_port is not None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(simulator_port[1])), timeout=5).close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_demo_stops_everything_it_started(signum: signal.Signals) -> None:
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    demo = subprocess.Popen(
        [sys.executable, "-m", "dispatcher", "demo", "--messages", "5000"],
        cwd=REPO, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    assert demo.stderr is not None
    seen: list[str] = []
    try:
        for line in demo.stderr:  # bounded by the demo's own output, which ends at exit
            seen.append(line)
            if line.startswith("demo 0/"):  # the daemon is running: interrupt it now
                demo.send_signal(signum)
                break
        _, rest = demo.communicate(timeout=INTERRUPT_TIMEOUT_SECONDS)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    output = "".join(seen) + rest
    assert demo.returncode == 130, output[-3000:]
    assert "demo: interrupted; everything it started is stopped" in output
    for pattern in (r"\(temporary, in (\S+)\)", r"logs: (\S+)/daemon\.log"):
        found = re.search(pattern, output)
        assert found is not None, output
        assert not Path(found[1]).exists()
    simulator_port = re.search(r"SMSC simulator on 127\.0\.0\.1:(\d+)", output)
    assert simulator_port is not None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(simulator_port[1])), timeout=5).close()
