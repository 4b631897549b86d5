"""Fixtures: the Devino fakes on real 127.0.0.1 sockets, clients pointed at them, a scaled clock.

One clock second lasts 10 ms (`CLOCK_FACTOR`): the fakes' 7 s from queued to final take 70 ms.
Clients get a long response timeout (`RELAXED_TIMEOUT`, 10 s of real time) unless a test is
about timeouts, so that a busy machine never turns a slow answer into an in-doubt send.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest
from aiohttp import web

from dispatcher.clock import Clock, ScaledClock
from dispatcher.fallback.base import StatusReport
from dispatcher.fallback.devino_auth import DevinoCredentials
from dispatcher.fallback.devino_base import DevinoSenderBase
from dispatcher.provider_sim import devino_rest as rest_sim
from dispatcher.provider_sim import devino_soap as soap_sim
from dispatcher.provider_sim.devino_platform import DevinoPlatform

CLOCK_FACTOR = 0.01
RELAXED_TIMEOUT = 1000.0  # clock seconds
LOGIN = "acme"
# The seed's own encoding example (L94-98): every character here needs percent-encoding.
PASSWORD = "a+b==13%!"
CREDENTIALS = DevinoCredentials(LOGIN, PASSWORD)

Serve = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
def clock() -> ScaledClock:
    return ScaledClock(CLOCK_FACTOR)


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start an aiohttp application on 127.0.0.1 (a free port); returns its base URL."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        # A short shutdown: a fake still holding a hung answer is released at teardown.
        runner = web.AppRunner(app, shutdown_timeout=0.2)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


def new_platform(clock: Clock, **options: Any) -> DevinoPlatform:
    return DevinoPlatform(clock=clock, accounts={LOGIN: PASSWORD}, **options)


@pytest.fixture
def platform(clock: ScaledClock) -> DevinoPlatform:
    return new_platform(clock)


@pytest.fixture
async def rest_url(serve: Serve, platform: DevinoPlatform) -> str:
    return await serve(rest_sim.build_app(platform))


@pytest.fixture
async def soap_url(serve: Serve, platform: DevinoPlatform) -> str:
    return await serve(soap_sim.build_app(platform))


@pytest.fixture
async def closing() -> AsyncIterator[Callable[[DevinoSenderBase], DevinoSenderBase]]:
    """Register a sender to be closed after the test."""
    senders: list[DevinoSenderBase] = []

    def register(sender: DevinoSenderBase) -> DevinoSenderBase:
        senders.append(sender)
        return sender

    yield register
    for sender in senders:
        await sender.close()


@pytest.fixture
def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def poll_until_final(
    sender: DevinoSenderBase, ids: Sequence[str], clock: Clock, *, rounds: int = 40
) -> dict[str, StatusReport]:
    """Ask for the ids' states until every one is final (bounded: `rounds` polls 2 s apart)."""
    for _ in range(rounds):
        reports = {r.provider_id: r for r in await sender.query_status(ids)}
        if set(reports) == set(ids) and all(r.is_final for r in reports.values()):
            return reports
        await clock.sleep(2.0)
    raise AssertionError(f"not final after {rounds} polls: {reports}")


async def poll_until_code(
    sender: DevinoSenderBase, provider_id: str, code: str, clock: Clock, *, rounds: int = 40
) -> StatusReport:
    """Ask for one id's state until the provider reports `code` (bounded)."""
    for _ in range(rounds):
        reports = await sender.query_status([provider_id])
        if reports and reports[0].code == code:
            return reports[0]
        await clock.sleep(2.0)
    raise AssertionError(f"{provider_id} never reported {code}")
