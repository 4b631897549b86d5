"""Answers the fakes never give but the seed shows or a proxy might: the clients read them
without crashing and give each message a sensible outcome. A small scripted HTTP server on
127.0.0.1 plays the provider."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from dispatcher.clock import ScaledClock
from dispatcher.fallback.base import OutgoingSms, SendOutcome
from dispatcher.fallback.devino_base import DevinoSenderBase
from dispatcher.fallback.devino_rest import DevinoRestV1Sender, DevinoRestV2Sender
from dispatcher.fallback.devino_soap import DevinoSoapV2Sender
from tests.http_servers import Serve

from .conftest import CREDENTIALS, RELAXED_TIMEOUT

Closing = Callable[[DevinoSenderBase], DevinoSenderBase]


def scripted(status: int, body: str, content_type: str = "application/json") -> web.Application:
    """An app answering every request alike; the session id request gets a seed-style id."""

    async def answer(request: web.Request) -> web.Response:
        if request.path.lower().endswith("user/sessionid"):
            # seed L117-118: "a string in quotes (not as JSON)"
            return web.Response(text='"Z5CYSZEKDL1DPICU37WEHQVOYKP0T1GSLHX1"')
        return web.Response(status=status, text=body, content_type=content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


def messages(count: int) -> list[OutgoingSms]:
    return [OutgoingSms(str(i), "DEVINO", f"7916000000{i}", "same text") for i in range(count)]


async def test_the_seed_pseudo_json_error_is_understood(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    # seed L318-322, verbatim: unquoted keys.
    url = await serve(scripted(400, '{\nCode: 6,\nDesc: "Invalid source address"\n\n}'))
    sender = closing(
        DevinoRestV1Sender(CREDENTIALS, base_url=url, clock=clock, timeout_seconds=RELAXED_TIMEOUT)
    )
    [result] = await sender.send_batch(messages(1))
    assert (result.outcome, result.code, result.text) == (
        SendOutcome.REJECTED,
        "6",
        "Invalid source address",
    )


async def test_ids_that_cannot_be_mapped_leave_the_messages_accepted_untracked(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    # spec A20/§2.4: three ids for two recipients cannot be split per recipient.
    url = await serve(scripted(200, '["GW1","GW2","GW3"]'))
    sender = closing(
        DevinoRestV2Sender(CREDENTIALS, base_url=url, clock=clock, timeout_seconds=RELAXED_TIMEOUT)
    )
    results = await sender.send_batch(messages(2))
    assert [(r.outcome, r.provider_ids) for r in results] == [(SendOutcome.ACCEPTED, ())] * 2
    assert all("cannot be mapped" in (r.text or "") for r in results)


async def test_an_unreadable_success_is_in_doubt(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    url = await serve(scripted(200, "<html>maintenance</html>", "text/html"))
    sender = closing(
        DevinoRestV2Sender(CREDENTIALS, base_url=url, clock=clock, timeout_seconds=RELAXED_TIMEOUT)
    )
    results = await sender.send_batch(messages(2))
    assert [r.outcome for r in results] == [SendOutcome.IN_DOUBT] * 2


async def test_a_proxy_error_page_is_in_doubt_and_a_status_poll_skips_it(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    url = await serve(scripted(502, "Bad Gateway", "text/plain"))
    sender = closing(
        DevinoRestV2Sender(CREDENTIALS, base_url=url, clock=clock, timeout_seconds=RELAXED_TIMEOUT)
    )
    [result] = await sender.send_batch(messages(1))
    assert result.outcome is SendOutcome.IN_DOUBT
    assert await sender.query_status(["GW1", "GW2"]) == []


async def test_a_soap_answer_that_is_not_xml_is_in_doubt(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    url = await serve(scripted(200, "not xml at all", "application/soap+xml"))
    sender = closing(
        DevinoSoapV2Sender(CREDENTIALS, base_url=url, clock=clock, timeout_seconds=RELAXED_TIMEOUT)
    )
    [result] = await sender.send_batch(messages(1))
    assert result.outcome is SendOutcome.IN_DOUBT
