"""Balance and statistics readings over several providers: each answers (or fails) alone."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from dispatcher.clock import ScaledClock
from dispatcher.fallback.account_readings import (
    BalanceWatcher,
    Reading,
    read_balances,
    read_statistics,
)
from dispatcher.fallback.base import Balance, OutgoingSms, SendOutcome
from dispatcher.fallback.devino_auth import DevinoCredentials
from dispatcher.fallback.devino_rest import DevinoRestV1Sender
from dispatcher.fallback.devino_soap import DevinoSoapV2Sender
from dispatcher.provider_sim import devino_rest as rest_sim
from dispatcher.provider_sim import devino_soap as soap_sim
from dispatcher.provider_sim.devino_platform import DevinoPlatform
from tests.http_servers import Serve

from .conftest import CREDENTIALS, LOGIN, RELAXED_TIMEOUT

Closing = Callable[[Any], Any]


class Silent:
    """A provider that never answers."""

    name = "silent"

    async def balance(self) -> Balance:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_every_provider_gets_its_own_reading(
    serve: Serve, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    options: dict[str, Any] = {"clock": clock, "timeout_seconds": RELAXED_TIMEOUT}
    rest_url = await serve(rest_sim.build_app(platform))
    soap_url = await serve(soap_sim.build_app(platform, requests_per_second=None))
    good = closing(DevinoRestV1Sender(CREDENTIALS, base_url=f"{rest_url}/rest", **options))
    refused = closing(
        DevinoSoapV2Sender(DevinoCredentials(LOGIN, "wrong"), base_url=soap_url, **options)
    )
    down = closing(
        DevinoRestV1Sender(CREDENTIALS, name="down", base_url=f"{closed_port()}/rest", **options)
    )

    readings = await read_balances([good, refused, down, Silent()], clock=clock, timeout_seconds=5)

    assert [r.provider for r in readings] == ["devino_rest_v1", "devino_soap_v2", "down", "silent"]
    assert readings[0] == Reading("devino_rest_v1", Balance(amount=1000.0))
    assert readings[1].value is None
    assert "Invalid user login or password" in (readings[1].error or "")
    assert readings[2].value is None and "cannot connect" in (readings[2].error or "")
    assert readings[3] == Reading("silent", None, "no answer within 5 s")


async def test_statistics_for_a_period(
    serve: Serve, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    options: dict[str, Any] = {"clock": clock, "timeout_seconds": RELAXED_TIMEOUT}
    rest_url = await serve(rest_sim.build_app(platform))
    soap_url = await serve(soap_sim.build_app(platform, requests_per_second=None))
    rest = closing(DevinoRestV1Sender(CREDENTIALS, base_url=f"{rest_url}/rest", **options))
    soap = closing(DevinoSoapV2Sender(CREDENTIALS, base_url=soap_url, **options))
    [sent] = await rest.send_batch([OutgoingSms("a", "DEVINO", "79161002030", "hi")])
    assert sent.outcome is SendOutcome.ACCEPTED
    now = datetime.now(UTC)

    start, end = now - timedelta(hours=1), now + timedelta(minutes=1)
    readings = await read_statistics([rest, soap], start, end)
    too_long = await read_statistics([rest], now - timedelta(days=91), now)

    rest_counts, soap_counts = (r.value for r in readings)
    assert rest_counts is not None and soap_counts is not None
    assert rest_counts.total == 1 and soap_counts.total is None  # SOAP has no totals
    assert rest_counts.in_process + rest_counts.sent + rest_counts.delivered == 1
    assert too_long[0].value is None and "90 days" in (too_long[0].error or "")
    assert len(platform.requests_for("rest", "statistics")) == 1  # the long one was not asked


async def test_the_watcher_refreshes_on_its_timer(
    serve: Serve, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    url = await serve(rest_sim.build_app(platform))
    rest = closing(
        DevinoRestV1Sender(
            CREDENTIALS, base_url=f"{url}/rest", clock=clock, timeout_seconds=RELAXED_TIMEOUT
        )
    )
    seen: list[Reading[Balance]] = []
    watcher = BalanceWatcher([rest], seen.append, clock=clock, interval_seconds=60.0)

    task = asyncio.create_task(watcher.run())
    for _ in range(200):  # bounded: until three readings came
        if len(seen) >= 3:
            break
        await clock.sleep(10.0)
        platform.balance -= 1
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    assert len(seen) >= 3
    amounts = [r.value.amount for r in seen if r.value is not None]
    assert len(amounts) == len(seen) and amounts == sorted(amounts, reverse=True)
    assert amounts[0] > amounts[-1]
