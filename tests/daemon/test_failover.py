"""Routing: SMPP while bound, the HTTP fallback after `failover_after` without a bound
session, back to SMPP once a session binds again; a rejected message never moves."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from aiohttp import web

from dispatcher.clock import ScaledClock
from dispatcher.provider_sim import devino_rest as rest_sim
from dispatcher.provider_sim.devino_platform import DevinoPlatform
from dispatcher.smsc_sim import SmscSimulator
from tests.daemon.conftest import daemon_config, wait_all_final

LOGIN, PASSWORD = "fallback-login", "fallback-password"


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, shutdown_timeout=0.2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def insert(db: asyncpg.Connection, tag: str, count: int) -> None:
    await db.executemany(
        "INSERT INTO outbox (destination, body) VALUES ($1, $2)",
        [(f"79161{i:06d}", f"{tag} message {i}") for i in range(count)],
    )


async def statuses(db: asyncpg.Connection, tag: str) -> dict[str, int]:
    rows = await db.fetch(
        "SELECT provider, count(*) FROM outbox WHERE body LIKE $1 GROUP BY provider", f"{tag}%")
    return {r["provider"]: r["count"] for r in rows}


async def test_traffic_fails_over_to_http_and_comes_back(
    migrated_dsn: str, db: asyncpg.Connection, simulator: SmscSimulator,
    start_daemon: Any, clock: ScaledClock,
) -> None:
    platform = DevinoPlatform(clock=clock, accounts={LOGIN: PASSWORD})
    runner, url = await serve(rest_sim.build_app(platform))
    try:
        config = daemon_config(
            migrated_dsn, simulator.port,
            routes__default__fallback=["backup"],
            routes__default__failover_after=100,
            providers={"backup": {"type": "devino_rest", "login": LOGIN, "password": PASSWORD,
                                  "base_url": f"{url}/rest", "timeout": 1000}},
        )
        running = await start_daemon(config)
        await insert(db, "first", 10)
        await wait_all_final(db, 10)
        assert await statuses(db, "first") == {"smpp:main": 10}

        port = simulator.port
        await simulator.stop()
        pool = running.daemon.pools["main"]
        deadline = asyncio.get_running_loop().time() + 30
        while pool.bound_sessions:
            assert asyncio.get_running_loop().time() < deadline, "the drop went unnoticed"
            await asyncio.sleep(0.01)
        await insert(db, "second", 10)
        await wait_all_final(db, 20)
        assert await statuses(db, "second") == {"backup": 10}
        sent_http = {segment.destination for segment in platform.segments.values()}
        assert len(sent_http) == 10

        await simulator.start(host="127.0.0.1", port=port)
        deadline = asyncio.get_running_loop().time() + 30
        while simulator.bound_count("dispatcher") == 0:
            assert asyncio.get_running_loop().time() < deadline, "no rebind"
            await asyncio.sleep(0.05)
        await insert(db, "third", 10)
        await wait_all_final(db, 30)
        assert await statuses(db, "third") == {"smpp:main": 10}

        # each message went out exactly once, over exactly one route
        seen_smpp = simulator.recording.accepted_counts
        for tag in ("first", "third"):
            for i in range(10):
                assert seen_smpp[(f"79161{i:06d}", f"{tag} message {i}")] == 1
        assert not any(text.startswith("second") for _, text in seen_smpp)
        assert len(platform.segments) == 10
        done = await db.fetch("SELECT status FROM outbox")
        assert {r["status"] for r in done} == {"delivered"}
    finally:
        await runner.cleanup()
