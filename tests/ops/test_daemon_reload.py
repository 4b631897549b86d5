"""SIGHUP on the running daemon, as `systemctl reload` sends it: the edited file is applied
where that needs no restart (routes, log level) without dropping a bind, the rest is named as
needing a restart, and a file that does not validate is refused, naming the key, while the
daemon carries on with what it runs."""

from __future__ import annotations

import copy
import signal
from pathlib import Path
from typing import Any

import asyncpg

from dispatcher.smsc_sim import SmscSimulator
from tests.ops.daemon_process import (
    SYSTEM_ID,
    DaemonProcess,
    base_settings,
    free_port,
    insert_messages,
    running_daemon,
    running_simulator,
    wait_for_binds,
    wait_for_statuses,
    write_config,
)


async def sources_of_next_messages(db: asyncpg.Connection, sim: SmscSimulator, tag: str,
                                   count: int = 2) -> set[str]:
    """Send `count` messages; the source addresses the SMSC received them with."""
    already = len(sim.recording.submits)
    await wait_for_statuses(db, await insert_messages(db, tag, count))
    return {submit.source_addr for submit in sim.recording.submits[already:]}


async def reload(daemon: DaemonProcess, config: Path, settings: dict[str, Any],
                 event: str) -> dict[str, Any]:
    """Write the file, send SIGHUP, return the daemon's answer (its next `event` line)."""
    before = len(daemon.events(event))
    write_config(config, settings)
    daemon.send_signal(signal.SIGHUP)
    return await daemon.wait_for(event, after=before)


async def test_sighup_applies_routes_and_log_level_without_dropping_binds(
    migrated_dsn: str, tmp_path: Path
) -> None:
    async with running_simulator() as sim:
        settings = base_settings(migrated_dsn, sim.port, free_port())
        config = write_config(tmp_path / "dispatcher.toml", settings)
        db = await asyncpg.connect(migrated_dsn)
        try:
            async with running_daemon(config) as daemon:
                await wait_for_binds(sim, 2)
                assert await sources_of_next_messages(db, sim, "before") == {"Dispatcher"}
                binds_before = len(sim.recording.binds)

                edited = copy.deepcopy(settings)
                edited["routes"]["default"]["source"] = "Renamed"
                edited["log"]["level"] = "debug"
                edited["smpp"]["accounts"]["main"]["system_id"] = "someone-else"
                reloaded = await reload(daemon, config, edited, "reloaded")
                assert reloaded["level"] == "info"
                assert sorted(reloaded["applied"]) == ["log", "routes"]
                assert reloaded["needs_restart"] == ["smpp.accounts.main.system_id"]
                assert await sources_of_next_messages(db, sim, "after") == {"Renamed"}
                assert len(sim.recording.binds) == binds_before  # no bind was dropped
                assert sim.bound_count(SYSTEM_ID) == 2

                invalid = copy.deepcopy(edited)
                invalid["routes"]["default"]["source"] = "Ignored"
                invalid["smpp"]["accounts"]["main"]["binds"] = ["trx"] * 5
                refused = await reload(daemon, config, invalid, "reload_refused")
                assert refused["level"] == "error"
                assert refused["problem"].startswith("smpp.accounts.main.binds: at most 4")
                # still running, on the configuration it had
                assert await sources_of_next_messages(db, sim, "refused") == {"Renamed"}
                assert len(sim.recording.binds) == binds_before
                assert await daemon.stop() == 0
        finally:
            await db.close()


async def test_the_reload_that_raises_the_log_level_is_still_confirmed(
    migrated_dsn: str, tmp_path: Path
) -> None:
    async with running_simulator() as sim:
        settings = base_settings(migrated_dsn, sim.port, free_port())
        config = write_config(tmp_path / "dispatcher.toml", settings)
        async with running_daemon(config) as daemon:
            edited = copy.deepcopy(settings)
            edited["log"]["level"] = "warning"
            write_config(config, edited)
            # SIGHUP is handled before SIGTERM: every line of the reload is out at the exit
            daemon.send_signal(signal.SIGHUP)
            assert await daemon.stop() == 0
    [reloaded] = daemon.events("reloaded")
    assert reloaded["applied"] == ["log"]
    assert daemon.events("stopped") == []  # the new level is in force: no info lines
