"""Fixtures for tests against real HTTP servers on 127.0.0.1 (the provider fakes, callback
receivers): a scaled clock, `serve` to start an aiohttp application, `closing` to close
clients after the test, and a URL where nothing listens. Loaded for every test by
tests/conftest.py (`pytest_plugins`); an area's own conftest may override any of them.

One clock second lasts 10 ms (`CLOCK_FACTOR`): a 60 s response timeout is 0.6 s of real time,
far above a loopback round trip on a busy machine, and a fake's 7 s to a final status take
70 ms.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import pytest
from aiohttp import web

from dispatcher.clock import ScaledClock

CLOCK_FACTOR = 0.01

# starts an application; returns its base URL, "http://127.0.0.1:PORT" (no trailing "/")
Serve = Callable[[web.Application], Awaitable[str]]


class Closable(Protocol):
    async def close(self) -> None: ...


@pytest.fixture
def clock() -> ScaledClock:
    return ScaledClock(CLOCK_FACTOR)


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start an aiohttp application on 127.0.0.1 (a free port); returns its base URL."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        # A short shutdown: a fake still holding a hung answer is released at teardown.
        runner = web.AppRunner(app, shutdown_timeout=0.2, access_log=None)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


@pytest.fixture
async def closing() -> AsyncIterator[Callable[[Any], Any]]:
    """Register a client (anything with `async close()`) to be closed after the test."""
    clients: list[Closable] = []

    def register(client: Any) -> Any:
        clients.append(client)
        return client

    yield register
    for client in clients:
        await client.close()


@pytest.fixture
def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
