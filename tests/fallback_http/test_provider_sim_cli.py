"""`smpp-dispatcher provider-sim NAME` serves the fake over real HTTP and stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest


@pytest.mark.parametrize("name", ["devino-rest", "devino-soap", "devino-xml", "mobipace", "webcom"])
def test_provider_sim_starts_and_stops(name: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "dispatcher", "provider-sim", name, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(f"{name} fake listening on http://127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        assert port > 0
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
    assert code == 0
