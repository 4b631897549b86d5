"""The Devino SOAP clients (v1 GetSessionID, v2 login/password) against the fake over loopback."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dispatcher.clock import ScaledClock
from dispatcher.fallback.base import ChannelError, OutgoingSms, SendOutcome
from dispatcher.fallback.devino_base import DevinoSenderBase
from dispatcher.fallback.devino_soap import (
    MAX_REQUESTS_PER_SECOND,
    RATE_SAFETY_MARGIN,
    DevinoSoapV1Sender,
    DevinoSoapV2Sender,
    RequestSpacer,
    build_envelope,
)
from dispatcher.provider_sim import devino_soap as soap_sim
from dispatcher.provider_sim.devino_platform import DevinoPlatform
from dispatcher.status import MessageStatus
from tests.http_servers import Serve

from .conftest import (
    CREDENTIALS,
    LOGIN,
    RELAXED_TIMEOUT,
    new_platform,
    poll_until_final,
)

Closing = Callable[[DevinoSenderBase], DevinoSenderBase]


def v1(url: str, clock: ScaledClock, closing: Closing, **options: Any) -> DevinoSoapV1Sender:
    options.setdefault("timeout_seconds", RELAXED_TIMEOUT)
    sender = DevinoSoapV1Sender(CREDENTIALS, base_url=url, clock=clock, **options)
    closing(sender)
    return sender


def v2(url: str, clock: ScaledClock, closing: Closing, **options: Any) -> DevinoSoapV2Sender:
    options.setdefault("timeout_seconds", RELAXED_TIMEOUT)
    sender = DevinoSoapV2Sender(CREDENTIALS, base_url=url, clock=clock, **options)
    closing(sender)
    return sender


def sms(key: str, destination: str, body: str = "hello") -> OutgoingSms:
    return OutgoingSms(key=key, source="DEVINO", destination=destination, body=body)


def _squash(xml: str) -> str:
    return re.sub(r">\s+<", "><", xml.strip())


def test_envelopes_are_built_as_the_seed_shows() -> None:
    # seed L3545-3558 (GetSessionID), verbatim apart from the placeholders' values.
    seed_example = """<?xml version="1.0" encoding="utf-8"?>
<soap12:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap12="http://www.w3.org/2003/05/soap-envelope">
  <soap12:Body>
    <GetSessionID xmlns="http://ws.devinosms.com">
      <login>string</login>
      <password>string</password>
    </GetSessionID>
  </soap12:Body>
