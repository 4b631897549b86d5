"""The Viber calls of the Devino REST (R10-R14) and SOAP (§7.8-7.9, §8.7-8.8) clients against
their fakes over loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dispatcher.clock import ScaledClock
from dispatcher.fallback.base import ChannelError, SendOutcome
from dispatcher.fallback.devino_viber_codes import MESSAGE_CODES
from dispatcher.fallback.viber import Leg, OutgoingViber, SmsResend, ViberButton
from dispatcher.provider_sim.devino_platform import DevinoPlatform
from dispatcher.status import MessageStatus
from tests.http_servers import Serve

from .conftest import devino_client, poll_viber_until_final

Closing = Callable[[Any], Any]

APIS = ["rest-v1", "rest-v2", "soap-v1", "soap-v2"]


def viber_requests(platform: DevinoPlatform) -> int:
    """Viber send requests: REST records them as "viber_send", SOAP by operation."""
    return sum(
        r.operation == "viber_send" or r.operation.startswith("viber_sendmessage")
        for r in platform.requests
    )


def viber(key: str, destination: str, **options: Any) -> OutgoingViber:
    return OutgoingViber(key, "ACME", destination, options.pop("body", "Код 1234"), **options)


@pytest.mark.parametrize("api", APIS)
async def test_viber_and_viber_with_sms_resend_to_final(
    api: str, serve: Serve, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = await devino_client(api, serve, platform, clock, closing)
    plain = [viber("read", "79161002030"), viber("expired", "+79990000104")]
    resent = [
        viber("fallback", "79990000101", resend=SmsResend(), validity_seconds=600),
        viber("lost", "79990000105", resend=SmsResend(), validity_seconds=600),
    ]

    plain_results = await sender.send_viber(plain)
    resent_results = await sender.send_viber(resent)

    assert all(r.outcome is SendOutcome.ACCEPTED for r in plain_results + resent_results)
    assert viber_requests(platform) == 2  # one bulk request each: same sender and text
    plain_ids = [r.provider_ids[0] for r in plain_results]
    resent_ids = [r.provider_ids[0] for r in resent_results]
    assert len(set(plain_ids + resent_ids)) == 4
    plain_reports = await poll_viber_until_final(sender, plain_ids, clock)
    read, expired = (plain_reports[i] for i in plain_ids)
    assert (read.status, read.decided_by, read.sms) == (MessageStatus.DELIVERED, Leg.VIBER, None)
    assert (expired.status, expired.viber.code) == (MessageStatus.EXPIRED, "7")
    resent_reports = await poll_viber_until_final(sender, resent_ids, clock, resend=True)
    fallback, lost = (resent_reports[i] for i in resent_ids)
    # Both legs kept: the Viber leg was not delivered, the SMS re-send decided.
    assert (fallback.viber.status, fallback.viber.code) == (MessageStatus.UNDELIVERABLE, "4")
    assert fallback.sms is not None and fallback.sms.ids
    assert (fallback.status, fallback.decided_by) == (MessageStatus.DELIVERED, Leg.SMS)
    assert lost.sms is not None and lost.sms.code == "42"
    assert (lost.status, lost.decided_by) == (MessageStatus.UNDELIVERABLE, Leg.SMS)
    assert lost.as_status_report().code == "sms:42"
    resend_flags = [m.resend for m in platform.viber_messages.values()]
    assert resend_flags == [False, False, True, True]


@pytest.mark.parametrize("api", APIS)
async def test_a_refused_bulk_is_narrowed_down_and_codes_are_read_from_desc(
    api: str, serve: Serve, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = await devino_client(api, serve, platform, clock, closing)
    messages = [
        viber("good", "79161002030"),
        viber("bad", "79990000000"),  # the platform's invalid number: error-address-format
        viber("system", "79990000008"),  # the platform's gateway failure: error-system
    ]

    good, bad, system = await sender.send_viber(messages)

    assert good.outcome is SendOutcome.ACCEPTED
    assert (bad.outcome, bad.code) == (SendOutcome.REJECTED, "error-address-format")
    assert (system.outcome, system.code) == (SendOutcome.RETRY, "error-system")
    assert viber_requests(platform) == 4  # the bulk, then one by one


@pytest.mark.parametrize("api", ["rest-v1", "soap-v2"])
async def test_what_these_apis_cannot_carry_is_refused_locally(
    api: str, serve: Serve, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = await devino_client(api, serve, platform, clock, closing)
    messages = [
        viber("other-sms-text", "79161002030", resend=SmsResend(text="SMS text")),
        viber("other-sms-sender", "79161002030", resend=SmsResend(source="OTHER")),
        viber("button", "79161002030", button=ViberButton("Go", "https://example.com")),
        viber("too-long", "79161002030", body="x" * 1001),
    ]

    results = await sender.send_viber(messages)

    assert [r.outcome for r in results] == [SendOutcome.REJECTED] * 4
    assert "SMS text" in (results[0].text or "") and "sender" in (results[1].text or "")
    assert viber_requests(platform) == 0


@pytest.mark.parametrize("api", ["rest-v2", "soap-v1"])
async def test_no_credit_is_a_channel_error(
    api: str, serve: Serve, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = await devino_client(api, serve, platform, clock, closing)
    platform.balance = 0.0

    with pytest.raises(ChannelError) as caught:
        await sender.send_viber([viber("a", "79161002030"), viber("b", "79161002031")])

    assert not caught.value.permanent and caught.value.retry_after


@pytest.mark.parametrize("api", ["rest-v1", "soap-v1"])
async def test_validity_is_sent_in_minutes_within_the_documented_range(
    api: str, serve: Serve, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = await devino_client(api, serve, platform, clock, closing)

    await sender.send_viber(
        [
            viber("day", "79161002030", validity_seconds=86400 * 3),
            viber("default", "79161002031", body="other"),
        ]
    )

    lifetimes = sorted(m.validity_seconds for m in platform.viber_messages.values())
    assert lifetimes == [3600.0, 1440 * 60.0]  # seed L986: 1..1440 minutes; our default 60


@pytest.mark.parametrize("api", ["rest-v1", "soap-v1"])
async def test_every_return_code_named_in_an_error_decides_the_message(
    api: str, serve: Serve, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = await devino_client(api, serve, platform, clock, closing)
    codes = sorted(MESSAGE_CODES)

    for code in codes:
        platform.inject("viber_send", 1, code)  # REST: {Code: 1, Desc: code}; SOAP: a fault
        [result] = await sender.send_viber([viber("a", "79161002030")])

        expected = SendOutcome.RETRY if code == "error-system" else SendOutcome.REJECTED
        assert (result.outcome, result.code) == (expected, code)
