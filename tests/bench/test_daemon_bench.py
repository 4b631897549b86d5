"""The daemon benchmark, end to end at a small size: it starts PostgreSQL, the simulator and
the daemon, every message ends delivered (in both throughput passes), the latency part measures
every row, and nothing is written to RESULTS.md with --no-write."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 300
LATENCY_ROWS = 5
REFERENCE_MESSAGES = 2_000
LATE_RECEIPT_DELAY = 0.5  # seconds: after the whole small run has been accepted and written


def test_a_small_run_delivers_everything_and_measures_latency() -> None:
    results = ROOT / "benchmarks" / "RESULTS.md"
    before = results.read_text() if results.exists() else None
    finished = subprocess.run(
        [sys.executable, "-m", "benchmarks.daemon_bench", "--messages", str(MESSAGES),
         "--latency-rows", str(LATENCY_ROWS), "--reference-messages", str(REFERENCE_MESSAGES),
         "--late-receipt-delay", str(LATE_RECEIPT_DELAY), "--no-write"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr[-3000:]
    table = finished.stdout
    assert f"| messages final / added | {MESSAGES} / {MESSAGES} |" in table
    assert f"| of them delivered (receipt matched) | {MESSAGES} |" in table
    with_acceptance = re.search(
        r"final in the transaction that recorded their acceptance \| ([\d,]+) \|", table)
    assert with_acceptance is not None
    assert int(with_acceptance.group(1).replace(",", "")) <= MESSAGES
    rate = re.search(r"end to end with receipts\*\* \| \*\*([\d,]+)\*\*", table)
    assert rate is not None and int(rate.group(1).replace(",", "")) > 0
    # cores busy = CPU seconds per second of the run = rate x CPU per message
    total_us = re.search(r"\| all three, CPU µs per message \| (\d+) \|", table)
    busy = re.search(r"\| cores they kept busy [^|]*\| ([\d.]+) \|", table)
    assert total_us is not None and busy is not None
    expected = int(rate.group(1).replace(",", "")) * int(total_us.group(1)) / 1e6
    assert 0 < float(busy.group(1)) == pytest.approx(expected, rel=0.05, abs=0.01)
    # the second pass, receipts late: every message delivered, none final with its acceptance
    late = f"receipts {LATE_RECEIPT_DELAY:g} s after the submit"
    assert f"| {late}: messages final / added | {MESSAGES} / {MESSAGES} |" in table
    assert f"| {late}: of them final with their acceptance | 0 |" in table
    late_rate = re.search(rf"{re.escape(late)}: messages per second, end to end \| ([\d,]+) \|",
                          table)
    assert late_rate is not None and int(late_rate.group(1).replace(",", "")) > 0
    # a steady stream's rate: the first pass's cores busy over this pass's CPU per message
    steady = re.search(rf"\*\*{re.escape(late)}: messages per second its CPU per message allows "
                       r"at the first pass's ([\d.]+) cores busy\*\* \| \*\*([\d,]+)\*\*", table)
    late_us = re.search(rf"\| {re.escape(late)}: all three, CPU µs per message \| (\d+) \|", table)
    assert steady is not None and late_us is not None
    assert float(steady.group(1)) == float(busy.group(1))
    expected_steady = float(steady.group(1)) * 1e6 / int(late_us.group(1))
    assert int(steady.group(2).replace(",", "")) == pytest.approx(expected_steady, rel=0.02)
    late_cpu = re.search(rf"\| {re.escape(late)}: daemon / PostgreSQL / simulator CPU µs per "
                         r"message \| (\d+) / (\d+) / (\d+) \|", table)
    assert late_cpu is not None and all(int(figure) > 0 for figure in late_cpu.groups())
    p50 = re.search(rf"p50 ms \({LATENCY_ROWS} single rows, idle daemon\)\W+([\d.]+)", table)
    assert p50 is not None and float(p50.group(1)) > 0
    # the machine reference ran: both processes spent CPU on its submit_sm
    for row in ("client CPU µs per submit_sm", "its simulator's CPU µs per submit_sm"):
        reference = re.search(rf"machine reference: [^|]*{re.escape(row)} \| ([\d.]+) \|", table)
        assert reference is not None and float(reference.group(1)) > 0, row
    assert (results.read_text() if results.exists() else None) == before