</soap12:Envelope>"""  # noqa: E501  (verbatim)
    built = build_envelope("GetSessionID", [("login", "string"), ("password", "string")])
    assert _squash(built) == _squash(seed_example)

    # seed L3771-3785 (SendMessage): nested message, ArrayOfString, element order kept.
    built = build_envelope(
        "SendMessage",
        [
            ("sessionID", "S"),
            (
                "message",
                [("Data", "a<b&c"), ("DestinationAddresses", [("string", "7"), ("string", "8")])],
            ),
        ],
    )
    assert "<message><Data>a&lt;b&amp;c</Data><DestinationAddresses><string>7</string>" in _squash(
        built
    )


@pytest.mark.parametrize("make", [v1, v2], ids=["v1", "v2"])
async def test_send_status_to_final_balance_and_statistics(
    make: Callable[..., DevinoSenderBase],
    soap_url: str,
    platform: DevinoPlatform,
    clock: ScaledClock,
    closing: Closing,
) -> None:
    sender = make(soap_url, clock, closing)
    messages = [
        sms("a", "79161002030"),
        sms("b", "79161002031"),
        sms("c", "79161002032", body="y" * 161),  # seed L3729: over 160 Latin: two segments
        sms("d", "79990000041", body="bye"),  # the platform reports 41
    ]

    results = await sender.send_batch(messages)

    assert [(r.key, r.outcome) for r in results] == [(k, SendOutcome.ACCEPTED) for k in "abcd"]
    assert [len(r.provider_ids) for r in results] == [1, 1, 2, 1]
    assert len(platform.requests_for("soap", "sendmessage")) == 3
    reports = await poll_until_final(sender, [i for r in results for i in r.provider_ids], clock)
    statuses = {r.key: {reports[i].status for i in r.provider_ids} for r in results}
    assert statuses == {
        "a": {MessageStatus.DELIVERED},
        "b": {MessageStatus.DELIVERED},
        "c": {MessageStatus.DELIVERED},
        "d": {MessageStatus.REJECTED},
    }
    assert reports[results[3].provider_ids[0]].code == "41"

    balance = await sender.balance()
    assert balance.amount == pytest.approx(1000.0 - 5)
    now = datetime.now(UTC)
    stats = await sender.statistics(now - timedelta(hours=1), now + timedelta(hours=1))
    assert (stats.delivered, stats.rejected, stats.total) == (4, 1, None)


# --- faults: SOAP has no codes; the reason text decides (spec §9.4, A35) -----------------------

FAULTS = [
    ("Invalid user login or password", "stop"),  # seed L3523-3524
    ("SessionID expired", "renewed"),
    ("Invalid session id", "renewed"),
    ("Not enough credits", "pause"),
    ("Forbidden", "stop"),
    ("Invalid destination address 79161002030", "rejected"),
    ("Invalid source address", "rejected"),
    ("Invalid message length", "rejected"),
    ("Argument cannot be null or empty", "rejected"),
    ("Gateway error", "retry"),
    ("Internal server error", "retry"),
    ("Too many requests", "retry"),
    ("Object reference not set to an instance of an object.", "retry"),
]


@pytest.mark.parametrize(("cause", "expected"), FAULTS)
async def test_each_fault_of_a_send(
    cause: str,
    expected: str,
    soap_url: str,
    platform: DevinoPlatform,
    clock: ScaledClock,
    closing: Closing,
) -> None:
    sender = v1(soap_url, clock, closing)
    platform.inject("send", 0, cause)
    message = sms("a", "79161002030")

    if expected in ("stop", "pause"):
        with pytest.raises(ChannelError) as caught:
            await sender.send_batch([message])
        assert caught.value.permanent is (expected == "stop")
        assert caught.value.code == "soap:Receiver"
        return

    [result] = await sender.send_batch([message])
    if expected == "renewed":
        assert result.outcome is SendOutcome.ACCEPTED
        assert platform.logins == 2
    else:
        outcome = {"rejected": SendOutcome.REJECTED, "retry": SendOutcome.RETRY}[expected]
        assert (result.outcome, result.text) == (outcome, cause)
        assert platform.segments == {}


async def test_an_expired_session_is_renewed_and_the_call_repeated(
    soap_url: str, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = v1(soap_url, clock, closing)
    await sender.balance()
    platform.expire_sessions()
    await sender.balance()
    assert platform.logins == 2
    assert len(platform.requests_for("soap", "getbalance")) == 3


async def test_the_session_is_renewed_before_its_two_hours(serve: Serve, closing: Closing) -> None:
    clock = ScaledClock(0.0001)
    platform = new_platform(clock)
    url = await serve(soap_sim.build_app(platform))
    sender = v1(url, clock, closing, timeout_seconds=100_000.0)
    await sender.balance()
    await clock.sleep(111 * 60)
    await sender.balance()
    assert platform.logins == 2
    assert len(platform.requests_for("soap", "getbalance")) == 2


@pytest.mark.parametrize("make", [v1, v2], ids=["v1", "v2"])
async def test_bad_credentials_are_a_permanent_channel_error(
    make: Callable[..., DevinoSenderBase], serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    platform = DevinoPlatform(clock=clock, accounts={LOGIN: "another password"})
    url = await serve(soap_sim.build_app(platform))
    sender = make(url, clock, closing)
    with pytest.raises(ChannelError) as caught:
        await sender.send_batch([sms("a", "79161002030")])
    assert caught.value.permanent


async def test_one_invalid_number_in_a_request_is_isolated(
    soap_url: str, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = v2(soap_url, clock, closing)
    results = await sender.send_batch(
        [sms("a", "79161002030"), sms("bad", "79990000000"), sms("c", "79161002031")]
    )
    assert [r.outcome for r in results] == [
        SendOutcome.ACCEPTED,
        SendOutcome.REJECTED,
        SendOutcome.ACCEPTED,
    ]
    assert len(platform.requests_for("soap", "sendmessage")) == 1 + 3


async def test_text_xml_cannot_carry_is_rejected_without_a_request(
    soap_url: str, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = v2(soap_url, clock, closing)
    [result] = await sender.send_batch([sms("a", "79161002030", body="bell \x07")])
    assert result.outcome is SendOutcome.REJECTED
    assert platform.requests_for("soap") == []


# --- the 10 requests per second limit (seed L3510-3511) ----------------------------------------


async def test_requests_stay_under_ten_per_second_at_the_provider(
    serve: Serve, closing: Closing
) -> None:
    # 500 ms per clock second: 30 spaced requests take about 1.7 s of real time, and a loaded
    # machine's jitter on the way to the fake is small against the 0.11 s between them.
    clock = ScaledClock(0.5)
    platform = new_platform(clock)
    url = await serve(soap_sim.build_app(platform))
    sender = v2(url, clock, closing, concurrency=16, timeout_seconds=50.0)
    [result] = await sender.send_batch([sms("a", "79161002030", body="ж" * (67 * 14 + 1))])
    ids = list(result.provider_ids)
    assert len(ids) == 15

    await sender.query_status(ids + ids)  # 30 GetMessageState at once, 16 allowed in flight

    times = [r.time for r in platform.requests_for("soap")]
    assert len(times) == 31
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 10
    assert platform.rate_limited == 0
    # the spacer, not chance, kept them apart: 31 starts need at least 30 gaps of 0.1 s
    assert times[-1] - times[0] >= 30 * 0.1


# --- in-doubt sends ------------------------------------------------------------------------------


async def test_the_spacer_keeps_its_interval_after_the_loop_woke_it_late() -> None:
    clock = ScaledClock(0.01)
    spacer = RequestSpacer(clock, MAX_REQUESTS_PER_SECOND)
    starts: list[float] = []

    async def request() -> None:
        await spacer.wait_turn()
        starts.append(clock.monotonic())

    requests = [asyncio.create_task(request()) for _ in range(6)]
    while not starts:  # the first goes at once, the others wait their turns
        await asyncio.sleep(0)
    time.sleep(0.02)  # the loop busy for 2 clock seconds: every waiting turn falls due
    await asyncio.gather(*requests)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert len(gaps) == 5
    assert min(gaps) >= (1 + RATE_SAFETY_MARGIN) / MAX_REQUESTS_PER_SECOND, gaps


async def test_a_send_without_answer_is_in_doubt(
    soap_url: str, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = v2(soap_url, clock, closing, timeout_seconds=30.0)
    platform.hang_sends = 1
    [result] = await sender.send_batch([sms("a", "79161002030")])
    assert result.outcome is SendOutcome.IN_DOUBT
    assert len(platform.segments) == 1  # the platform has it; no way to learn that by our key
    [settled] = await sender.resolve_in_doubt([sms("a", "79161002030")])
    assert settled.outcome is SendOutcome.IN_DOUBT
