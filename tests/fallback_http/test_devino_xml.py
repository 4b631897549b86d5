"""The Devino XML API client against its fake, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
import structlog
from aiohttp import web

from dispatcher.clock import ScaledClock
from dispatcher.fallback.base import ChannelError, OutgoingSms, SendOutcome
from dispatcher.fallback.devino_xml import (
    DELIVERY_STATUSES,
    MESSAGE_ERRORS,
    DevinoXmlSender,
    Verdict,
)
from dispatcher.provider_sim.devino_xml import SIM_KEY, DevinoXmlSim, build_app
from dispatcher.status import MessageStatus
from tests.http_servers import Serve

LOGIN, PASSWORD = "shop", "s3cret-Pa55"


def sms(key: str, destination: str = "79031234567", body: str = "hello") -> OutgoingSms:
    return OutgoingSms(key=key, source="SHOP", destination=destination, body=body)


@pytest.fixture
def sim(clock: ScaledClock) -> DevinoXmlSim:
    return DevinoXmlSim(
        clock=clock, accounts={LOGIN: PASSWORD}, enroute_after=1, final_after=30, hang_seconds=60
    )


@pytest.fixture
async def client(
    sim: DevinoXmlSim, serve: Serve, clock: ScaledClock
) -> AsyncIterator[DevinoXmlSender]:
    url = await serve(build_app(sim))
    sender = DevinoXmlSender(
        login=LOGIN, password=PASSWORD, clock=clock, base_url=url, timeout_seconds=30
    )
    yield sender
    await sender.close()


async def test_send_then_poll_to_final(
    client: DevinoXmlSender, sim: DevinoXmlSim, clock: ScaledClock
) -> None:
    sim.outcomes["79990000002"] = "105"
    results = await client.send_batch([sms("101"), sms("102", "79990000002")])

    assert [r.outcome for r in results] == [SendOutcome.ACCEPTED, SendOutcome.ACCEPTED]
    sms_ids = [r.provider_ids[0] for r in results]
    assert [sim.messages[int(i)].client_id for i in sms_ids] == ["101", "102"]

    early = await client.query_status(sms_ids)
    assert {r.status for r in early} == {MessageStatus.SUBMITTED}
    assert not any(r.is_final for r in early)

    await clock.sleep(31)
    final = {r.provider_id: r for r in await client.query_status(sms_ids)}
    assert final[sms_ids[0]].status is MessageStatus.DELIVERED
    assert (final[sms_ids[0]].code, final[sms_ids[0]].text) == ("102", "DELIVERED")
    assert final[sms_ids[1]].status is MessageStatus.UNDELIVERABLE
    assert final[sms_ids[1]].code == "105"


@pytest.mark.parametrize("code", sorted(DELIVERY_STATUSES))
async def test_every_delivery_status_is_mapped(
    code: str, client: DevinoXmlSender, sim: DevinoXmlSim, clock: ScaledClock
) -> None:
    sim.outcomes["79031234567"] = code
    sim.final_after = 0  # straight to the final status
    [result] = await client.send_batch([sms("7")])
    [report] = await client.query_status(result.provider_ids)
    name, status = DELIVERY_STATUSES[code]
    assert (report.status, report.code, report.text) == (status, code, name)


@pytest.mark.parametrize("code", sorted(MESSAGE_ERRORS))
async def test_every_message_error_is_classified(
    code: str, client: DevinoXmlSender, sim: DevinoXmlSim
) -> None:
    sim.refusals["79030000000"] = code
    name, verdict = MESSAGE_ERRORS[code]

    # Beside an accepted message the error stays per message, whatever its class.
    mixed = await client.send_batch([sms("1", "79030000000"), sms("2")])
    expected = SendOutcome.REJECTED if verdict is Verdict.PERMANENT else SendOutcome.RETRY
    assert (mixed[0].outcome, mixed[0].code, mixed[0].text) == (expected, code, name)
    assert mixed[1].outcome is SendOutcome.ACCEPTED

    # Alone, an error that concerns the account pauses or stops the channel.
    if verdict in (Verdict.CHANNEL_STOP, Verdict.CHANNEL_PAUSE):
        with pytest.raises(ChannelError) as raised:
            await client.send_batch([sms("3", "79030000000")])
        assert raised.value.code == code
        assert raised.value.permanent is (verdict is Verdict.CHANNEL_STOP)
        assert (raised.value.retry_after is None) is (verdict is Verdict.CHANNEL_STOP)
    else:
        [alone] = await client.send_batch([sms("3", "79030000000")])
        assert alone.outcome is expected


async def test_real_validation_failures_come_back_per_message(
    client: DevinoXmlSender, sim: DevinoXmlSim
) -> None:
    results = await client.send_batch(
        [sms("1", destination="12"), sms("2", body=""), sms("3", body="x" * 2001), sms("4")]
    )
    assert [(r.outcome, r.code) for r in results] == [
        (SendOutcome.REJECTED, "203"),
        (SendOutcome.REJECTED, "204"),
        (SendOutcome.REJECTED, "204"),
        (SendOutcome.ACCEPTED, "1"),
    ]
    assert len(sim.messages) == 1


async def test_no_money_and_disabled_account(client: DevinoXmlSender, sim: DevinoXmlSim) -> None:
    sim.accounts[LOGIN].credit = 1
    [first] = await client.send_batch([sms("1")])
    assert first.outcome is SendOutcome.ACCEPTED
    with pytest.raises(ChannelError) as no_money:
        await client.send_batch([sms("2")])
    assert (no_money.value.code, no_money.value.permanent) == ("206", False)
    assert no_money.value.retry_after

    sim.accounts[LOGIN].disabled = True
    with pytest.raises(ChannelError) as disabled:
        await client.send_batch([sms("3")])
    assert (disabled.value.code, disabled.value.permanent) == ("205", True)


async def test_wrong_password_stops_the_channel(
    sim: DevinoXmlSim, serve: Serve, clock: ScaledClock
) -> None:
    url = await serve(build_app(sim))
    sender = DevinoXmlSender(login=LOGIN, password="wrong-guess", clock=clock, base_url=url)
    try:
        with structlog.testing.capture_logs() as logs:
            with pytest.raises(ChannelError) as send_error:
                await sender.send_batch([sms("1")])
            with pytest.raises(ChannelError) as status_error:
                await sender.query_status(["1000001"])
    finally:
        await sender.close()
    for error in (send_error.value, status_error.value):
        assert (error.code, error.permanent) == ("202", True)
        assert "wrong-guess" not in str(error)
    assert "wrong-guess" not in repr(sender) + repr(logs)
    assert not sim.messages


@pytest.mark.parametrize(
    ("code", "expected"),
    [("200", SendOutcome.RETRY), ("201", None), ("202", None), ("299", SendOutcome.RETRY)],
)
async def test_document_errors(
    code: str, expected: SendOutcome | None, client: DevinoXmlSender, sim: DevinoXmlSim
) -> None:
    sim.fail_next("Send.ashx", code)
    if expected is None:
        with pytest.raises(ChannelError) as raised:
            await client.send_batch([sms("1"), sms("2")])
        assert (raised.value.code, raised.value.permanent) == (code, True)
    else:
        results = await client.send_batch([sms("1"), sms("2")])
        assert {(r.outcome, r.code) for r in results} == {(expected, code)}
    assert not sim.messages


async def test_status_queries_carry_at_most_1000_ids(
    client: DevinoXmlSender, sim: DevinoXmlSim
) -> None:
    results = await client.send_batch([sms(str(k)) for k in range(1, 1001)])
    ids = [r.provider_ids[0] for r in results]
    unknown = [str(9_000_000 + k) for k in range(1500)]
    reports = await client.query_status(ids + unknown)
    assert sim.status_request_sizes == [1000, 1000, 500]
    # Ids the provider does not know (ERR_ID) are left out, not invented.
    assert sorted(r.provider_id for r in reports) == sorted(ids)


async def test_statuses_older_than_three_days_are_not_answered(
    client: DevinoXmlSender, sim: DevinoXmlSim, clock: ScaledClock
) -> None:
    sim.status_window_seconds = 50
    [result] = await client.send_batch([sms("5")])
    assert await client.query_status(result.provider_ids)
    await clock.sleep(51)
    assert await client.query_status(result.provider_ids) == []


async def test_lost_answer_after_the_provider_took_the_message(
    client: DevinoXmlSender, sim: DevinoXmlSim
) -> None:
    sim.hang_next("Send.ashx")  # processed, then silent past the client's 30 s
    batch = [sms("41"), sms("42", destination="12")]
    results = await client.send_batch(batch)
    assert [r.outcome for r in results] == [SendOutcome.IN_DOUBT] * 2

    resolved = await client.resolve_in_doubt(batch)
    [taken] = sim.accepted(LOGIN, "41")
    assert resolved[0].outcome is SendOutcome.ACCEPTED
    assert resolved[0].provider_ids == (str(taken.sms_id),)
    # The second was refused at send (bad number): asking by id learns that, too.
    assert (resolved[1].outcome, resolved[1].code) == (SendOutcome.REJECTED, "203")
    assert sim.requests["send.ashx"] == 1


async def test_lost_request_is_resent_exactly_once(
    client: DevinoXmlSender, sim: DevinoXmlSim
) -> None:
    sim.hang_next("Send.ashx", processed=False)
    batch = [sms("51")]
    [lost] = await client.send_batch(batch)
    assert lost.outcome is SendOutcome.IN_DOUBT

    [resolved] = await client.resolve_in_doubt(batch)
    assert (resolved.outcome, resolved.code) == (SendOutcome.RETRY, "201")
    assert sim.accepted(LOGIN, "51") == []

    [resent] = await client.send_batch(batch)
    assert resent.outcome is SendOutcome.ACCEPTED
    assert len(sim.accepted(LOGIN, "51")) == 1


async def test_in_doubt_without_a_numeric_key_stays_in_doubt(
    client: DevinoXmlSender, sim: DevinoXmlSim
) -> None:
    batch = [sms("order-7")]
    [sent] = await client.send_batch(batch)
    assert sent.outcome is SendOutcome.ACCEPTED  # sent without a client id
    assert sim.sent[0].client_id is None
    [resolved] = await client.resolve_in_doubt(batch)
    assert resolved.outcome is SendOutcome.IN_DOUBT


async def test_a_character_xml_cannot_carry_fails_alone(
    client: DevinoXmlSender, sim: DevinoXmlSim
) -> None:
    results = await client.send_batch([sms("1", body="bell \x07"), sms("2", body="Привет €")])
    assert [r.outcome for r in results] == [SendOutcome.REJECTED, SendOutcome.ACCEPTED]
    assert sim.sent[0].text == "Привет €"


async def test_validity_becomes_date_end(client: DevinoXmlSender, sim: DevinoXmlSim) -> None:
    message = OutgoingSms("9", "SHOP", "79031234567", "hi", validity_seconds=3600)
    await client.send_batch([message])
    assert sim.sent[0].date_end is not None
    assert len(sim.sent[0].date_end) == len("2024-01-31T12:00:00")


async def test_unreachable_provider_is_a_channel_error(
    closed_port_url: str, clock: ScaledClock
) -> None:
    sender = DevinoXmlSender(login=LOGIN, password=PASSWORD, clock=clock, base_url=closed_port_url)
    try:
        with pytest.raises(ChannelError) as raised:
            await sender.send_batch([sms("1")])
    finally:
        await sender.close()
    assert not raised.value.permanent
    assert PASSWORD not in str(raised.value)


async def test_entity_expansion_in_an_answer_is_refused(serve: Serve, clock: ScaledClock) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<package><message><msg sms_id="5" sms_count="1">&b;</msg></message></package>'
    )

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=bomb, content_type="text/xml")

    app = web.Application()
    app.router.add_post("/Send.ashx", answer)
    url = await serve(app)
    sender = DevinoXmlSender(login=LOGIN, password=PASSWORD, clock=clock, base_url=url)
    try:
        [result] = await sender.send_batch([sms("1")])
    finally:
        await sender.close()
    assert result.outcome is SendOutcome.IN_DOUBT


async def test_the_fake_refuses_bad_documents(serve: Serve, clock: ScaledClock) -> None:
    app = build_app(clock=clock, accounts={LOGIN: PASSWORD})
    url = await serve(app)
    async with aiohttp.ClientSession() as http:
        async with http.post(url + "/Send.ashx", data=b"<package") as response:
            assert b"<error>201</error>" in await response.read()
        async with http.post(url + "/Other.ashx", data=b"<package/>") as response:
            assert response.status == 404
    assert app[SIM_KEY].requests["send.ashx"] == 1


async def test_balance_is_not_offered(client: DevinoXmlSender) -> None:
    with pytest.raises(NotImplementedError):
        await client.balance()
