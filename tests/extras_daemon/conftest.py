"""A daemon with the parts beyond SMS: real PostgreSQL, the provider fakes on 127.0.0.1, the
daemon's callback receiver on a real port, on a scaled clock (one clock second lasts 10 ms).
The daemon fixtures are tests/daemon's; `serve` is tests/http_servers.py's (for every test)."""

from __future__ import annotations

from typing import Any

import aiohttp
import asyncpg

from dispatcher.config import Config
from tests.daemon.conftest import clock, db, start_daemon, wait_all_final
from tests.extras.conftest import LOGIN, PASSWORD

__all__ = ["LOGIN", "PASSWORD", "clock", "db", "start_daemon", "wait_all_final"]

TOKEN = "cb-Xk3pQ9vR2mT7wY4zL8nB5c"


def extras_config(dsn: str, **sections: Any) -> Config:
    """A daemon without SMPP accounts; `sections` are added whole (providers, routes, ...)."""
    raw: dict[str, Any] = {
        "database": {"dsn": dsn},
        "daemon": {"id": "extras-daemon", "lease_seconds": 3000, "poll_interval": 1,
                   "drain_timeout": 2, "balance_interval": 0},
        "metrics": {"listen": "127.0.0.1:0"},
    }
    raw.update(sections)
    return Config.model_validate(raw)


def devino_viber(url: str) -> dict[str, str]:
    return {"type": "devino_viber", "login": LOGIN, "password": PASSWORD, "base_url": url}


async def post(url: str, body: bytes | None = None, *, headers: dict[str, str] | None = None,
               method: str = "POST", params: dict[str, str] | None = None) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http, http.request(
            method, url, data=body, headers=headers, params=params) as response:
        return response.status, await response.read()


async def wait_for_row(db: asyncpg.Connection, query: str, *args: Any,
                       timeout: float = 20.0) -> Any:
    """Poll (real seconds, bounded) until `query` returns something truthy; returns it."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await db.fetchval(query, *args)
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting: {query}"
        await asyncio.sleep(0.02)
