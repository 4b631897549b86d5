"""Viber rows end to end: the daemon claims them, sends them through the fake Devino Viber
API, polls both legs, and the outbox row ends as `ViberReport` decides."""

from __future__ import annotations

from typing import Any

import asyncpg

from dispatcher.provider_sim import devino_viber as viber_sim

from .conftest import LOGIN, PASSWORD, devino_viber, extras_config, wait_all_final


async def test_viber_and_viber_sms_rows_reach_the_status_their_legs_decide(
    migrated_dsn: str, db: asyncpg.Connection, serve: Any, clock: Any, start_daemon: Any
) -> None:
    sim = viber_sim.ViberApiSim(clock=clock, accounts={LOGIN: PASSWORD})
    url = await serve(viber_sim.build_app(sim))
    config = extras_config(
        migrated_dsn, providers={"dv": devino_viber(url)},
        routes={"default": {"viber": ["dv"], "source": "Shop"},
                "anonymous": {"viber": ["dv"]}})
    rows = [
        ("default", "viber", None, "79031234567", "read by the subscriber"),
        # the Viber leg fails (not a Viber user), the SMS re-send delivers
        ("default", "viber_sms", None, "79990000101", "code 4711"),
        # both legs fail
        ("default", "viber_sms", None, "79990000105", "code 4712"),
        # Viber fails and no re-send was asked for
        ("default", "viber", None, "79990000102", "blocked"),
        # a sender Viber takes but an SMS cannot carry
        ("default", "viber_sms", "Shop-Name", "79031234568", "bad SMS sender"),
        ("anonymous", "viber", None, "79031234569", "no sender anywhere"),
        ("default", "email", None, "79031234570", "not a channel"),
    ]
    await db.executemany(
        "INSERT INTO outbox (route, channel, source, destination, body)"
        " VALUES ($1, $2, $3, $4, $5)", rows)
    await start_daemon(config)
    await wait_all_final(db, len(rows))

    found = {r["body"]: r for r in await db.fetch(
        "SELECT id, body, status, provider, error_code, error_text FROM outbox")}
    assert found["read by the subscriber"]["status"] == "delivered"
    assert found["read by the subscriber"]["provider"] == "viber:dv"
    rescued = found["code 4711"]
    assert (rescued["status"], rescued["provider"]) == ("delivered", "viber_sms:dv")
    assert found["code 4712"]["status"] == "undeliverable"
    assert found["code 4712"]["error_code"] == "sms:undelivered"
    assert "SMS re-send undelivered" in found["code 4712"]["error_text"]
    assert found["blocked"]["status"] == "undeliverable"
    assert found["blocked"]["error_code"] == "viber:undelivered"
    assert "user-blocked" in found["blocked"]["error_text"]
    refused = found["bad SMS sender"]
    assert refused["status"] == "rejected" and "SMS re-send: source" in refused["error_text"]
    assert "no Viber sender" in found["no sender anywhere"]["error_text"]
    assert "'email' is not served" in found["not a channel"]["error_text"]

    legs = {(r["leg"]): r for r in await db.fetch(
        "SELECT leg, status, state, detail, ids FROM dispatcher_viber_leg WHERE outbox_id = $1",
        rescued["id"])}
    # a re-sent message's status answer carries its SMS states only (seed 004 L6524-6541):
    # without a status callback the Viber leg's own outcome stays unknown to us
    assert legs["viber"]["status"] == "submitted"
    assert legs["sms"]["status"] == "delivered" and len(legs["sms"]["ids"]) == 1
    # each message went out once, the re-send rows with the SMS fields
    sent = [m for document in sim.documents for m in document["messages"]]
    assert sorted(m["address"] for m in sent) == sorted(
        r[3] for r in rows if r[4] in {"read by the subscriber", "code 4711", "code 4712",
                                       "blocked"})
    assert all(("smsText" in m) == (m["address"] in {"79990000101", "79990000105"})
               for m in sent)
