"""`smpp-dispatcher smsc-sim` as a real process: listens, serves, exits 0 on a signal."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from pdu.pdus import SubmitSm
from tests.smsc_sim.smpp_client import TinyEsme

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0  # real seconds; a cold interpreter on a busy machine


async def start_cli(
    *arguments: str, env: dict[str, str] | None = None
) -> tuple[asyncio.subprocess.Process, int]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dispatcher",
        "smsc-sim",
        "--port",
        "0",
        *arguments,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
    text = line.decode().strip()
    assert text.startswith("listening on 127.0.0.1:"), text
    return process, int(text.rsplit(":", 1)[1])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_cli_serves_and_exits_cleanly(signum: signal.Signals) -> None:
    process, port = await start_cli(
        "--accounts", "alpha:pw-alpha", "--message-id-format", "decimal", "--no-receipts"
    )
    esme = await TinyEsme.bound(port, "alpha", "pw-alpha", "trx")
    response = await esme.request(SubmitSm(destination_addr="79030000001", short_message=b"x"))
    assert response.command_status == 0 and response.message_id == "1"
    process.send_signal(signum)
    assert await asyncio.wait_for(process.wait(), START_TIMEOUT) == 0
    await esme.wait_closed()  # unbound by the simulator on the way out
    await esme.close()
    assert process.stderr is not None
    assert b"pw-alpha" not in await process.stderr.read()


async def test_cli_takes_accounts_from_the_environment() -> None:
    process, port = await start_cli(env={"SMSC_SIM_ACCOUNTS": "beta:pw-beta"})
    esme = await TinyEsme.bound(port, "beta", "pw-beta", "tx")
    await esme.close()
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), START_TIMEOUT) == 0


async def test_cli_rejects_a_malformed_account() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dispatcher",
        "smsc-sim",
        "--accounts",
        "no-colon-secret",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
    assert process.returncode == 2 and stdout == b""
    assert b"id:password" in stderr and b"no-colon-secret" not in stderr
