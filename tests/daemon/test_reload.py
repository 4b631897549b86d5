"""SIGHUP: what can change without dropping a bind is applied; the rest waits for a restart."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from dispatcher.smsc_sim import SmscSimulator
from tests.daemon.conftest import daemon_config, wait_all_final


async def test_reload_applies_routes_and_rates_and_keeps_binds(
    migrated_dsn: str, db: asyncpg.Connection, simulator: SmscSimulator, start_daemon: Any
) -> None:
    running = await start_daemon(daemon_config(migrated_dsn, simulator.port))
    await simulator.wait_until(lambda: simulator.bound_count("dispatcher") == 2, timeout=20)
    binds_before = len(simulator.recording.binds)
    new = daemon_config(
        migrated_dsn, simulator.port,
        routes__default__source="Renamed",
        smpp__accounts__main__rate_limit=500.0,
        smpp__accounts__main__system_id="someone-else",
        log__level="warning",
    )
    applied, needs_restart = running.daemon.reload(new)
    assert set(applied) == {"routes", "smpp.accounts.main.rate_limit", "log"}
    assert needs_restart == ["smpp.accounts.main.system_id"]
    config = running.daemon.config
    assert config.routes["default"].source == "Renamed"
    assert config.smpp.accounts["main"].system_id == "dispatcher"  # the running value stays

    await db.execute("INSERT INTO outbox (destination, body) VALUES ('79031234567', 'after')")
    await wait_all_final(db, 1)
    await asyncio.sleep(0.05)
    assert len(simulator.recording.binds) == binds_before  # no bind was dropped
    sources = {submit.source_addr for submit in simulator.recording.submits}
    assert sources == {"Renamed"}
