"""Fixtures: the Devino fakes on real 127.0.0.1 sockets and clients pointed at them (the scaled
clock, `serve`, `closing` and `closed_port_url` come from tests/http_servers.py).

One clock second lasts 10 ms: the fakes' 7 s from queued to final take 70 ms.
Clients get a long response timeout (`RELAXED_TIMEOUT`, 10 s of real time) unless a test is
about timeouts, so that a busy machine never turns a slow answer into an in-doubt send.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from dispatcher.clock import Clock, ScaledClock
from dispatcher.fallback.base import StatusReport
from dispatcher.fallback.devino_auth import DevinoCredentials
from dispatcher.fallback.devino_base import DevinoSenderBase
from dispatcher.provider_sim import devino_rest as rest_sim
from dispatcher.provider_sim import devino_soap as soap_sim
from dispatcher.provider_sim.devino_platform import DevinoPlatform
from tests.http_servers import Serve

RELAXED_TIMEOUT = 1000.0  # clock seconds
LOGIN = "acme"
# The seed's own encoding example (L94-98): every character here needs percent-encoding.
PASSWORD = "a+b==13%!"
CREDENTIALS = DevinoCredentials(LOGIN, PASSWORD)



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
