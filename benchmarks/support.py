"""What the benchmarks share: the SMSC simulator in its own process, CPU time from /proc,
percentiles, and rewriting one section of RESULTS.md."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import statistics
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc; 0.0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(values: Sequence[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds of durations given in seconds."""
    if len(values) < 2:
        return (values[0] * 1000, values[0] * 1000) if values else (0.0, 0.0)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


@contextlib.contextmanager
def simulator_process(
    system_id: str, password: str, *options: str
) -> Iterator[tuple[int, int]]:
    """`smpp-dispatcher smsc-sim` in its own process on a free port; yields (port, pid)."""
    env = dict(os.environ, SMSC_SIM_ACCOUNTS=f"{system_id}:{password}")
    command = [sys.executable, "-m", "dispatcher", "smsc-sim", "--host", "127.0.0.1",
               "--port", "0", *options]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"listening on [\d.]+:(\d+)", line)
        if match is None:
            raise RuntimeError(f"the simulator did not start: {line!r}")
        yield int(match.group(1)), process.pid
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def write_results_section(heading: str, text: str) -> None:
    """Replace (or add) the "## <heading>" section of RESULTS.md, leaving the others alone."""
    results = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(results):
        # the section ends with one blank line before the next heading
        results = pattern.sub(lambda _: text.rstrip("\n") + "\n\n", results, count=1)
    else:
        results = results.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(results.rstrip("\n") + "\n")
