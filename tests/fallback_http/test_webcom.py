"""The Webcom JSON client and its status callback against the fake, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence

import aiohttp
import pytest
import structlog
from aiohttp import web

from dispatcher.clock import ScaledClock
from dispatcher.fallback.base import ChannelError, OutgoingSms, SendOutcome, StatusReport
from dispatcher.fallback.webcom import (
    DOCUMENT_ERRORS,
    PHONE_ERRORS,
    STATES,
    Verdict,
    WebcomSender,
    parse_status_callback,
    status_callback_handler,
)
from dispatcher.provider_sim.webcom import SIM_KEY, WebcomSim, build_app
from dispatcher.status import MessageStatus
from tests.http_servers import Serve

LOGIN, PASSWORD, TOKEN = "shop", "w3bc0m-Pass", "tok-9f8e7d6c5b4a"


def sms(key: str, destination: str = "79031234567", body: str = "hello", source: str = "SHOP"
        ) -> OutgoingSms:
    return OutgoingSms(key=key, source=source, destination=destination, body=body)


@pytest.fixture
def sim(clock: ScaledClock) -> WebcomSim:
    return WebcomSim(clock=clock, accounts={LOGIN: PASSWORD}, tokens={TOKEN: LOGIN},
                     final_after=30, hang_seconds=60)


@pytest.fixture
async def base_url(sim: WebcomSim, serve: Serve) -> str:
    return await serve(build_app(sim)) + "/json/"


@pytest.fixture
async def client(base_url: str, clock: ScaledClock) -> AsyncIterator[WebcomSender]:
    sender = WebcomSender(login=LOGIN, password=PASSWORD, clock=clock, base_url=base_url)
    yield sender
    await sender.close()


async def test_send_groups_texts_and_keeps_the_order(
    client: WebcomSender, sim: WebcomSim
) -> None:
    batch = [sms("1", "79030000001"), sms("2", "79030000002", source="OTHER"),
             sms("3", "79030000003")]
    results = await client.send_batch(batch)
    assert [r.outcome for r in results] == [SendOutcome.ACCEPTED] * 3
    by_id = {str(m.id_sms): m for m in sim.messages.values()}
    # Each result carries the id_sms of its own phone, although 1 and 3 went as one group.
    assert [by_id[r.provider_ids[0]].phone for r in results] == [
        "79030000001", "79030000002", "79030000003"]
    assert [by_id[r.provider_ids[0]].client_id_sms for r in results] == ["1", "2", "3"]


@pytest.mark.parametrize("state", ["deliver", "not_deliver", "expired", "partly_deliver"])
async def test_poll_to_final(
    state: str, client: WebcomSender, sim: WebcomSim, clock: ScaledClock
) -> None:
    sim.outcomes["79031234567"] = state
    [result] = await client.send_batch([sms("7")])
    [early] = await client.query_status(result.provider_ids)
    assert (early.status, early.code, early.text) == (MessageStatus.SUBMITTED, "send", None)
    await clock.sleep(31)
    [final] = await client.query_status([*result.provider_ids, "999999"])
    assert (final.status, final.code) == (STATES[state], state)
    assert final.is_final and final.text  # the time of the change


@pytest.mark.parametrize("text", sorted(PHONE_ERRORS))
async def test_every_phone_error_is_classified(
    text: str, client: WebcomSender, sim: WebcomSim
) -> None:
    sim.refusals["79030000000"] = text
    verdict = PHONE_ERRORS[text]
    expected = SendOutcome.REJECTED if verdict is Verdict.PERMANENT else SendOutcome.RETRY
    mixed = await client.send_batch([sms("1", "79030000000"), sms("2")])
    assert (mixed[0].outcome, mixed[0].code) == (expected, text)
    assert mixed[1].outcome is SendOutcome.ACCEPTED
    if verdict in (Verdict.CHANNEL_STOP, Verdict.CHANNEL_PAUSE):
        with pytest.raises(ChannelError) as raised:
            await client.send_batch([sms("3", "79030000000")])
        assert raised.value.permanent is (verdict is Verdict.CHANNEL_STOP)
        assert (raised.value.retry_after is None) is (verdict is Verdict.CHANNEL_STOP)
    else:
        [alone] = await client.send_batch([sms("3", "79030000000")])
        assert alone.outcome is expected


async def test_phone_errors_the_fake_finds_by_itself(
    client: WebcomSender, sim: WebcomSim
) -> None:
    sim.stop_list.add("79035550000")
    sim.accounts[LOGIN].senders = {"SHOP", "NEWSHOP"}
    sim.accounts[LOGIN].unmoderated_senders = {"NEWSHOP"}
    results = await client.send_batch([
        sms("1", "79035550000"),
        sms("2", "7903123456789012"),
        sms("3", source="NOPE"),
        sms("4", source="NEWSHOP"),
        sms("5", source="TWELVE-CHARS"),
        sms("6", body="  "),
        sms("7", "  "),
    ])
    assert [(r.outcome, r.code) for r in results] == [
        (SendOutcome.REJECTED, "номер телефона присутствует в стоп-листе"),
        (SendOutcome.REJECTED, "номер телефона должен быть меньше 15 символов"),
        (SendOutcome.RETRY, "такого отправителя нет"),
        (SendOutcome.RETRY, "отправитель не прошел модерацию"),
        (SendOutcome.REJECTED, "отправитель не должен превышать 15 символов для цифровых номеров"
                               " и 11 символов для буквенно-числовых"),
        (SendOutcome.REJECTED, "нет текста сообщения"),
        (SendOutcome.REJECTED, "укажите номер телефона"),
    ]
    assert sim.messages == {}


async def test_out_of_sms_pauses_the_channel(client: WebcomSender, sim: WebcomSim) -> None:
    sim.accounts[LOGIN].sms_left = 1
    results = await client.send_batch([sms("1"), sms("2", "79030000002")])
    assert [(r.outcome, r.code) for r in results] == [
        (SendOutcome.ACCEPTED, "send"), (SendOutcome.RETRY, "закончились SMS")]
    with pytest.raises(ChannelError) as raised:
        await client.send_batch([sms("3")])
    assert (raised.value.permanent, raised.value.code) == (False, "закончились SMS")


@pytest.mark.parametrize("text", sorted(DOCUMENT_ERRORS))
async def test_every_document_error_stops_the_channel(
    text: str, client: WebcomSender, sim: WebcomSim
) -> None:
    sim.fail_next("send", text)
    with pytest.raises(ChannelError) as raised:
        await client.send_batch([sms("1")])
    assert (raised.value.code, raised.value.permanent) == (text, True)
    sim.fail_next("balance", "  " + text.upper() + " ")  # matched tolerantly
    with pytest.raises(ChannelError) as again:
        await client.balance()
    assert again.value.permanent


async def test_an_undocumented_document_error_pauses(client: WebcomSender, sim: WebcomSim) -> None:
    sim.fail_next("send", "Сервис на обслуживании")
    with pytest.raises(ChannelError) as raised:
        await client.send_batch([sms("1")])
    assert (raised.value.permanent, raised.value.retry_after) == (False, 30.0)


async def test_real_refusals_wrong_password_and_blocked_account(
    sim: WebcomSim, base_url: str, clock: ScaledClock
) -> None:
    sender = WebcomSender(login=LOGIN, password="not-it", clock=clock, base_url=base_url)
    with structlog.testing.capture_logs() as logs:
        with pytest.raises(ChannelError) as wrong:
            await sender.send_batch([sms("1")])
        await sender.close()
    assert (wrong.value.code, wrong.value.permanent) == ("Неправильный логин или пароль", True)
    assert "not-it" not in str(wrong.value) + repr(logs) + repr(sender)

    sim.accounts[LOGIN].blocked = True
    blocked_sender = WebcomSender(token=TOKEN, clock=clock, base_url=base_url)
    with pytest.raises(ChannelError) as blocked:
        await blocked_sender.balance()
    await blocked_sender.close()
    assert (blocked.value.code, blocked.value.permanent) == ("Ваш аккаунт заблокирован", True)
    assert TOKEN not in str(blocked.value) + repr(blocked_sender)


def test_credentials_are_login_and_password_or_a_token() -> None:
    with pytest.raises(ValueError) as raised:
        WebcomSender(login=LOGIN, token=TOKEN)
    assert TOKEN not in str(raised.value)
    with pytest.raises(ValueError):
        WebcomSender()


async def test_token_auth_and_balance(sim: WebcomSim, base_url: str, clock: ScaledClock) -> None:
    sim.accounts[LOGIN].sms_left = 72029
    sender = WebcomSender(token=TOKEN, clock=clock, base_url=base_url)
    try:
        balance = await sender.balance()
        [sent] = await sender.send_batch([sms("1")])
    finally:
        await sender.close()
    assert balance.amount == pytest.approx(19023.9)
    assert balance.currency == "RUR"
    assert balance.details == {"sms:Россия": "72029"}
    assert sent.outcome is SendOutcome.ACCEPTED


async def test_lost_answer_is_resent_with_the_same_client_id(
    client: WebcomSender, sim: WebcomSim
) -> None:
    sim.hang_next("send")  # processed, answer lost
    batch = [sms("31"), sms("32", "79030000032")]
    assert [r.outcome for r in await client.send_batch(batch)] == [SendOutcome.IN_DOUBT] * 2
    assert [r.outcome for r in await client.resolve_in_doubt(batch)] == [SendOutcome.RETRY] * 2
    first_ids = {m.client_id_sms: m.id_sms for m in sim.messages.values()}

    again = await client.send_batch(batch)
    assert [r.outcome for r in again] == [SendOutcome.ACCEPTED] * 2
    # The repeat returned the earlier id_sms and sent nothing more.
    assert [r.provider_ids for r in again] == [(str(first_ids["31"]),), (str(first_ids["32"]),)]
    assert len(sim.messages) == 2


async def test_lost_request_is_sent_once_on_resend(client: WebcomSender, sim: WebcomSim) -> None:
    sim.hang_next("send", processed=False)
    batch = [sms("41")]
    [lost] = await client.send_batch(batch)
    assert lost.outcome is SendOutcome.IN_DOUBT and sim.messages == {}
    [resent] = await client.send_batch(batch)
    assert resent.outcome is SendOutcome.ACCEPTED
    assert len(sim.sent_with_client_id(LOGIN, "41")) == 1


async def test_validity_becomes_validity_period(client: WebcomSender, sim: WebcomSim) -> None:
    await client.send_batch([OutgoingSms("v", "SHOP", "79031234567", "hi", validity_seconds=60)])
    [message] = sim.messages.values()
    assert message.validity_period is not None
    assert len(message.validity_period) == len("2001-12-31 15:34:54")


def test_callback_parse_echoes_ids_exactly() -> None:
    body = json.dumps([
        {"id_sms": "82216", "time": "2011-01-01 12:57:46", "state": "deliver"},
        {"id_sms": 82217, "time": "2011-01-01 12:57:46", "state": "not_deliver"},
        {"id_sms": 82218, "time": "", "state": "send"},
        {"id_sms": 82219, "time": "", "state": "teleported"},
        {"time": "2011-01-01 12:57:46", "state": "deliver"},
        {"id_sms": True, "state": "deliver"},
        "garbage",
    ]).encode()
    callback = parse_status_callback(body)
    assert callback.acknowledgement == (
        b'[{"id_sms":"82216"},{"id_sms":82217},{"id_sms":82218},{"id_sms":82219}]')
    assert [(r.provider_id, r.status, r.code, r.text) for r in callback.reports] == [
        ("82216", MessageStatus.DELIVERED, "deliver", "2011-01-01 12:57:46"),
        ("82217", MessageStatus.UNDELIVERABLE, "not_deliver", "2011-01-01 12:57:46"),
        ("82218", MessageStatus.SUBMITTED, "send", None),
        ("82219", MessageStatus.UNKNOWN, "teleported", None),
    ]


@pytest.mark.parametrize("state", sorted(STATES))
def test_callback_maps_every_state(state: str) -> None:
    body = json.dumps([{"id_sms": 5, "time": "2011-01-01 12:57:46", "state": state}]).encode()
    [report] = parse_status_callback(body).reports
    assert (report.status, report.code) == (STATES[state], state)


@pytest.mark.parametrize("body", [b"", b"{not json", b'{"id_sms": 1}', b"\xff\xfe"])
def test_callback_survives_any_body(body: bytes) -> None:
    callback = parse_status_callback(body)
    assert (callback.reports, callback.acknowledgement) == ((), b"[]")


async def test_callbacks_end_to_end(
    serve: Serve, clock: ScaledClock, client: WebcomSender, sim: WebcomSim
) -> None:
    stored: list[StatusReport] = []
    failing = [True]

    async def store(reports: Sequence[StatusReport]) -> None:
        if failing[0]:
            raise RuntimeError("database down")
        stored.extend(reports)

    receiver = web.Application()
    receiver.router.add_post("/webcom/status", status_callback_handler(store))
    sim.callback_url = await serve(receiver) + "/webcom/status"
    sim.outcomes["79030000002"] = "expired"
    results = await client.send_batch([sms("1"), sms("2", "79030000002")])
    await clock.sleep(31)

    assert await sim.push_callbacks() == 2  # stored nothing, so acknowledged nothing
    assert sim.acknowledged == set()
    failing[0] = False
    assert await sim.push_callbacks() == 2  # the provider tries again
    assert await sim.push_callbacks() == 0  # everything acknowledged
    assert {(r.provider_id, r.status) for r in stored} == {
        (results[0].provider_ids[0], MessageStatus.DELIVERED),
        (results[1].provider_ids[0], MessageStatus.EXPIRED),
    }


async def test_callbacks_stop_after_five_attempts(
    serve: Serve, clock: ScaledClock, client: WebcomSender, sim: WebcomSim
) -> None:
    async def ignore(request: web.Request) -> web.Response:
        return web.json_response([])

    receiver = web.Application()
    receiver.router.add_post("/status", ignore)
    sim.callback_url = await serve(receiver) + "/status"
    await client.send_batch([sms("1")])
    await clock.sleep(31)
    pushed = [await sim.push_callbacks() for _ in range(7)]
    assert pushed == [1, 1, 1, 1, 1, 0, 0]


async def test_the_app_pushes_callbacks_by_itself(serve: Serve, clock: ScaledClock) -> None:
    stored: list[StatusReport] = []

    async def store(reports: Sequence[StatusReport]) -> None:
        stored.extend(reports)

    receiver = web.Application()
    receiver.router.add_post("/cb", status_callback_handler(store))
    callback_url = await serve(receiver) + "/cb"
    app = build_app(clock=clock, accounts={LOGIN: PASSWORD}, final_after=2,
                    callback_url=callback_url, callback_interval=1)
    url = await serve(app) + "/json/"
    sender = WebcomSender(login=LOGIN, password=PASSWORD, clock=clock, base_url=url)
    try:
        [sent] = await sender.send_batch([sms("1")])
        # the report is stored before the receiver's answer reaches the fake: wait for both
        for _ in range(100):  # at most 100 clock seconds
            if stored and app[SIM_KEY].acknowledged:
                break
            await clock.sleep(1)
    finally:
        await sender.close()
    assert [(r.provider_id, r.status) for r in stored] == [
        (sent.provider_ids[0], MessageStatus.DELIVERED)]
    assert app[SIM_KEY].acknowledged == {(int(sent.provider_ids[0]), "deliver")}


async def test_the_fake_checks_documents(base_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        async def post(path: str, data: bytes) -> object:
            async with http.post(base_url + path, data=data,
                                 headers={"Content-Type": "application/octet-stream"}) as response:
                return await response.json()

        assert await post("", b"") == {"error": "POST данные отсутствуют"}
        assert await post("index.php", b"{") == {"error": "Неправильный формат JSON документа"}
        assert await post("state.php", json.dumps(
            {"login": LOGIN, "password": PASSWORD, "id_sms": 1}).encode()) == {
            "error": "SMS не найдено"}
        assert await post("balance.php", json.dumps(
            {"login": LOGIN, "password": "x"}).encode()) == {
            "error": "Неправильный логин или пароль"}
