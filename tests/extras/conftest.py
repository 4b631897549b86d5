"""Fixtures: the Devino platform fake and an in-memory store for callback records that keeps
one record per dedupe key (what the outbox tables do). The scaled clock, `serve`, `closing` and
`closed_port_url` come from tests/http_servers.py.

One clock second lasts 10 ms: a fake Viber message's 3 s to its outcome take 30 ms. Clients get
a long response timeout (`RELAXED_TIMEOUT`) unless a test is about timeouts.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pytest

from dispatcher.clock import Clock, ScaledClock
from dispatcher.fallback.devino_auth import DevinoCredentials
from dispatcher.fallback.devino_base import DevinoSenderBase
from dispatcher.fallback.devino_incoming import Stored
from dispatcher.fallback.devino_rest import DevinoRestV1Sender, DevinoRestV2Sender
from dispatcher.fallback.devino_soap import DevinoSoapV1Sender, DevinoSoapV2Sender
from dispatcher.fallback.viber import ViberReport
from dispatcher.provider_sim import devino_rest as rest_sim
from dispatcher.provider_sim import devino_soap as soap_sim
from dispatcher.provider_sim.devino_platform import DevinoPlatform
from tests.http_servers import Serve

RELAXED_TIMEOUT = 1000.0  # clock seconds
LOGIN = "acme"
PASSWORD = "a+b==13%!"  # the seed's encoding example (L94-98)
CREDENTIALS = DevinoCredentials(LOGIN, PASSWORD)


def new_platform(clock: Clock, **options: Any) -> DevinoPlatform:
    return DevinoPlatform(clock=clock, accounts={LOGIN: PASSWORD}, **options)


@pytest.fixture
def platform(clock: ScaledClock) -> DevinoPlatform:
    return new_platform(clock)


@dataclass
class MemoryStore:
    """Keeps one record per dedupe key, like a table with a unique key; `known` are the
    provider ids we sent (an event about another id is stored and flagged)."""

    known: Collection[str] = ()
    records: dict[str, Any] = field(default_factory=dict)
    calls: int = 0
    fail: bool = False
    fail_times: int = 0  # fail this many calls, then work

    async def __call__(self, records: Sequence[Any]) -> Stored:
        self.calls += 1
        if self.fail or self.fail_times > 0:
            self.fail_times = max(0, self.fail_times - 1)
            raise RuntimeError("database down")
        new = duplicates = 0
        unknown: list[str] = []
        for record in records:
            if record.dedupe_key in self.records:
                duplicates += 1
                continue
            self.records[record.dedupe_key] = record
            new += 1
            about = getattr(record, "parent_id", None) or record.provider_id
            if self.known and about not in self.known:
                unknown.append(about)
        return Stored(new=new, duplicates=duplicates, unknown_ids=tuple(unknown))


class ViberStatusSource(Protocol):
    async def viber_status(
        self, provider_ids: Sequence[str], *, resend: bool = False
    ) -> list[ViberReport]: ...


async def poll_viber_until_final(
    sender: ViberStatusSource,
    ids: Sequence[str],
    clock: Clock,
    *,
    resend: bool = False,
    rounds: int = 40,
) -> dict[str, ViberReport]:
    """Ask for the ids' reports until every one is final (bounded: `rounds` polls 1 s apart)."""
    reports: dict[str, ViberReport] = {}
    for _ in range(rounds):
        reports = {r.provider_id: r for r in await sender.viber_status(ids, resend=resend)}
        if set(reports) == set(ids) and all(r.is_final for r in reports.values()):
            return reports
        await clock.sleep(1.0)
    raise AssertionError(f"not final after {rounds} polls: {reports}")


async def devino_client(
    api: str,
    serve: Serve,
    platform: DevinoPlatform,
    clock: ScaledClock,
    closing: Callable[[Any], Any],
) -> DevinoSenderBase:
    """A sender of `api` (rest-v1, rest-v2, soap-v1, soap-v2) on its fake, closed after the test."""
    options: dict[str, Any] = {"clock": clock, "timeout_seconds": RELAXED_TIMEOUT}
    sender: DevinoSenderBase
    if api.startswith("rest"):
        url = await serve(rest_sim.build_app(platform))
        if api == "rest-v1":
            sender = DevinoRestV1Sender(CREDENTIALS, base_url=f"{url}/rest", **options)
        else:
            sender = DevinoRestV2Sender(CREDENTIALS, base_url=f"{url}/rest/v2", **options)
    else:
        url = await serve(soap_sim.build_app(platform, requests_per_second=None))
        soap = DevinoSoapV1Sender if api == "soap-v1" else DevinoSoapV2Sender
        sender = soap(CREDENTIALS, base_url=url, **options)
    closing(sender)
    return sender
