"""Incoming SMS over HTTP (seed 004 chapter 11): the pull through REST `Sms/In` and SOAP
`GetIncomingMessages`, and the platform's push to our handler, over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from dispatcher.callback_auth import CallbackAccess, guarded
from dispatcher.clock import ScaledClock
from dispatcher.fallback.devino_incoming import (
    CHANNEL_SMS_PUSH,
    InboundMessage,
    IncomingPoller,
    ReplyFor,
    sms_push_handler,
)
from dispatcher.provider_sim import devino_rest as rest_sim
from dispatcher.provider_sim.devino_mo_push import MoPusher
from dispatcher.provider_sim.devino_platform import DevinoPlatform
from tests.http_servers import Serve

from .conftest import LOGIN, PASSWORD, MemoryStore, devino_client

TOKEN = "mo-push-7Hq2xW9kLp4Rt6Zs"
Closing = Callable[[Any], Any]


def now() -> datetime:
    return datetime.now(UTC)


@pytest.mark.parametrize("api", ["rest-v1", "rest-v2", "soap-v1", "soap-v2"])
async def test_pull_lists_the_period_s_messages(
    api: str, serve: Serve, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = await devino_client(api, serve, platform, clock, closing)
    first = platform.receive_mo("79260000000", "79160000000", "test1")
    second = platform.receive_mo("79260000001", "79160000000", "СТОП")
    platform.receive_mo("79260000002", "79160000000", "old", created_wall=clock.wall() - 7200)

    messages = await sender.incoming(now() - timedelta(hours=1), now() + timedelta(minutes=1))
    again = await sender.incoming(now() - timedelta(hours=1), now() + timedelta(minutes=1))

    assert [(m.source, m.destination, m.text) for m in messages] == [
        ("79260000000", "79160000000", "test1"),
        ("79260000001", "79160000000", "СТОП"),
    ]
    assert [m.dedupe_key for m in messages] == [m.dedupe_key for m in again]
    assert len({m.dedupe_key for m in messages}) == 2
    for message, sent in zip(messages, (first, second), strict=True):
        assert message.received_at is not None
        assert abs(message.received_at.timestamp() - sent.created_wall) < 1.0
    if api.startswith("rest"):
        assert [m.provider_id for m in messages] == [str(first.id), str(second.id)]
    else:  # SOAP gives no id (spec A37): the key is made of the content
        assert [m.provider_id for m in messages] == [None, None]


@pytest.mark.parametrize("api", ["rest-v1", "soap-v2"])
async def test_a_period_the_platform_refuses_is_refused_before_asking(
    api: str, serve: Serve, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = await devino_client(api, serve, platform, clock, closing)

    with pytest.raises(ValueError, match="one year"):
        await sender.incoming(now() - timedelta(days=400), now())
    with pytest.raises(ValueError, match="end after"):
        await sender.incoming(now(), now() - timedelta(seconds=1))

    assert platform.requests == []


async def test_the_fake_refuses_sms_in_without_both_dates(
    serve: Serve, platform: DevinoPlatform
) -> None:
    url = await serve(rest_sim.build_app(platform))
    query = {"Login": LOGIN, "Password": PASSWORD, "minDateUTC": "2011-01-01T00:00:00"}

    async with aiohttp.ClientSession() as http, http.get(
        f"{url}/rest/v2/Sms/In", params=query
    ) as response:
        answer = await response.json()

    assert response.status == 500  # seed L1396-1397: code 9
    assert answer["Code"] == 9 and "'maxDateUtc' of non-nullable type" in answer["Desc"]


async def test_the_poller_returns_each_message_once(
    serve: Serve, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = await devino_client("rest-v1", serve, platform, clock, closing)
    poller = IncomingPoller(sender, clock=clock)
    platform.receive_mo("79260000000", "79160000000", "one")

    first = await poller.poll()
    second = await poller.poll()  # the window overlaps the first one: "one" again, filtered
    platform.receive_mo("79260000001", "79160000000", "two")
    third = await poller.poll()

    assert [m.text for m in first] == ["one"]
    assert second == []
    assert [m.text for m in third] == ["two"]
    assert len(platform.requests_for("rest", "incoming")) == 3


async def push_server(
    serve: Serve,
    clock: ScaledClock,
    store: MemoryStore,
    reply: ReplyFor | None = None,
    answer_within: float = 10.0,
) -> str:
    handler = sms_push_handler(store, reply=reply, clock=clock, answer_within=answer_within)
    guarded_handler = guarded(CallbackAccess(TOKEN), handler)
    app = web.Application()
    for method in ("GET", "POST"):
        app.router.add_route(method, "/callbacks/{token}/sms-in", guarded_handler)
    url = await serve(app)
    return f"{url}/callbacks/{TOKEN}/sms-in"


async def thanks(message: InboundMessage) -> str | None:
    return "Спасибо!" if message.prefix == "loto" else None


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_push_is_stored_and_answered_with_the_reply(
    method: str,
    serve: Serve,
    platform: DevinoPlatform,
    clock: ScaledClock,
    closing: Closing,
) -> None:
    store = MemoryStore()
    url = await push_server(serve, clock, store, reply=thanks)
    pusher = MoPusher(url, clock=clock, method=method)
    # seed L6064-6068, with the leading spaces of its example.
    message = platform.receive_mo("79089876534", "2435", " Играйте с нами в лото!", prefix=" loto")

    reply = await pusher.push(message)

    assert reply == "Спасибо!" and pusher.replies == {message.id: "Спасибо!"}
    [stored] = store.records.values()
    assert (stored.channel, stored.source, stored.destination) == (
        CHANNEL_SMS_PUSH, "79089876534", "2435"
    )
    assert (stored.text, stored.prefix, stored.provider_id) == (
        "Играйте с нами в лото!", "loto", str(message.id)
    )
    # The same message pulled through Sms/In has the same dedupe key: it is stored once.
    sender = await devino_client("rest-v2", serve, platform, clock, closing)
    [pulled] = await sender.incoming(now() - timedelta(hours=1), now() + timedelta(minutes=1))
    assert pulled.dedupe_key == stored.dedupe_key


async def test_the_answer_is_exactly_what_the_platform_reads(
    serve: Serve, clock: ScaledClock
) -> None:
    store = MemoryStore()
    url = await push_server(serve, clock, store, reply=thanks)
    query = {"sourcePhone": "79089876534", "number": "2435", "prefix": "loto", "text": "x",
             "messageId": "235515"}

    async with aiohttp.ClientSession() as http:
        async with http.get(url, params=query) as response:
            body, content_type = await response.read(), response.headers["Content-Type"]
        query["prefix"] = "other"
        query["messageId"] = "235516"
        async with http.get(url, params=query) as silent:
            silent_body = await silent.read()

    assert response.status == 200 and body == "{sms=Спасибо!}".encode()
    assert content_type == "text/plain; charset=utf-8"  # seed L6076
    assert (silent.status, silent_body) == (200, b"")  # no reply: an empty body


async def test_a_repeated_push_is_stored_once(
    serve: Serve, platform: DevinoPlatform, clock: ScaledClock
) -> None:
    store = MemoryStore()
    url = await push_server(serve, clock, store, reply=thanks)
    pusher = MoPusher(url, clock=clock)
    message = platform.receive_mo("79089876534", "2435", "лото", prefix="loto")

    assert await pusher.push(message) == "Спасибо!"
    assert await pusher.push(message) == "Спасибо!"  # our first answer was lost, say

    assert store.calls == 2 and len(store.records) == 1


async def test_a_slow_reply_is_abandoned_and_the_message_kept(
    serve: Serve, platform: DevinoPlatform, clock: ScaledClock
) -> None:
    store = MemoryStore()
    abandoned = asyncio.Event()

    async def never(message: InboundMessage) -> str | None:
        try:
            await asyncio.Event().wait()
        finally:
            abandoned.set()
        return "too late"

    url = await push_server(serve, clock, store, reply=never, answer_within=2.0)
    pusher = MoPusher(url, clock=clock)  # the platform waits 30 s for an answer

    reply = await pusher.push(platform.receive_mo("79089876534", "2435", "hi"))

    assert reply is None
    assert [attempt.status for attempt in pusher.history] == [200]  # answered, once
    assert abandoned.is_set() and len(store.records) == 1


async def test_a_store_failure_is_503_and_the_platform_pushes_again(
    serve: Serve, platform: DevinoPlatform, clock: ScaledClock
) -> None:
    store = MemoryStore(fail_times=1)
    url = await push_server(serve, clock, store)
    pusher = MoPusher(url, clock=clock, retry_after_error_seconds=1.0)

    await pusher.push(platform.receive_mo("79089876534", "2435", "hi"))

    assert [attempt.status for attempt in pusher.history] == [503, 200]
    assert len(store.records) == 1


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        (f"/callbacks/{TOKEN}/sms-in", {"sourcePhone": "79089876534", "text": "hi"}, 400),
        (f"/callbacks/{TOKEN}/sms-in", {"messageId": "1", "text": "hi"}, 400),
        ("/callbacks/not-the-token-at-all/sms-in", {"sourcePhone": "7908", "messageId": "1"}, 404),
    ],
)
async def test_unusable_pushes_are_refused(
    path: str, query: dict[str, str], status: int, serve: Serve, clock: ScaledClock
) -> None:
    store = MemoryStore()
    url = await push_server(serve, clock, store)
    base = url.removesuffix(f"/callbacks/{TOKEN}/sms-in")

    async with aiohttp.ClientSession() as http, http.get(base + path, params=query) as response:
        assert response.status == status

    assert store.calls == 0
