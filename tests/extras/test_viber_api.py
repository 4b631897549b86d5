"""The Viber HTTP API client (seed 004 chapter 12) against its fake over loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

from dispatcher.clock import ScaledClock
from dispatcher.fallback.base import ChannelError, SendOutcome
from dispatcher.fallback.devino_auth import DevinoCredentials
from dispatcher.fallback.devino_viber import DevinoViberSender
from dispatcher.fallback.devino_viber_codes import MESSAGE_CODES
from dispatcher.fallback.viber import Leg, OutgoingViber, SmsResend, ViberButton
from dispatcher.provider_sim import devino_viber as viber_sim
from dispatcher.status import MessageStatus
from tests.http_servers import Serve

from .conftest import CREDENTIALS, LOGIN, PASSWORD, RELAXED_TIMEOUT, poll_viber_until_final

Closing = Callable[[Any], Any]


async def start(
    serve: Serve, clock: ScaledClock, closing: Closing, **options: Any
) -> tuple[DevinoViberSender, viber_sim.ViberApiSim]:
    timeout = options.pop("timeout_seconds", RELAXED_TIMEOUT)
    credentials = options.pop("credentials", CREDENTIALS)
    sim = viber_sim.ViberApiSim(clock=clock, accounts={LOGIN: PASSWORD}, **options)
    url = await serve(viber_sim.build_app(sim))
    sender = DevinoViberSender(credentials, base_url=url, clock=clock, timeout_seconds=timeout)
    closing(sender)
    return sender, sim


def viber(
    key: str, destination: str, *, body: str = "Ваш код 1234", **options: Any
) -> OutgoingViber:
    return OutgoingViber(key, "ACME", destination, body, **options)


async def test_send_and_poll_to_delivered_with_exact_64_bit_ids(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    sender, sim = await start(serve, clock, closing)

    messages = [
        viber("read", "79161002030"),
        viber("delivered", "79990000106"),
        viber("blocked", "79990000102"),
    ]

    results = await sender.send_viber(messages)

    assert [r.outcome for r in results] == [SendOutcome.ACCEPTED] * 3
    ids = [r.provider_ids[0] for r in results]
    assert [int(i) for i in ids] == sorted(sim.lifecycle.messages)  # exact, beyond 2^53
    assert all(int(i) > 2**53 for i in ids)
    reports = await poll_viber_until_final(sender, ids, clock)
    read, delivered, blocked = (reports[i] for i in ids)
    assert (read.status, read.decided_by) == (MessageStatus.DELIVERED, Leg.VIBER)
    assert (delivered.status, delivered.viber.code, delivered.sms) == (
        MessageStatus.DELIVERED, "delivered", None
    )
    assert (blocked.status, blocked.viber.code, blocked.viber.text) == (
        MessageStatus.UNDELIVERABLE, "undelivered", "user-blocked"
    )
    assert blocked.as_status_report().code == "viber:undelivered"
    await clock.sleep(3.0)  # the fake's subscriber reads 2 s after delivery
    [later] = await sender.viber_status([ids[0]])
    assert (later.status, later.viber.code) == (MessageStatus.DELIVERED, "read")


@pytest.mark.parametrize("state_key", ["state", "status"])
async def test_sms_resend_keeps_both_legs(
    state_key: str, serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    sender, sim = await start(serve, clock, closing, sms_state_key=state_key)
    long_sms = "ж" * 71  # two SMS segments (seed L301-302)
    messages = [
        viber("fallback", "79990000101", resend=SmsResend(text=long_sms, source="ACME-SMS")),
        viber("lost", "79990000105", resend=SmsResend(validity_seconds=10)),
        viber("viber-ok", "79161002031", resend=SmsResend()),
    ]

    results = await sender.send_viber(messages)

    assert [r.outcome for r in results] == [SendOutcome.ACCEPTED] * 3
    assert sim.requests == [("send", 3)]  # one request: all three ask for the re-send
    ids = [r.provider_ids[0] for r in results]
    reports = await poll_viber_until_final(sender, ids, clock, resend=True)
    fallback, lost, viber_ok = (reports[i] for i in ids)
    expected_sms_ids = tuple(str(i) for i in sim.lifecycle.messages[int(ids[0])].sms_ids)
    assert fallback.sms is not None and fallback.sms.ids == expected_sms_ids
    assert len(expected_sms_ids) == 2
    assert (fallback.status, fallback.decided_by, fallback.sms.status) == (
        MessageStatus.DELIVERED, Leg.SMS, MessageStatus.DELIVERED
    )
    assert lost.sms is not None
    assert (lost.status, lost.decided_by, lost.sms.code) == (
        MessageStatus.UNDELIVERABLE, Leg.SMS, "undelivered"
    )
    assert lost.as_status_report().code == "sms:undelivered"
    assert (viber_ok.status, viber_ok.decided_by, viber_ok.sms) == (
        MessageStatus.DELIVERED, Leg.VIBER, None
    )


async def test_requests_carry_the_documented_fields(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    sender, sim = await start(serve, clock, closing, subjects={"ACME"})
    button = ViberButton("Открыть", "https://example.com/x", image_url="https://example.com/i.png")
    messages = [
        viber("button", "+79161002030", button=button, resend=SmsResend(validity_seconds=30)),
        OutgoingViber("image", "ACME", "79161002031", "", image_url="https://example.com/i.png"),
        OutgoingViber("stranger", "OTHER", "79161002032", "hi there", validity_seconds=10),
    ]

    results = await sender.send_viber(messages)

    assert [r.outcome for r in results[:2]] == [SendOutcome.ACCEPTED] * 2
    # The fake's validation: this sender name is not registered for the account.
    assert (results[2].outcome, results[2].code) == (SendOutcome.REJECTED, "error-subject-unknown")
    resent, plain = sim.documents  # the re-send flag is one per request (seed L6158)
    assert resent["resendSms"] is True and plain["resendSms"] is False  # JSON booleans
    [with_button] = resent["messages"]
    assert with_button == {
        "subject": "ACME",
        "priority": "high",
        "validityPeriodSec": 3600,
        "type": "viber",
        "contentType": "button",
        "content": {
            "text": "Ваш код 1234",
            "caption": "Открыть",
            "action": "https://example.com/x",
            "imageUrl": "https://example.com/i.png",
        },
        "address": "79161002030",
        "smsText": "Ваш код 1234",
        "smsSrcAddress": "ACME",
        "smsValidityPeriodSec": 60,  # raised to the documented minimum (seed L6290)
    }
    image, stranger = plain["messages"]
    assert (image["contentType"], image["content"]) == ("image", {"imageUrl": "https://example.com/i.png"})
    assert not any(name.startswith("sms") for name in image)
    assert stranger["validityPeriodSec"] == 30  # raised to the documented minimum (L6235)


async def test_every_documented_message_code_is_mapped(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    sender, sim = await start(serve, clock, closing)
    codes = sorted(MESSAGE_CODES)
    for code in codes:
        sim.fail_next_message(code)
    messages = [viber(f"m{i}", f"7916100{i:04d}") for i in range(len(codes) + 1)]

    results = await sender.send_viber(messages)

    for code, result in zip(codes, results, strict=False):
        expected = SendOutcome.RETRY if code == "error-system" else SendOutcome.REJECTED
        assert (result.outcome, result.code) == (expected, code), code
        assert result.text == MESSAGE_CODES[code]
    assert results[-1].outcome is SendOutcome.ACCEPTED  # the one without a forced code


async def test_local_checks_refuse_before_any_request(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    sender, sim = await start(serve, clock, closing)
    messages = [
        OutgoingViber("long-name", "ACME-COMPANY", "79161002030", "hi"),
        viber("bad-number", "12345"),
        viber("too-long", "79161002030", body="x" * 1001),
        OutgoingViber(
            "image-resend", "ACME", "79161002030", "", image_url="https://e.com/i.png",
            resend=SmsResend(text="hi"),
        ),
        viber("cyrillic-sms-sender", "79161002030", resend=SmsResend(source="АКМЕ")),
        viber("short-button", "79161002030", body="x", button=ViberButton("Go", "https://e.com")),
    ]

    results = await sender.send_viber(messages)

    assert [r.outcome for r in results] == [SendOutcome.REJECTED] * len(messages)
    assert all(r.text for r in results)
    assert sim.requests == []


async def test_a_format_refusal_is_narrowed_down_to_its_message(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    sender, sim = await start(serve, clock, closing)
    sim.fail_next_request("error-instant-message-content-type-format")

    results = await sender.send_viber([viber("a", "79161002030"), viber("b", "79161002031")])

    # The whole request was refused; alone, each message went through.
    assert [r.outcome for r in results] == [SendOutcome.ACCEPTED] * 2
    assert sim.requests == [("send", 2), ("send", 1), ("send", 1)]


@pytest.mark.parametrize(
    ("status", "permanent"),
    [("error-auth", True), ("error-account-locked", True), ("error-system", False)],
)
async def test_request_level_errors_stop_the_channel(
    status: str, permanent: bool, serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    sender, sim = await start(serve, clock, closing)
    sim.fail_next_request(status)

    with pytest.raises(ChannelError) as caught:
        await sender.send_viber([viber("a", "79161002030"), viber("b", "79161002031")])

    assert caught.value.code == status
    assert caught.value.permanent is permanent
    assert (caught.value.retry_after is None) is permanent


async def test_wrong_password_is_a_permanent_channel_error_without_the_password(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    wrong = DevinoCredentials(LOGIN, "n0t-the-Passw0rd")
    sender, _ = await start(serve, clock, closing, credentials=wrong)

    with capture_logs() as logs, pytest.raises(ChannelError) as caught:
        await sender.send_viber([viber("a", "79161002030")])

    assert caught.value.permanent and caught.value.code == "error-auth"
    said = "\n".join([str(caught.value), repr(sender), repr(wrong), *map(repr, logs)])
    assert "n0t-the-Passw0rd" not in said and PASSWORD not in said


async def test_batches_of_at_most_100_split_by_the_resend_flag(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    sender, sim = await start(serve, clock, closing)
    plain = [viber(f"p{i}", f"7916200{i:04d}") for i in range(150)]
    resent = [viber(f"r{i}", f"7916300{i:04d}", resend=SmsResend()) for i in range(10)]

    results = await sender.send_viber(plain + resent)

    assert all(r.outcome is SendOutcome.ACCEPTED for r in results)
    assert [r.key for r in results] == [m.key for m in plain + resent]
    assert sim.requests == [("send", 100), ("send", 50), ("send", 10)]
    statuses = await sender.viber_status([r.provider_ids[0] for r in results])
    assert len(statuses) == 160
    assert [size for path, size in sim.requests if path == "status"] == [100, 60]


async def test_the_seed_s_invalid_answer_is_read(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    sender, _ = await start(serve, clock, closing, print_like_seed=True)

    results = await sender.send_viber([viber("a", "79161002030")])

    assert results[0].outcome is SendOutcome.ACCEPTED and results[0].provider_ids


async def test_no_answer_is_in_doubt_and_the_rest_is_not_sent(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    sender, sim = await start(serve, clock, closing, timeout_seconds=5.0)
    sim.hang_requests = 1
    messages = [viber("a", "79161002030"), viber("b", "79161002031", resend=SmsResend())]

    results = await sender.send_viber(messages)

    assert [r.outcome for r in results] == [SendOutcome.IN_DOUBT, SendOutcome.RETRY]
    assert sim.requests == [("send", 1)]


async def test_status_leaves_out_what_the_provider_cannot_answer(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    sender, _ = await start(serve, clock, closing)
    [sent] = await sender.send_viber([viber("a", "79161002030")])

    reports = await sender.viber_status([sent.provider_ids[0], "12345", "GW0261BBD6B3"])

    assert [r.provider_id for r in reports] == [sent.provider_ids[0]]
    assert reports[0].status is MessageStatus.SUBMITTED
