"""The Devino REST clients (v1 SessionID, v2 Login/Password) against the fake over loopback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dispatcher.clock import ScaledClock
from dispatcher.fallback.base import ChannelError, OutgoingSms, SendOutcome
from dispatcher.fallback.devino_base import DevinoSenderBase
from dispatcher.fallback.devino_codes import REST_ERRORS
from dispatcher.fallback.devino_rest import DevinoRestV1Sender, DevinoRestV2Sender
from dispatcher.provider_sim import devino_rest as rest_sim
from dispatcher.provider_sim.devino_platform import DevinoPlatform
from dispatcher.status import MessageStatus
from tests.http_servers import Serve

from .conftest import (
    CREDENTIALS,
    LOGIN,
    RELAXED_TIMEOUT,
    new_platform,
    poll_until_code,
    poll_until_final,
)

Closing = Callable[[DevinoSenderBase], DevinoSenderBase]


def v1(url: str, clock: ScaledClock, closing: Closing, **options: Any) -> DevinoRestV1Sender:
    options.setdefault("timeout_seconds", RELAXED_TIMEOUT)
    sender = DevinoRestV1Sender(CREDENTIALS, base_url=f"{url}/rest", clock=clock, **options)
    closing(sender)
    return sender


def v2(url: str, clock: ScaledClock, closing: Closing, **options: Any) -> DevinoRestV2Sender:
    options.setdefault("timeout_seconds", RELAXED_TIMEOUT)
    sender = DevinoRestV2Sender(CREDENTIALS, base_url=f"{url}/rest/v2", clock=clock, **options)
    closing(sender)
    return sender


def sms(
    key: str, destination: str, body: str = "hello", validity_seconds: int | None = None
) -> OutgoingSms:
    return OutgoingSms(key, "DEVINO", destination, body, validity_seconds)


@pytest.mark.parametrize("make", [v1, v2], ids=["v1", "v2"])
async def test_send_status_to_final_and_balance(
    make: Callable[..., DevinoSenderBase],
    rest_url: str,
    platform: DevinoPlatform,
    clock: ScaledClock,
    closing: Closing,
) -> None:
    sender = make(rest_url, clock, closing)
    long_cyrillic = "ж" * 71  # seed L301-302: over 70 Cyrillic characters is two segments
    messages = [
        sms("a", "79161002030"),
        sms("b", "+79161002031"),
        sms("c", "89161002032", body=long_cyrillic),
        sms("d", "79990000011", body="bye"),  # the platform reports 11: invalid recipient
    ]

    results = await sender.send_batch(messages)

    assert [r.key for r in results] == ["a", "b", "c", "d"]
    assert all(r.outcome is SendOutcome.ACCEPTED for r in results)
    assert [len(r.provider_ids) for r in results] == [1, 1, 2, 1]
    # "a" and "b" share the text: one SendBulk; "c" and "d" differ: one Sms/Send each.
    assert len(platform.requests_for("rest", "send")) == 3
    ids = [i for r in results for i in r.provider_ids]
    reports = await poll_until_final(sender, ids, clock)
    by_key = {r.key: [reports[i] for i in r.provider_ids] for r in results}
    assert [s.status for s in by_key["c"]] == [MessageStatus.DELIVERED] * 2
    assert by_key["a"][0].status is MessageStatus.DELIVERED
    assert by_key["a"][0].text == "Доставлено абоненту"
    assert (by_key["d"][0].status, by_key["d"][0].code) == (MessageStatus.REJECTED, "11")

    balance = await sender.balance()
    assert balance.amount == pytest.approx(platform.balance)
    assert balance.amount == pytest.approx(1000.0 - 5)  # five segments at 1.0


async def test_in_progress_states_are_reported_before_final(
    rest_url: str, clock: ScaledClock, closing: Closing
) -> None:
    sender = v2(rest_url, clock, closing)
    [result] = await sender.send_batch([sms("a", "79161002030")])
    [report] = await sender.query_status(result.provider_ids)
    assert report.status is MessageStatus.SUBMITTED
    assert report.code in ("-2", "-1")
    assert not report.is_final


async def test_bulk_segment_ids_are_split_per_recipient(
    rest_url: str, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = v2(rest_url, clock, closing)
    text = "x" * 200  # two Latin segments each
    destinations = ["79160000001", "79160000002", "79160000003"]
    results = await sender.send_batch([sms(str(i), d, text) for i, d in enumerate(destinations)])

    assert len(platform.requests_for("rest", "send")) == 1
    for destination, result in zip(destinations, results, strict=True):
        assert len(result.provider_ids) == 2
        # the fake's segment ids name their recipient (seed L1660-1662 format)
        assert all(f"+{destination}-" in i for i in result.provider_ids)
    # the ids hold "+": they must be percent-encoded to be found again (spec A26)
    reports = await poll_until_final(sender, [i for r in results for i in r.provider_ids], clock)
    assert {r.status for r in reports.values()} == {MessageStatus.DELIVERED}


async def test_bulk_is_split_at_2999_recipients(
    rest_url: str, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = v1(rest_url, clock, closing, concurrency=1)
    platform.balance = 10_000.0
    messages = [sms(str(i), f"7916{i:07d}") for i in range(3000)]

    results = await sender.send_batch(messages)

    assert [r.key for r in results] == [m.key for m in messages]
    assert all(r.outcome is SendOutcome.ACCEPTED and len(r.provider_ids) == 1 for r in results)
    assert len(platform.requests_for("rest", "send")) == 2  # SendBulk(2999) + Send(1)
    assert len({i for r in results for i in r.provider_ids}) == 3000


async def test_one_invalid_number_in_a_bulk_is_isolated(
    rest_url: str, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = v2(rest_url, clock, closing)
    messages = [sms("a", "79161002030"), sms("bad", "79990000000"), sms("c", "79161002031")]

    results = await sender.send_batch(messages)

    outcomes = {r.key: (r.outcome, r.code) for r in results}
    assert outcomes == {
        "a": (SendOutcome.ACCEPTED, None),
        "bad": (SendOutcome.REJECTED, "6"),
        "c": (SendOutcome.ACCEPTED, None),
    }
    # seed L1872-1873: the bulk is refused whole, then each message goes alone
    assert len(platform.requests_for("rest", "send")) == 1 + 3
    assert len(platform.segments) == 2


async def test_the_seeded_staging_failures(
    rest_url: str, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = v2(rest_url, clock, closing)
    invalid, gateway = sms("invalid", "79990000000", "one"), sms("gateway", "79990000008", "two")
    results = await sender.send_batch([invalid, gateway])
    assert [(r.outcome, r.code) for r in results] == [
        (SendOutcome.REJECTED, "6"),
        (SendOutcome.RETRY, "8"),
    ]


async def test_messages_the_provider_must_refuse_are_rejected_without_a_request(
    rest_url: str, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = v2(rest_url, clock, closing)
    results = await sender.send_batch(
        [sms("long", "79161002030", "x" * 2001), sms("empty", "79161002030", "")]
    )
    assert [r.outcome for r in results] == [SendOutcome.REJECTED] * 2
    assert platform.requests_for("rest", "send") == []


async def test_validity_travels_in_whole_minutes(
    rest_url: str, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    # A 5 s validity is sent as 1 minute (spec A19); the platform expires the message when
    # its lifetime is shorter than the time it needs to deliver.
    platform.queued_seconds, platform.sent_seconds = 30.0, 60.0
    sender = v2(rest_url, clock, closing)
    [result] = await sender.send_batch([sms("a", "79161002030", validity_seconds=5)])
    await clock.sleep(60.0)
    report = await poll_until_code(sender, result.provider_ids[0], "46", clock)
    assert report.status is MessageStatus.EXPIRED


# --- error codes: every code of Table 17 / Table 16, mapped as spec §9.4 says ------------------

# What the spec says each code means for a send (written here, not derived from the client).
SEND_EXPECTATIONS = {
    1: "rejected",
    2: "rejected",
    3: "renewed",  # v1: log in again, repeat once
    4: "stop",  # "Invalid user login or password"
    5: "pause",
    6: "rejected",
    7: "stop",
    8: "retry",
    9: "retry",
}
DESCRIPTIONS = {
    1: "Argument cannot be null or empty",
    2: "Invalid argument",
    3: "Invalid session id",
    4: "Invalid user login or password",
    5: "Not enough credits",
    6: "Invalid source address",
    7: "Forbidden",
    8: "Gateway error",
    9: "Internal server error",
}


def test_the_expectations_cover_the_whole_code_table() -> None:
    assert set(SEND_EXPECTATIONS) == set(REST_ERRORS) == set(DESCRIPTIONS)


@pytest.mark.parametrize("code", sorted(SEND_EXPECTATIONS))
async def test_each_error_code_of_a_send(
    code: int, rest_url: str, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = v1(rest_url, clock, closing)
    platform.inject("send", code, DESCRIPTIONS[code])
    expected = SEND_EXPECTATIONS[code]
    message = sms("a", "79161002030")

    if expected in ("stop", "pause"):
        with pytest.raises(ChannelError) as caught:
            await sender.send_batch([message])
        assert caught.value.code == str(code)
        assert caught.value.permanent is (expected == "stop")
        assert (caught.value.retry_after or 0) > 0 or expected == "stop"
        assert platform.segments == {}
        return

    [result] = await sender.send_batch([message])
    if expected == "renewed":
        assert result.outcome is SendOutcome.ACCEPTED
        assert platform.logins == 2
        assert len(platform.requests_for("rest", "send")) == 2
    else:
        outcome = {"rejected": SendOutcome.REJECTED, "retry": SendOutcome.RETRY}[expected]
        assert (result.outcome, result.code, result.text) == (
            outcome,
            str(code),
            DESCRIPTIONS[code],
        )
        assert platform.segments == {}


async def test_code_4_naming_the_session_renews_it(
    rest_url: str, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = v1(rest_url, clock, closing)
    await sender.balance()
    platform.expire_sessions()  # the next request is answered Code 4 "SessionID expired"

    balance = await sender.balance()

    assert balance.amount == pytest.approx(1000.0)
    assert platform.logins == 2
    assert len(platform.requests_for("rest", "balance")) == 3  # ok, expired, repeated


async def test_a_session_refused_twice_stops_the_channel(
    rest_url: str, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = v1(rest_url, clock, closing)
    platform.inject("send", 4, "SessionID expired")
    platform.inject("send", 4, "SessionID expired")
    with pytest.raises(ChannelError) as caught:
        await sender.send_batch([sms("a", "79161002030")])
    assert caught.value.permanent
    assert len(platform.requests_for("rest", "send")) == 2  # retried once, not more


async def test_the_session_is_renewed_before_its_120_minutes(
    serve: Serve, closing: Closing
) -> None:
    clock = ScaledClock(0.0001)  # 120 min last 0.72 s
    platform = new_platform(clock)
    url = await serve(rest_sim.build_app(platform))
    sender = v1(url, clock, closing, timeout_seconds=100_000.0)
    await sender.balance()
    await clock.sleep(111 * 60)

    await sender.balance()

    assert platform.logins == 2
    assert len(platform.requests_for("rest", "balance")) == 2  # no expiry answer was needed


async def test_v2_sends_credentials_on_every_call_and_never_logs_in(
    rest_url: str, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = v2(rest_url, clock, closing)
    await sender.send_batch([sms("a", "79161002030")])
    await sender.balance()
    assert platform.logins == 0
    assert platform.requests_for("rest", "auth") == []


@pytest.mark.parametrize("make", [v1, v2], ids=["v1", "v2"])
async def test_bad_credentials_are_a_permanent_channel_error(
    make: Callable[..., DevinoSenderBase], serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    platform = DevinoPlatform(clock=clock, accounts={LOGIN: "another password"})
    url = await serve(rest_sim.build_app(platform))
    sender = make(url, clock, closing)
    with pytest.raises(ChannelError) as caught:
        await sender.send_batch([sms("a", "79161002030")])
    assert caught.value.permanent
    assert caught.value.code == "4"
    with pytest.raises(ChannelError):
        await sender.balance()


async def test_no_money_pauses_the_channel(
    serve: Serve, clock: ScaledClock, closing: Closing
) -> None:
    platform = new_platform(clock, balance=1.0)
    url = await serve(rest_sim.build_app(platform))
    sender = v2(url, clock, closing, concurrency=1)

    # Money for the first message only: the batch keeps its accepted part, the rest may retry.
    results = await sender.send_batch(
        [sms("a", "79161002030", "one"), sms("b", "79161002031", "two")]
    )
    assert [(r.outcome, r.code) for r in results] == [
        (SendOutcome.ACCEPTED, None),
        (SendOutcome.RETRY, "5"),
    ]
    # Nothing of the next batch can be taken: the whole channel pauses.
    with pytest.raises(ChannelError) as caught:
        await sender.send_batch([sms("c", "79161002032")])
    assert not caught.value.permanent
    assert caught.value.retry_after and caught.value.retry_after > 0


async def test_unreachable_provider_is_a_channel_error(
    closed_port_url: str, clock: ScaledClock, closing: Closing
) -> None:
    sender = v2(closed_port_url, clock, closing)
    with pytest.raises(ChannelError) as caught:
        await sender.send_batch([sms("a", "79161002030")])
    assert not caught.value.permanent and caught.value.retry_after


# --- in-doubt sends --------------------------------------------------------------------------


async def test_a_send_without_answer_is_in_doubt_and_stays_so(
    rest_url: str, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = v1(rest_url, clock, closing, timeout_seconds=30.0, concurrency=1)
    await sender.balance()  # log in first: only the send is to hang
    platform.hang_sends = 1
    messages = [sms("a", "79161002030", "first"), sms("b", "79161002031", "second")]

    results = await sender.send_batch(messages)

    assert [r.outcome for r in results] == [SendOutcome.IN_DOUBT, SendOutcome.RETRY]
    # The platform took "a" although no answer came back: resending would duplicate it.
    assert [s.destination for s in platform.segments.values()] == ["79161002030"]
    assert len(platform.requests_for("rest", "send")) == 1  # "b" was not fed to a hung channel
    settled = await sender.resolve_in_doubt(messages[:1])
    assert [r.outcome for r in settled] == [SendOutcome.IN_DOUBT]


# --- status details ----------------------------------------------------------------------------


async def test_255_becomes_unknown_only_after_48_hours(
    rest_url: str, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    sender = v2(rest_url, clock, closing)
    [result] = await sender.send_batch([sms("a", "79161002030")])
    [segment_id] = result.provider_ids
    platform.segments[segment_id].created -= 49 * 3600  # the platform now answers 255

    [young] = await sender.query_status([segment_id])
    [old] = await sender.query_status(
        [segment_id], submitted_at={segment_id: clock.wall() - 49 * 3600}
    )
    [recent] = await sender.query_status([segment_id], submitted_at={segment_id: clock.wall()})

    assert (young.code, young.status) == ("255", MessageStatus.SUBMITTED)
    assert (old.code, old.status) == ("255", MessageStatus.UNKNOWN)
    assert recent.status is MessageStatus.SUBMITTED


async def test_statistics_for_a_period(rest_url: str, clock: ScaledClock, closing: Closing) -> None:
    sender = v1(rest_url, clock, closing)
    results = await sender.send_batch([sms("a", "79161002030"), sms("b", "79990000042")])
    await poll_until_final(sender, [i for r in results for i in r.provider_ids], clock)
    now = datetime.now(UTC)

    stats = await sender.statistics(now - timedelta(days=1), now + timedelta(days=1))

    assert (stats.delivered, stats.rejected, stats.total) == (1, 1, 2)
    with pytest.raises(ValueError):
        await sender.statistics(now - timedelta(days=91), now)
