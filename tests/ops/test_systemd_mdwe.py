"""The unit sets MemoryDenyWriteExecute=yes: the daemon's stack must run without memory that
is writable and executable. A child process turns on the kernel's equivalent,
prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN) (Linux 6.3+), proves it is enforced, then runs
uvloop, asyncpg against a real PostgreSQL, pydantic, structlog and our HTTP server with an
aiohttp client.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
MDWE_UNSUPPORTED = 77

CHILD = r"""
import ctypes, mmap, sys

PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    print("prctl(PR_SET_MDWE) failed, errno", ctypes.get_errno())
    sys.exit(77)
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
except PermissionError:
    pass
else:
    sys.exit("W+X mapping allowed: MDWE is not enforced")

import io
import aiohttp, asyncpg, structlog, uvloop
from dispatcher.config import Config
from dispatcher.http_server import bound_port, build_app, start_http_server
from dispatcher.logs import configure_logging
from dispatcher.metrics import Metrics

async def main(dsn):
    config = Config.model_validate({
        "database": {"dsn": dsn},
        "smpp": {"accounts": {"ads": {"system_id": "login", "password": "secret",
                                      "hosts": ["127.0.0.1:2775"]}}},
        "routes": {"default": {"smpp": "ads"}},
    })
    connection = await asyncpg.connect(config.database.dsn.get_secret_value())
    try:
        assert await connection.fetchval("SELECT $1::int + 1", 41) == 42
    finally:
        await connection.close()
    lines = io.StringIO()
    configure_logging("info", stream=lines)
    structlog.get_logger().info("mdwe_probe", ok=True)
    assert '"mdwe_probe"' in lines.getvalue()
    runner = await start_http_server(build_app(Metrics(), lambda: (True, "ok")), "127.0.0.1:0")
    try:
        url = f"http://127.0.0.1:{bound_port(runner)}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert "smpp_dispatcher_build_info" in await response.text()
    finally:
        await runner.cleanup()

uvloop.run(main(sys.argv[1]))
print("stack ran under MDWE")
"""


def test_daemon_stack_runs_without_writable_executable_memory(database_dsn: str) -> None:
    result = subprocess.run([sys.executable, "-c", CHILD, database_dsn], cwd=REPOSITORY,
                            capture_output=True, text=True, timeout=60, check=False)
    if result.returncode == MDWE_UNSUPPORTED:
        pytest.skip(f"this kernel has no prctl(PR_SET_MDWE) (Linux 6.3+): {result.stdout}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stack ran under MDWE" in result.stdout
