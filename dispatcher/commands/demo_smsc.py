"""The demo's SMSC: `python -m dispatcher smsc-sim` in a child process.

A separate process, not a task in the demo's event loop: the simulator then runs on the other
core of a two-core machine instead of taking turns with the daemon. It gets its own session
(process group), so a Ctrl-C at the terminal reaches only the demo, which stops the daemon
first (it unbinds cleanly) and the simulator after.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from dispatcher.smsc_sim.cli import ACCOUNTS_ENV

START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 10.0
_LISTENING = re.compile(r"listening on (?P<host>\S+):(?P<port>\d+)")


class SimulatorError(RuntimeError):
    """The simulator did not start; the message quotes its log."""


@dataclass(frozen=True, slots=True)
class SimulatorFaults:
    """What the demo's SMSC does wrong, as fractions of submits and a receipt mix."""

    throttle_rate: float
    queue_full_rate: float
    invalid_destinations: Sequence[str]
    receipt_states: dict[str, float]
    receipt_delay: float  # seconds
    seed: int


@dataclass(slots=True)
class SimulatorProcess:
    system_id: str
    password: str = field(repr=False)
    faults: SimulatorFaults
    log_path: Path
    port: int | None = None
    _process: subprocess.Popen[bytes] | None = None

    def start(self) -> int:
        """Start the simulator on a free loopback port and return that port."""
        mix = self.faults.receipt_states
        states = ",".join(f"{state}={weight}" for state, weight in mix.items())
        command = [
            sys.executable, "-m", "dispatcher", "smsc-sim",
            "--host", "127.0.0.1", "--port", "0",
            "--throttle-rate", str(self.faults.throttle_rate),
            "--queue-full-rate", str(self.faults.queue_full_rate),
            "--receipt-states", states,
            "--receipt-delay", str(self.faults.receipt_delay),
            "--seed", str(self.faults.seed),
        ]
        for number in self.faults.invalid_destinations:
            command += ["--invalid-destination", number]
        # the password goes through the environment, not the process list
        environment = {**os.environ, ACCOUNTS_ENV: f"{self.system_id}:{self.password}"}
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                env=environment, start_new_session=True,
            )
        assert self._process.stdout is not None
        self.port = self._read_port(self._process.stdout)
        return self.port

    def stop(self) -> None:
        """SIGTERM (the simulator unbinds its clients and exits), SIGKILL if it lingers."""
        process = self._process
        if process is None:
            return
        self._process = None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def _read_port(self, stdout: IO[bytes]) -> int:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        seen = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([stdout], [], [], 0.1)
            if ready:
                chunk = os.read(stdout.fileno(), 4096)
                if not chunk:
                    break  # the simulator exited
                seen += chunk
                match = _LISTENING.search(seen.decode(errors="replace"))
                if match:
                    return int(match["port"])
        self.stop()
        raise SimulatorError(f"the SMSC simulator did not start:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"
