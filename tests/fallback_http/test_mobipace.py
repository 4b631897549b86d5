"""The Mobipace HTTP API 3.0 client against its fake, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
import structlog
from aiohttp import web

from dispatcher.clock import ScaledClock
from dispatcher.fallback.base import ChannelError, OutgoingSms, SendOutcome
from dispatcher.fallback.mobipace import MESSAGE_STATUSES, MobipaceSender, RequestCode
from dispatcher.provider_sim.mobipace import SIM_KEY, MobipaceSim, build_app
from dispatcher.status import MessageStatus
from tests.http_servers import Serve

USERNAME, PASSWORD = "ops@shop.example", "Pa55-w0rd!"


def sms(key: str, destination: str = "79031234567", body: str = "hello", source: str = "SHOP"
        ) -> OutgoingSms:
    return OutgoingSms(key=key, source=source, destination=destination, body=body)


@pytest.fixture
def sim(clock: ScaledClock) -> MobipaceSim:
    return MobipaceSim(
        clock=clock, accounts={USERNAME: PASSWORD}, final_after=30, hang_seconds=70)


@pytest.fixture
async def base_url(sim: MobipaceSim, serve: Serve) -> str:
    return await serve(build_app(sim)) + "/v3/"


@pytest.fixture
async def client(base_url: str, clock: ScaledClock) -> AsyncIterator[MobipaceSender]:
    sender = MobipaceSender(username=USERNAME, password=PASSWORD, clock=clock, base_url=base_url)
    yield sender
    await sender.close()


async def test_send_then_poll_to_final(
    client: MobipaceSender, sim: MobipaceSim, clock: ScaledClock
) -> None:
    sim.outcomes["79990000002"] = 101
    batch = [sms("k1"), sms("k2", "79990000002"), sms("k3", "+7903")]
    results = await client.send_batch(batch)
    assert [(r.outcome, r.provider_ids) for r in results] == [
        (SendOutcome.ACCEPTED, ("k1",)),
        (SendOutcome.ACCEPTED, ("k2",)),
        (SendOutcome.ACCEPTED, ("k3",)),  # Send has no per-message verdict (000 L196-204)
    ]
    assert [m.reference for m in sim.sent] == ["k1", "k2", "k3"]

    early = {r.provider_id: r for r in await client.query_status(["k1", "k2", "k3"])}
    assert early["k1"].status is MessageStatus.SUBMITTED
    assert (early["k3"].status, early["k3"].code) == (MessageStatus.REJECTED, "5")

    await clock.sleep(31)
    final = {r.provider_id: r for r in await client.query_status(["k1", "k2", "k3", "nope"])}
    assert (final["k1"].status, final["k1"].code, final["k1"].text) == (
        MessageStatus.DELIVERED, "100", "Delivered")
    assert (final["k2"].status, final["k2"].code) == (MessageStatus.UNDELIVERABLE, "101")
    assert "nope" not in final


async def test_one_send_per_sender_name(client: MobipaceSender, sim: MobipaceSim) -> None:
    results = await client.send_batch([sms("a", source="ONE"), sms("b", source="TWO"),
                                       sms("c", source="ONE")])
    assert [r.outcome for r in results] == [SendOutcome.ACCEPTED] * 3
    assert sim.requests["Send"] == 2
    assert {(m.reference, m.sender) for m in sim.sent} == {("a", "ONE"), ("b", "TWO"),
                                                          ("c", "ONE")}


@pytest.mark.parametrize("code", sorted(MESSAGE_STATUSES))
async def test_every_message_status_is_mapped(
    code: int, client: MobipaceSender, sim: MobipaceSim, clock: ScaledClock
) -> None:
    sim.outcomes["79031234567"] = code
    sim.final_after = 0  # straight to the final status
    await client.send_batch([sms("m")])
    [report] = await client.query_status(["m"])
    name, status = MESSAGE_STATUSES[code]
    assert (report.status, report.code, report.text) == (status, str(code), name)


async def test_balance_and_calculate(client: MobipaceSender, sim: MobipaceSim) -> None:
    account = sim.accounts[USERNAME]
    account.balance, account.negative_limit = Decimal("1300.30"), Decimal("-1000")
    balance = await client.balance()
    assert balance.amount == pytest.approx(1300.30)
    assert balance.details == {"BalanceNegativeLimit": "-1000", "AvailableFund": "2300.30"}

    long_text = "Привет! " * 20  # 160 UCS-2 units: 3 parts of 67
    quote = await client.calculate([sms("q1"), sms("q2", body=long_text), sms("q3", "123x")])
    assert (quote.message_count, quote.part_count) == (2, 4)
    assert quote.total_price == Decimal("10.00")
    assert quote.average_price == Decimal("5.00")
    assert sim.sent == [] and account.balance == Decimal("1300.30")  # nothing sent, no charge


EXPECTED_SEND_VERDICTS = {
    RequestCode.UNKNOWN: "in_doubt",
    RequestCode.INCORRECT_PARAMETER: "stop",
    RequestCode.SESSION_EXPIRED: "accepted",  # re-authorized and repeated once
    RequestCode.ACCESS_DENIED: "accepted",  # waited and repeated
    RequestCode.INCORRECT_USERNAME_OR_PASSWORD: "stop",
    RequestCode.USER_LOCKED: "stop",
    RequestCode.USER_BLOCKED: "stop",
    RequestCode.OUT_OF_BALANCE: "pause",
    RequestCode.MESSAGE_COUNT_OVERFLOW: "accepted",  # split in halves and sent again
    RequestCode.CURRENCY_NOT_DEFINED: "stop",
}


def test_every_request_code_has_a_verdict() -> None:
    assert set(EXPECTED_SEND_VERDICTS) == set(RequestCode) - {RequestCode.SUCCESS}


@pytest.mark.parametrize("code", sorted(EXPECTED_SEND_VERDICTS))
async def test_every_request_code_on_send(
    code: RequestCode, client: MobipaceSender, sim: MobipaceSim
) -> None:
    sim.fail_next("Send", int(code))
    verdict = EXPECTED_SEND_VERDICTS[code]
    batch = [sms("r1"), sms("r2")]
    if verdict in ("stop", "pause"):
        with pytest.raises(ChannelError) as raised:
            await client.send_batch(batch)
        assert raised.value.code == str(int(code))
        assert raised.value.permanent is (verdict == "stop")
        assert bool(raised.value.retry_after) is (verdict == "pause")
        assert sim.sent == []
        return
    results = await client.send_batch(batch)
    if verdict == "in_doubt":
        assert [r.outcome for r in results] == [SendOutcome.IN_DOUBT] * 2
    else:
        assert [r.outcome for r in results] == [SendOutcome.ACCEPTED] * 2
        assert {m.reference for m in sim.sent} == {"r1", "r2"}


async def test_a_single_message_over_the_limit_stops_the_channel(
    client: MobipaceSender, sim: MobipaceSim
) -> None:
    sim.fail_next("Send", 301)
    with pytest.raises(ChannelError) as raised:
        await client.send_batch([sms("one")])
    assert (raised.value.code, raised.value.permanent) == ("301", True)


async def test_more_than_20000_is_refused_before_sending(client: MobipaceSender) -> None:
    with pytest.raises(ValueError):
        await client.send_batch([sms(str(k)) for k in range(20_001)])


async def test_no_money_after_part_of_the_batch_went_out(
    client: MobipaceSender, sim: MobipaceSim
) -> None:
    sim.accounts[USERNAME].balance = Decimal("2.50")  # one part
    results = await client.send_batch([sms("a", source="ONE"), sms("b", source="TWO")])
    # The first Send went out, so nothing is raised: the second comes back RETRY.
    assert [(r.outcome, r.code) for r in results] == [
        (SendOutcome.ACCEPTED, "101"), (SendOutcome.RETRY, "300")]
    with pytest.raises(ChannelError) as raised:
        await client.send_batch([sms("c")])
    assert (raised.value.code, raised.value.permanent) == ("300", False)


async def test_concurrent_callers_never_meet_104(
    sim: MobipaceSim, client: MobipaceSender
) -> None:
    sim.processing_seconds = 2.0  # each request keeps the account busy 2 clock seconds
    sends, _, _, quote = await asyncio.gather(
        asyncio.gather(*(client.send_batch([sms(f"c{k}")]) for k in range(4))),
        client.query_status(["c0"]),
        client.balance(),
        client.calculate([sms("x")]),
    )
    assert [r[0].outcome for r in sends] == [SendOutcome.ACCEPTED] * 4
    assert quote.message_count == 1
    assert sim.answers[104] == 0
    assert sim.requests["authorize"] == 1


async def test_a_foreign_request_in_flight_is_waited_out(
    sim: MobipaceSim, client: MobipaceSender, base_url: str, clock: ScaledClock
) -> None:
    async with aiohttp.ClientSession() as other_daemon:
        login = await other_daemon.post(
            base_url + "authorize", json={"Username": USERNAME, "Password": PASSWORD})
        session_id = (await login.json())["SessionId"]
        await client.balance()  # our session exists before the other daemon keeps the account
        sim.processing_seconds = 1.5
        foreign = asyncio.ensure_future(
            other_daemon.post(base_url + "QueryBalance", json={"SessionId": session_id}))
        for _ in range(1000):  # until the provider is busy with the other daemon's request
            if sim.accounts[USERNAME].busy:
                break
            await asyncio.sleep(0.001)
        [result] = await client.send_batch([sms("w")])
        foreign_answer = await (await foreign).json()
    assert foreign_answer["StatusCode"] == 101
    assert result.outcome is SendOutcome.ACCEPTED
    # our first try met the other request and was repeated after a wait (on a loaded machine
    # the other request may still run at the first repeat: the client waits out 104 3 times)
    assert 1 <= sim.answers[104] <= 3


async def test_reauthorizes_on_103_and_repeats_once(
    client: MobipaceSender, sim: MobipaceSim
) -> None:
    await client.balance()
    sim.expire_sessions()
    [result] = await client.send_batch([sms("s1")])
    assert result.outcome is SendOutcome.ACCEPTED
    assert sim.requests["authorize"] == 2
    assert len(sim.sent_with_reference(USERNAME, "s1")) == 1

    # A second 103 right after the fresh login is not chased further.
    sim.fail_next("QueryBalance", 103)
    sim.fail_next("QueryBalance", 103)
    with pytest.raises(ChannelError) as raised:
        await client.balance()
    assert (raised.value.code, raised.value.permanent) == ("103", False)


async def test_session_is_renewed_before_it_lapses(serve: Serve) -> None:
    clock = ScaledClock(0.0001)  # 3300 clock seconds in 0.33 s
    sim = MobipaceSim(clock=clock, accounts={USERNAME: PASSWORD}, session_idle_seconds=3600)
    url = await serve(build_app(sim)) + "/v3/"
    sender = MobipaceSender(
        username=USERNAME, password=PASSWORD, clock=clock, base_url=url, timeout_seconds=5000)
    try:
        await sender.balance()
        await clock.sleep(3400)  # idle past the 55 min renewal point, within the 60 min TTL
        await sender.balance()
    finally:
        await sender.close()
    assert sim.requests["authorize"] == 2
    assert sim.answers[103] == 0  # renewed in advance, never refused


async def test_wrong_password_is_tried_once_and_never_again(
    sim: MobipaceSim, base_url: str, clock: ScaledClock
) -> None:
    sender = MobipaceSender(username=USERNAME, password="guess-1", clock=clock, base_url=base_url)
    try:
        with structlog.testing.capture_logs() as logs:
            for _ in range(3):
                with pytest.raises(ChannelError) as raised:
                    await sender.send_batch([sms("p")])
                assert (raised.value.code, raised.value.permanent) == ("200", True)
                assert "guess-1" not in str(raised.value)
    finally:
        await sender.close()
    assert sim.requests["authorize"] == 1  # the user is not driven into 201 UserLocked
    assert sim.accounts[USERNAME].failed_logins == 1
    assert "guess-1" not in repr(logs) + repr(sender)


async def test_lost_answer_after_the_send_was_processed(
    client: MobipaceSender, sim: MobipaceSim
) -> None:
    sim.hang_next("Send")
    batch = [sms("d1"), sms("d2")]
    assert [r.outcome for r in await client.send_batch(batch)] == [SendOutcome.IN_DOUBT] * 2
    resolved = await client.resolve_in_doubt(batch)
    assert [(r.outcome, r.provider_ids) for r in resolved] == [
        (SendOutcome.ACCEPTED, ("d1",)), (SendOutcome.ACCEPTED, ("d2",))]
    assert sim.requests["Send"] == 1


async def test_lost_send_is_resent_exactly_once(client: MobipaceSender, sim: MobipaceSim) -> None:
    sim.hang_next("Send", processed=False)
    batch = [sms("e1")]
    [lost] = await client.send_batch(batch)
    assert lost.outcome is SendOutcome.IN_DOUBT
    [resolved] = await client.resolve_in_doubt(batch)
    assert resolved.outcome is SendOutcome.RETRY
    [resent] = await client.send_batch(batch)
    assert resent.outcome is SendOutcome.ACCEPTED
    assert len(sim.sent_with_reference(USERNAME, "e1")) == 1


async def test_in_doubt_while_the_provider_is_still_busy(
    client: MobipaceSender, sim: MobipaceSim, clock: ScaledClock
) -> None:
    # Still working on it for 150 s: long after our 60 s timeout and the ~11 s of waits on 104.
    sim.hang_seconds = 150
    sim.hang_next("Send", busy=True)
    batch = [sms("f1")]
    [lost] = await client.send_batch(batch)
    assert lost.outcome is SendOutcome.IN_DOUBT
    # QueryMessages meets 104 on every try: the provider cannot tell yet, so neither can we.
    [undecided] = await client.resolve_in_doubt(batch)
    assert undecided.outcome is SendOutcome.IN_DOUBT
    await clock.sleep(90)
    [resolved] = await client.resolve_in_doubt(batch)
    assert resolved.outcome is SendOutcome.ACCEPTED
    assert len(sim.sent_with_reference(USERNAME, "f1")) == 1


async def test_an_unreadable_answer_leaves_the_send_in_doubt(
    serve: Serve, clock: ScaledClock
) -> None:
    async def authorize(request: web.Request) -> web.Response:
        return web.json_response({"StatusCode": 101, "Status": "Success", "SessionId": "s-1"})

    async def broken(request: web.Request) -> web.Response:
        return web.Response(text="<html>502 Bad Gateway</html>", content_type="text/html")

    app = web.Application()
    app.router.add_post("/v3/authorize", authorize)
    app.router.add_post("/v3/Send", broken)
    url = await serve(app) + "/v3/"
    sender = MobipaceSender(username=USERNAME, password=PASSWORD, clock=clock, base_url=url)
    try:
        [result] = await sender.send_batch([sms("u")])
    finally:
        await sender.close()
    assert result.outcome is SendOutcome.IN_DOUBT


async def test_secrets_stay_out_of_logs_and_errors(
    client: MobipaceSender, sim: MobipaceSim
) -> None:
    with structlog.testing.capture_logs() as logs:
        await client.send_batch([sms("z1")])
        sim.expire_sessions()
        await client.balance()
        sim.fail_next("QueryBalance", 300)
        with pytest.raises(ChannelError) as raised:
            await client.balance()
    assert sim.requests["authorize"] == 2
    texts = repr(logs) + str(raised.value) + repr(client)
    assert PASSWORD not in texts
    assert all(session_id not in texts for session_id in sim.sessions)


async def test_the_fake_checks_request_format(base_url: str, sim: MobipaceSim) -> None:
    async with aiohttp.ClientSession() as http:
        async def call(method: str, payload: object) -> dict[str, object]:
            async with http.post(base_url + method, json=payload) as response:
                answer: dict[str, object] = await response.json()
                return answer

        login = await call("authorize", {"Username": USERNAME, "Password": PASSWORD})
        session_id = login["SessionId"]
        assert (await call("Send", {"SessionId": session_id}))["StatusCode"] == 102
        too_many = [{"Recipient": "79031234567", "Body": "x"}] * 20_001
        assert (await call("Send", {"SessionId": session_id, "Sender": "S",
                                    "Messages": too_many}))["StatusCode"] == 301
        assert (await call("QueryBalance", {"SessionId": "unknown"}))["StatusCode"] == 103
        async with http.post(base_url + "send", json={}) as response:
            assert response.status == 404  # the method paths are case-sensitive as documented
    sim.accounts[USERNAME].currency = None
    one = {"SessionId": session_id, "Sender": "S",
           "Messages": [{"Recipient": "79031234567", "Body": "x"}]}
    async with aiohttp.ClientSession() as http, http.post(base_url + "Send", json=one) as answer:
        assert (await answer.json())["StatusCode"] == 302


async def test_the_fake_locks_a_user_after_three_bad_logins(base_url: str, sim: MobipaceSim
                                                            ) -> None:
    async with aiohttp.ClientSession() as http:
        codes = []
        for password in ("a", "b", "c", PASSWORD):
            async with http.post(base_url + "authorize",
                                 json={"Username": USERNAME, "Password": password}) as response:
                codes.append((await response.json())["StatusCode"])
    assert codes == [200, 200, 201, 201]
    assert build_app(sim)[SIM_KEY] is sim
