"""No secret reaches journald: an end-to-end run of the real daemon (SMPP traffic with
receipts, a bind refused for a wrong password, HTTP fallback traffic with a provider login and
its session id), then SIGTERM, and every line the process wrote is searched for every secret.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web

from dispatcher.provider_sim import mobipace as mobipace_sim
from pdu.constants import CommandStatus
from tests.ops.daemon_process import (
    BIND_TIMEOUT_SECONDS,
    SMPP_PASSWORD,
    SYSTEM_ID,
    base_settings,
    free_port,
    insert_messages,
    running_daemon,
    running_simulator,
    wait_for_binds,
    wait_for_statuses,
    write_config,
)

DATABASE_PASSWORD = "db-Pa55-e2e-4K"
# an account whose configured password is not the one the SMSC has
REFUSED_SYSTEM_ID, REFUSED_PASSWORD = "refused", "bad-Pa55-e2e-8W"
MOBIPACE_USERNAME, MOBIPACE_PASSWORD = "e2e-user", "mobi-Pa55-e2e-2R"
SMPP_MESSAGES, FALLBACK_MESSAGES = 6, 3


@dataclass
class Mobipace:
    sim: mobipace_sim.MobipaceSim
    url: str


@pytest.fixture
async def mobipace() -> AsyncIterator[Mobipace]:
    app = mobipace_sim.build_app(accounts={MOBIPACE_USERNAME: MOBIPACE_PASSWORD})
    runner = web.AppRunner(app, shutdown_timeout=0.2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield Mobipace(app[mobipace_sim.SIM_KEY], f"http://{host}:{port}/v3/")
    finally:
        await runner.cleanup()


@pytest.fixture
async def password_dsn(migrated_dsn: str) -> AsyncIterator[str]:
    """The test database through a role of its own with a password in the DSN. The embedded
    server trusts 127.0.0.1, so the password is never checked, but it is configured exactly
    as a production DSN would carry it. Superuser: no grants to keep in step with the schema."""
    dsn = urllib.parse.urlsplit(migrated_dsn)
    role = f"ops_e2e_{dsn.path.strip('/')}"
    admin = await asyncpg.connect(migrated_dsn)
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{DATABASE_PASSWORD}'")
        netloc = f"{role}:{DATABASE_PASSWORD}@{dsn.hostname}:{dsn.port}"
        yield urllib.parse.urlunsplit(dsn._replace(netloc=netloc))
    finally:
        await admin.execute(f"DROP ROLE IF EXISTS {role}")
        await admin.close()


async def test_no_secret_in_any_line_of_an_end_to_end_run(
    migrated_dsn: str, password_dsn: str, mobipace: Mobipace, tmp_path: Path
) -> None:
    credentials = {SYSTEM_ID: SMPP_PASSWORD, REFUSED_SYSTEM_ID: "the-right-password"}
    async with running_simulator(credentials) as sim:
        settings = base_settings(password_dsn, sim.port, free_port())
        settings["smpp"]["accounts"]["refused"] = {
            "system_id": REFUSED_SYSTEM_ID, "password": REFUSED_PASSWORD,
            "hosts": [f"127.0.0.1:{sim.port}"], "bind_timeout": BIND_TIMEOUT_SECONDS}
        settings["providers"] = {"mobipace": {
            "type": "mobipace", "username": MOBIPACE_USERNAME, "password": MOBIPACE_PASSWORD,
            "base_url": mobipace.url, "timeout": 5}}
        settings["routes"]["spare"] = {"smpp": "refused", "source": "Spare"}
        settings["routes"]["http"] = {"fallback": ["mobipace"], "source": "Fallback"}
        config = write_config(tmp_path / "dispatcher.toml", settings)
        db = await asyncpg.connect(migrated_dsn)
        try:
            async with running_daemon(config) as daemon:
                await wait_for_binds(sim, 2)
                smpp = await insert_messages(db, "smpp", SMPP_MESSAGES)
                http = await insert_messages(db, "http", FALLBACK_MESSAGES, route="http")
                assert await wait_for_statuses(db, smpp) == {"delivered": SMPP_MESSAGES}
                # the provider's status is polled only 30 s later: accepted is far enough
                assert await wait_for_statuses(db, http, ["submitted"]) == {
                    "submitted": FALLBACK_MESSAGES}
                # the daemon is connected through the DSN that carries the password
                role = urllib.parse.urlsplit(password_dsn).username
                assert await db.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE usename = $1", role) > 0
                assert await daemon.stop() == 0
        finally:
            await db.close()

    # the traffic really used every secret
    assert CommandStatus.ESME_RINVPASWD in {
        attempt.command_status for attempt in sim.recording.binds
        if attempt.system_id == REFUSED_SYSTEM_ID}
    [session_id] = mobipace.sim.sessions
    assert mobipace.sim.requests["Send"] >= 1
    secrets = [SMPP_PASSWORD, DATABASE_PASSWORD, REFUSED_PASSWORD, MOBIPACE_PASSWORD, session_id]

    lines = daemon.stdout + daemon.stderr
    leaks = [(secret, line) for line in lines for secret in secrets if secret in line]
    assert leaks == []
    for line in daemon.stdout:
        record = json.loads(line)
        assert {"event", "level", "timestamp"} <= record.keys(), line
    events = {json.loads(line)["event"] for line in daemon.stdout}
    assert {"started", "mobipace.authorized", "stopped"} <= events
