"""Fixtures: a scaled clock and real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from dispatcher.clock import ScaledClock

Serve = Callable[[web.Application], Awaitable[str]]

# One clock second lasts 10 ms: a 60 s response timeout is 0.6 s of real time, far above a
# loopback round trip even on a busy machine, and a 120 s hang ends in 1.2 s.
CLOCK_FACTOR = 0.01


@pytest.fixture
def clock() -> ScaledClock:
    return ScaledClock(CLOCK_FACTOR)


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start an aiohttp application on 127.0.0.1 (any free port); its base URL."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        # A short shutdown: a fake still sleeping in a hung answer is cancelled at teardown.
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}/"

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
