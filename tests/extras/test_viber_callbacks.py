"""The Viber callbacks (seed 004 L6686-6843): the fake POSTs status events and incoming
replies to our handlers, mounted behind the callback guard on a real loopback server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from structlog.testing import capture_logs

from dispatcher.callback_auth import CallbackAccess, guarded
from dispatcher.clock import ScaledClock
from dispatcher.fallback.devino_incoming import (
    CHANNEL_VIBER,
    InboundMessage,
    ViberStatusEvent,
    viber_incoming_handler,
    viber_status_handler,
)
from dispatcher.fallback.devino_viber import DevinoViberSender
from dispatcher.fallback.viber import OutgoingViber
from dispatcher.provider_sim import devino_viber as viber_sim
from dispatcher.status import MessageStatus
from tests.http_servers import Serve

from .conftest import CREDENTIALS, LOGIN, PASSWORD, RELAXED_TIMEOUT, MemoryStore

TOKEN = "Xk3-pQ9_vR2mT7wY4zL8nB5c"
Closing = Callable[[Any], Any]


async def callback_server(
    serve: Serve,
    clock: ScaledClock,
    statuses: MemoryStore,
    incoming: MemoryStore,
    access: CallbackAccess | None = None,
) -> str:
    guard = access or CallbackAccess(TOKEN)
    app = web.Application()
    app.router.add_post(
        "/callbacks/{token}/viber-status",
        guarded(guard, viber_status_handler(statuses, clock=clock)),
    )
    app.router.add_post(
        "/callbacks/{token}/viber-in", guarded(guard, viber_incoming_handler(incoming, clock=clock))
    )
    return await serve(app)


async def provider(
    serve: Serve, clock: ScaledClock, closing: Closing, **options: Any
) -> tuple[DevinoViberSender, viber_sim.ViberApiSim]:
    sim = viber_sim.ViberApiSim(clock=clock, accounts={LOGIN: PASSWORD}, **options)
    url = await serve(viber_sim.build_app(sim))
    sender = DevinoViberSender(
        CREDENTIALS, base_url=url, clock=clock, timeout_seconds=RELAXED_TIMEOUT
    )
    closing(sender)
    return sender, sim


async def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        assert await r.read() == b"" or r.status != 200  # 200 carries an empty body
        return r.status


async def test_status_callbacks_are_stored_once_each(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    statuses, incoming = MemoryStore(), MemoryStore()
    url = await callback_server(serve, clock, statuses, incoming)
    callback_url = f"{url}/callbacks/{TOKEN}/viber-status"
    sender, sim = await provider(serve, clock, closing, callback_url=callback_url)
    results = await sender.send_viber(
        [
            OutgoingViber("read", "ACME", "79161002030", "hi"),
            OutgoingViber("blocked", "ACME", "79990000102", "hi"),
        ]
    )
    read_id, blocked_id = (r.provider_ids[0] for r in results)
    statuses.known = {read_id, blocked_id}

    for _ in range(20):  # the fake reads after delivery: DELIVERED, then READ
        await clock.sleep(1.0)
        await sim.push_callbacks()
        if len(statuses.records) == 3:
            break

    events: list[ViberStatusEvent] = list(statuses.records.values())
    by_state = {(e.provider_id, e.raw_status): e for e in events}
    assert set(by_state) == {
        (read_id, "DELIVERED"),
        (read_id, "READ"),
        (blocked_id, "UNDELIVERED"),
    }
    blocked = by_state[(blocked_id, "UNDELIVERED")]
    assert (blocked.status, blocked.error_code) == (MessageStatus.UNDELIVERABLE, "USER_BLOCKED")
    assert blocked.received_at is not None
    assert len(sim.acknowledged) == 3  # every event answered 200: the fake stops sending it
    assert await sim.push_callbacks() == 0

    # The same callback again (the platform retries for 24 h, seed L6693-6694): same keys.
    calls = statuses.calls
    for body in sim.callbacks:
        assert await post(callback_url, json.dumps(body).encode()) == 200
    assert statuses.calls > calls
    assert len(statuses.records) == 3


async def test_a_store_failure_is_answered_500_and_the_provider_tries_again(
    serve: Serve, clock: ScaledClock
) -> None:
    statuses = MemoryStore(fail=True)
    url = await callback_server(serve, clock, statuses, MemoryStore())
    sim = viber_sim.ViberApiSim(clock=clock, callback_url=f"{url}/callbacks/{TOKEN}/viber-status")
    sim.lifecycle.create(LOGIN, "79990000106", "ACME", "hi", 3600.0, resend=False)
    await clock.sleep(4.0)  # delivered after 3 s

    assert await sim.push_callbacks() == 1
    assert sim.acknowledged == set() and statuses.records == {}
    statuses.fail = False
    assert await sim.push_callbacks() == 1
    assert len(sim.acknowledged) == 1 and len(statuses.records) == 1


async def test_a_wrong_token_is_a_404_and_nothing_is_stored(
    serve: Serve, clock: ScaledClock
) -> None:
    statuses = MemoryStore()
    url = await callback_server(serve, clock, statuses, MemoryStore())
    sim = viber_sim.ViberApiSim(
        clock=clock, callback_url=f"{url}/callbacks/{TOKEN[:-1]}X/viber-status"
    )
    sim.lifecycle.create(LOGIN, "79990000106", "ACME", "hi", 3600.0, resend=False)
    await clock.sleep(4.0)

    with capture_logs() as logs:
        assert await sim.push_callbacks() == 1
        assert await post(f"{url}/callbacks/{TOKEN}x/viber-status", b"[]") == 404
        assert await post(f"{url}/callbacks//viber-status", b"[]") == 404  # no such route

    assert sim.acknowledged == set() and statuses.calls == 0
    refusals = [e for e in logs if e["event"] == "callback_refused"]
    assert [(e["status"], e["reason"]) for e in refusals] == [(404, "wrong token")] * 2
    assert TOKEN not in repr(logs) and TOKEN not in repr(CallbackAccess(TOKEN))


async def test_sources_outside_the_allow_list_are_refused(
    serve: Serve, clock: ScaledClock
) -> None:
    statuses = MemoryStore()
    access = CallbackAccess.from_config(
        TOKEN, allowed_sources=["10.0.0.0/8", "2001:db8::/32"], trusted_proxies=["127.0.0.1"]
    )
    url = await callback_server(serve, clock, statuses, MemoryStore(), access)
    target = f"{url}/callbacks/{TOKEN}/viber-status"
    body = b'[{"id": 1, "receivedAt": "1527861323068", "status": "DELIVERED"}]'

    assert await post(target, body) == 403  # 127.0.0.1 itself is not allowed
    spoofed = {"X-Forwarded-For": "10.9.9.9, 203.0.113.5"}  # the proxy saw 203.0.113.5
    assert await post(target, body, spoofed) == 403
    assert statuses.calls == 0
    assert await post(target, body, {"X-Forwarded-For": "203.0.113.5, 10.1.2.3"}) == 200
    assert len(statuses.records) == 1


async def test_a_status_for_an_unknown_id_is_accepted_but_flagged(
    serve: Serve, clock: ScaledClock
) -> None:
    statuses = MemoryStore(known={"3158611117333282816"})
    url = await callback_server(serve, clock, statuses, MemoryStore())
    body = (
        b'[{"id": 3158611117333282816, "receivedAt": "1527861323068", "status": "READ"},'
        b' {"ID": "9158611117333282899", "ReceivedAt": "1527861323070", "Status": "FAILED"}]'
    )

    with capture_logs() as logs:
        status = await post(f"{url}/callbacks/{TOKEN}/viber-status", body)

    assert status == 200
    stored = {e.provider_id: e for e in statuses.records.values()}
    assert stored["9158611117333282899"].status is MessageStatus.FAILED  # kept, 64-bit exact
    flagged = [e for e in logs if e["event"] == "viber_status_unknown_ids"]
    assert [e["ids"] for e in flagged] == [["9158611117333282899"]]


@pytest.mark.parametrize(
    ("body", "status", "stored"),
    [
        (b"not json", 400, 0),
        (b'{"id": 1, "status": "READ"}', 400, 0),
        (b'[{"id": 1}, {"status": "READ"}, "x", {"id": 2, "status": "READ"}]', 200, 1),
        (b'[{"id": 3, "receivedAt": "soon", "status": "TELEPORTED"}]', 200, 1),
    ],
)
async def test_bad_records_fail_alone(
    body: bytes, status: int, stored: int, serve: Serve, clock: ScaledClock
) -> None:
    statuses = MemoryStore()
    url = await callback_server(serve, clock, statuses, MemoryStore())

    assert await post(f"{url}/callbacks/{TOKEN}/viber-status", body) == status

    assert len(statuses.records) == stored
    for event in statuses.records.values():
        assert event.status in (MessageStatus.DELIVERED, MessageStatus.UNKNOWN)


async def test_incoming_viber_replies_are_stored_once_with_their_parent(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    incoming = MemoryStore()
    url = await callback_server(serve, clock, MemoryStore(), incoming)
    incoming_url = f"{url}/callbacks/{TOKEN}/viber-in"
    sender, sim = await provider(serve, clock, closing, incoming_url=incoming_url)
    [sent] = await sender.send_viber([OutgoingViber("a", "ACME", "79161002030", "Баланс?")])
    parent = int(sent.provider_ids[0])

    assert await sim.reply(parent, "balance") is True
    assert await post(incoming_url, json.dumps(sim.incoming_posts[-1]).encode()) == 200

    [message] = incoming.records.values()
    assert isinstance(message, InboundMessage)
    assert (message.channel, message.source, message.destination, message.text) == (
        CHANNEL_VIBER, "79161002030", "ACME", "balance"
    )
    assert message.parent_id == sent.provider_ids[0]
    assert message.received_at is not None
    assert incoming.calls == 2  # the repeat was stored as a duplicate
