"""The pure pieces: the two-leg Viber decision, status monotonicity, the lenient JSON and time
readers, the pushed-SMS parser and answer, and the callback access rules."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.callback_auth import CallbackAccess
from dispatcher.fallback.devino_incoming import (
    CallbackRejected,
    advances,
    parse_sms_push,
    parse_viber_status_callback,
    sms_push_answer,
)
from dispatcher.fallback.lenient_json import loads_lenient
from dispatcher.fallback.provider_time import parse_provider_time
from dispatcher.fallback.viber import Leg, LegStatus, sms_leg, viber_report
from dispatcher.status import MessageStatus

S = MessageStatus
TOKEN = "0123456789abcdefXYZ"


def leg(status: MessageStatus, code: str = "x") -> LegStatus:
    return LegStatus(status, code)


@pytest.mark.parametrize(
    ("viber", "sms", "resend", "status", "decided_by"),
    [
        (S.DELIVERED, None, True, S.DELIVERED, Leg.VIBER),
        (S.SUBMITTED, None, True, S.SUBMITTED, None),
        (S.UNDELIVERABLE, None, False, S.UNDELIVERABLE, Leg.VIBER),
        (S.UNDELIVERABLE, None, True, S.SUBMITTED, None),  # waiting for the re-send
        (S.EXPIRED, S.SUBMITTED, True, S.SUBMITTED, None),
        (S.EXPIRED, S.DELIVERED, True, S.DELIVERED, Leg.SMS),
        (S.FAILED, S.UNDELIVERABLE, True, S.UNDELIVERABLE, Leg.SMS),
        (S.SUBMITTED, S.DELIVERED, False, S.DELIVERED, Leg.SMS),  # only SMS states reported
    ],
)
def test_the_deciding_leg(
    viber: MessageStatus,
    sms: MessageStatus | None,
    resend: bool,
    status: MessageStatus,
    decided_by: Leg | None,
) -> None:
    report = viber_report("1", leg(viber), None if sms is None else leg(sms), resend=resend)

    assert (report.status, report.decided_by) == (status, decided_by)
    assert report.viber.status is viber
    assert (report.sms.status if report.sms else None) is sms


def test_an_sms_leg_is_delivered_only_when_every_segment_is() -> None:
    delivered, pending, lost = (
        ("1", S.DELIVERED, "delivered"),
        ("2", S.SUBMITTED, "sent"),
        ("3", S.UNDELIVERABLE, "undelivered"),
    )

    assert sms_leg([delivered, delivered]).status is S.DELIVERED
    assert sms_leg([delivered, pending]).status is S.SUBMITTED
    assert sms_leg([delivered, pending, lost]) == LegStatus(
        S.UNDELIVERABLE, "undelivered", None, ("1", "2", "3")
    )


@given(st.sampled_from(list(S)), st.sampled_from(list(S)))
def test_a_final_status_is_never_replaced(current: MessageStatus, new: MessageStatus) -> None:
    if current.is_final:
        assert not advances(current, new)
    if not current.is_final and new.is_final:
        assert advances(current, new)
    if new is current:
        assert not advances(current, new)
    assert advances(None, new)
    assert not advances(MessageStatus.SUBMITTED, MessageStatus.QUEUED)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"status" : "ok"\n"messages" : [{"providerId" : 3158611117333282816, "code" : "ok"}]}',
         {"status": "ok", "messages": [{"providerId": 3158611117333282816, "code": "ok"}]}),
        ('[{\n"messageId" : "7"\n"StateCode" : 1,\n"StateDesc" : "a, b",\n}]',
         [{"messageId": "7", "StateCode": 1, "StateDesc": "a, b"}]),
        ('{"a": "x,\\n}"}', {"a": "x,\n}"}),  # text inside strings is never touched
    ],
)
def test_the_seed_s_broken_json_is_read(text: str, value: object) -> None:
    assert loads_lenient(text) == value


def test_json_that_is_not_repairable_is_still_an_error() -> None:
    with pytest.raises(ValueError):
        loads_lenient('{"a": }')


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("\\/Date(1294045911213)\\/", datetime(2011, 1, 3, 9, 11, 51, 213000, tzinfo=UTC)),
        ("/Date(1294045911213-0000)/", datetime(2011, 1, 3, 9, 11, 51, 213000, tzinfo=UTC)),
        ("1527861323068", datetime(2018, 6, 1, 13, 55, 23, 68000, tzinfo=UTC)),
        ("2016-08-10 15:28:50", datetime(2016, 8, 10, 15, 28, 50, tzinfo=UTC)),
        ("2011-01-28T16:00:00", datetime(2011, 1, 28, 16, 0, tzinfo=UTC)),
        ("\\/Date(-62135596800000)\\/", None),  # .NET MinValue: no value
        ("soon", None),
        (None, None),
        (True, None),
    ],
)
def test_provider_times(value: object, expected: datetime | None) -> None:
    assert parse_provider_time(value) == expected


def test_naive_times_are_read_in_the_zone_given() -> None:
    moscow = timezone(timedelta(hours=3))

    moment = parse_provider_time("2017-05-31 14:51:12", naive_zone=moscow)

    assert moment == datetime(2017, 5, 31, 11, 51, 12, tzinfo=UTC)


def test_a_push_is_read_from_the_query_and_a_form_body() -> None:
    arrived = datetime(2024, 1, 1, tzinfo=UTC)
    query = "sourcePhone=79089876534&number=2435&prefix=+loto&messageId=235515"
    body = b"text=+%D0%98%D0%B3%D1%80%D0%B0%D0%B9%D1%82%D0%B5"

    message = parse_sms_push(
        query, body, "application/x-www-form-urlencoded", received_at=arrived
    )

    assert (message.source, message.destination, message.prefix, message.text) == (
        "79089876534", "2435", "loto", "Играйте"
    )
    assert (message.provider_id, message.received_at) == ("235515", arrived)


@given(st.text(max_size=50), st.binary(max_size=50))
def test_any_push_either_parses_or_is_refused(query: str, body: bytes) -> None:
    form = "application/x-www-form-urlencoded"
    try:
        message = parse_sms_push(query, body, form, received_at=datetime.now(UTC))
    except CallbackRejected as refused:
        assert str(refused).endswith("is missing")
        return
    assert message.source and message.source == message.source.strip()
    assert message.provider_id and message.dedupe_key.startswith("devino-sms:")


@given(st.binary(max_size=200))
def test_any_status_callback_body_either_parses_or_is_refused(body: bytes) -> None:
    try:
        events = parse_viber_status_callback(body)
    except CallbackRejected:
        return
    assert all(e.provider_id.isdigit() for e in events)


def test_the_push_answer() -> None:
    assert sms_push_answer("Спасибо").body == "{sms=Спасибо}".encode()
    assert sms_push_answer(None).body == b""
    assert sms_push_answer("  ").body == b""


def test_callback_access_rules() -> None:
    access = CallbackAccess.from_config(
        TOKEN,
        allowed_sources=["203.0.113.7", "198.51.100.0/24", "2001:db8::/32"],
        trusted_proxies=["10.0.0.1"],
    )

    assert access.check(TOKEN, "203.0.113.7") is None
    assert access.check(TOKEN, "198.51.100.200") is None
    assert access.check(TOKEN, "::ffff:198.51.100.9") is None  # IPv4-mapped IPv6
    assert access.check(TOKEN, "2001:db8::1") is None
    assert access.check(TOKEN + "x", "203.0.113.7").status == 404  # type: ignore[union-attr]
    assert access.check(None, "203.0.113.7").status == 404  # type: ignore[union-attr]
    assert access.check(TOKEN, "203.0.113.8").status == 403  # type: ignore[union-attr]
    assert access.check(TOKEN, None).status == 403  # type: ignore[union-attr]
    # Only a trusted proxy's X-Forwarded-For counts, and only its last hop.
    assert access.check(TOKEN, "10.0.0.1", "1.2.3.4, 203.0.113.7") is None
    assert access.check(TOKEN, "10.0.0.2", "203.0.113.7").status == 403  # type: ignore[union-attr]
    assert access.allowed_sources[1] == ipaddress.ip_network("198.51.100.0/24")
    assert TOKEN not in repr(access)
    assert CallbackAccess(TOKEN).check(TOKEN, "192.0.2.1") is None  # no list: any source


@pytest.mark.parametrize(
    ("token", "allowed"),
    [("short", []), ("has/a/slash/in/it/0123", []), (TOKEN, ["10.0.0.0/33"]), (TOKEN, ["x"])],
)
def test_bad_callback_settings_are_refused_with_a_clear_error(
    token: str, allowed: list[str]
) -> None:
    with pytest.raises(ValueError) as caught:
        CallbackAccess.from_config(token, allowed_sources=allowed)

    assert token not in str(caught.value) or token == TOKEN
