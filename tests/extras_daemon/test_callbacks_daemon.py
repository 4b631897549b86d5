"""The daemon's callback receiver over real HTTP: provider fakes POST to it, each record is
stored once, refusals are 404 (token) and 403 (source), unknown ids are accepted and flagged."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from dispatcher.provider_sim import devino_viber as viber_sim
from dispatcher.provider_sim import webcom as webcom_sim
from dispatcher.provider_sim.devino_mo_push import MoPusher
from dispatcher.provider_sim.devino_platform import IncomingSim

from .conftest import (
    LOGIN,
    PASSWORD,
    TOKEN,
    devino_viber,
    extras_config,
    post,
    wait_all_final,
    wait_for_row,
)


def counted(daemon: Any, kind: str, result: str) -> float:
    value = daemon.metrics.registry.get_sample_value(
        "smpp_dispatcher_callbacks_total", {"kind": kind, "result": result})
    return float(value or 0.0)


async def test_viber_status_callbacks_are_guarded_stored_once_and_flag_unknown_ids(
    migrated_dsn: str, db: asyncpg.Connection, serve: Any, clock: Any, start_daemon: Any
) -> None:
    sim = viber_sim.ViberApiSim(clock=clock, accounts={LOGIN: PASSWORD})
    url = await serve(viber_sim.build_app(sim))
    config = extras_config(
        migrated_dsn, providers={"dv": devino_viber(url)},
        routes={"default": {"viber": ["dv"], "source": "Shop"}},
        callbacks={"token": TOKEN, "listen": "127.0.0.1:0", "allowed_sources": ["127.0.0.1"],
                   "trusted_proxies": ["127.0.0.1"]})
    await db.execute("INSERT INTO outbox (channel, destination, body) "
                     "VALUES ('viber_sms', '79990000101', 'code 4711')")
    running = await start_daemon(config)
    daemon = running.daemon
    base = f"http://127.0.0.1:{daemon.extras.callback_port}/callbacks"
    await wait_for_row(db, "SELECT 1 FROM dispatcher_part")
    await clock.sleep(5)  # the Viber leg reaches its outcome (3 clock seconds)
    sim.callback_url = f"{base}/{TOKEN}/devino/viber/status"
    assert await sim.push_callbacks() >= 1
    body = json.dumps(sim.callbacks[-1]).encode()
    events = len(sim.callbacks[-1])

    assert await post(sim.callback_url, body) == (200, b"")  # the provider sends it again
    assert await db.fetchval("SELECT count(*) FROM dispatcher_callback") == events
    assert counted(daemon, "viber_status", "duplicate") == events
    viber_leg = await db.fetchrow(
        "SELECT status, state, detail FROM dispatcher_viber_leg WHERE leg = 'viber'")
    assert tuple(viber_leg) == ("undeliverable", "undelivered", "NOT_VIBER_USER")
    # the Viber leg failed, the SMS re-send has yet to decide: the row stays in progress
    # until the status poll brings the SMS leg
    await wait_all_final(db, 1)
    assert await db.fetchval("SELECT status FROM outbox") == "delivered"

    wrong = f"{base}/not-the-token-at-all-0000/devino/viber/status"
    assert (await post(wrong, body))[0] == 404
    outside = await post(sim.callback_url, body, headers={"X-Forwarded-For": "198.51.100.7"})
    assert outside[0] == 403
    assert counted(daemon, "viber_status", "refused") == 2

    stranger = [{"id": "123456789", "status": "DELIVERED", "receivedAt": "1700000000000"}]
    assert await post(sim.callback_url, json.dumps(stranger).encode()) == (200, b"")
    flagged = await db.fetchrow(
        "SELECT known, payload FROM dispatcher_callback WHERE provider_id = '123456789'")
    assert flagged["known"] is False and json.loads(flagged["payload"])["status"] == "DELIVERED"
    assert counted(daemon, "viber_status", "unknown_id") == 1


async def test_webcom_status_callbacks_finish_the_message_once(
    migrated_dsn: str, db: asyncpg.Connection, serve: Any, clock: Any, start_daemon: Any
) -> None:
    sim = webcom_sim.WebcomSim(clock=clock, accounts={"acme": "pw-acme-1"})
    url = await serve(webcom_sim.build_app(sim))
    config = extras_config(
        migrated_dsn,
        providers={"web": {"type": "webcom", "login": "acme", "password": "pw-acme-1",
                           "base_url": f"{url}/json/"}},
        routes={"default": {"fallback": ["web"], "source": "Shop"}},
        callbacks={"token": TOKEN})  # served by the metrics server
    await db.execute("INSERT INTO outbox (destination, body) VALUES ('79031234567', 'hi')")
    running = await start_daemon(config)
    await wait_for_row(db, "SELECT 1 FROM dispatcher_part")
    await clock.sleep(6)  # the fake's message is delivered after 5 clock seconds
    sim.callback_url = (f"http://127.0.0.1:{running.daemon.http_port}"
                        f"/callbacks/{TOKEN}/webcom/status")
    assert await sim.push_callbacks() == 1
    await wait_all_final(db, 1)
    assert await db.fetchval("SELECT status FROM outbox") == "delivered"

    again = json.dumps(sim.callbacks[-1]).encode()
    status, acknowledgement = await post(sim.callback_url, again)
    assert status == 200 and json.loads(acknowledgement) == [
        {"id_sms": r["id_sms"]} for r in sim.callbacks[-1]]
    assert await db.fetchval("SELECT count(*) FROM dispatcher_callback") == 1
    assert counted(running.daemon, "webcom_status", "duplicate") == 1


async def test_incoming_push_pull_and_viber_replies_are_stored_once(
    migrated_dsn: str, db: asyncpg.Connection, serve: Any, clock: Any, start_daemon: Any
) -> None:
    from dispatcher.provider_sim import devino_rest as rest_sim
    from tests.extras.conftest import new_platform

    platform = new_platform(clock)
    rest_url = await serve(rest_sim.build_app(platform))
    viber = viber_sim.ViberApiSim(clock=clock, accounts={LOGIN: PASSWORD})
    viber_url = await serve(viber_sim.build_app(viber))
    config = extras_config(
        migrated_dsn,
        providers={"rest": {"type": "devino_rest", "login": LOGIN, "password": PASSWORD,
                            "base_url": f"{rest_url}/rest"},
                   "dv": devino_viber(viber_url)},
        routes={"default": {"viber": ["dv"], "source": "Shop"}},
        incoming={"poll": ["rest"], "poll_interval": 2},
        callbacks={"token": TOKEN})
    await db.execute("INSERT INTO outbox (channel, destination, body) "
                     "VALUES ('viber', '79031234567', 'question?')")
    pulled = platform.receive_mo("79161112233", "3443", "pulled text")
    running = await start_daemon(config)
    base = f"http://127.0.0.1:{running.daemon.http_port}/callbacks/{TOKEN}"

    # the pull: stored once, however many overlapping windows see it
    await wait_for_row(db, "SELECT 1 FROM dispatcher_incoming WHERE body = 'pulled text'")
    await clock.sleep(6)
    assert await db.fetchval(
        "SELECT count(*) FROM dispatcher_incoming WHERE account = 'rest'") == 1

    # the push, delivered twice (our first answer "lost")
    pusher = MoPusher(url=f"{base}/devino/sms/incoming", clock=clock)
    pushed = IncomingSim(id=pulled.id + 1000, login=LOGIN, source="79161112244",
                         destination="3443", text="pushed text", prefix="", created_wall=0.0)
    assert await pusher.push(pushed) is None
    assert await pusher.push(pushed) is None
    assert [a.status for a in pusher.history] == [200, 200]
    rows = await db.fetch("SELECT account, source, details FROM dispatcher_incoming "
                          "WHERE body = 'pushed text'")
    assert len(rows) == 1 and rows[0]["source"] == "79161112244"
    assert json.loads(rows[0]["details"])["provider_id"] == str(pushed.id)

    # a Viber reply to our message, and one to a message we never sent
    await wait_for_row(db, "SELECT 1 FROM dispatcher_part")
    viber.incoming_url = f"{base}/devino/viber/incoming"
    assert await viber.reply(next(iter(viber.lifecycle.messages)), "answer") is True
    stranger = [{"id": 777, "parentId": 42, "receivedAt": "2024-01-01 10:00:00",
                 "subject": "Shop", "address": "79031234567", "contentType": "text",
                 "content": "who are you"}]
    for _ in range(2):
        assert await post(viber.incoming_url, json.dumps(stranger).encode()) == (200, b"")
    replies = {r["body"]: json.loads(r["details"]) for r in await db.fetch(
        "SELECT body, details FROM dispatcher_incoming WHERE account = 'devino_viber'")}
    assert set(replies) == {"answer", "who are you"}
    assert "unknown_parent" not in replies["answer"]
    assert replies["who are you"]["unknown_parent"] is True
    assert counted(running.daemon, "incoming", "unknown_id") == 2
    assert counted(running.daemon, "incoming", "duplicate") == 2  # one push, one reply
