"""The `hlr`, `balance` and `stats` commands over the provider fakes, run as the CLI runs them
(in a thread of their own, with their own event loop), and `skip_dead_numbers` in the daemon
acting on what `hlr` stored."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from dispatcher.cli import main
from dispatcher.provider_sim import devino_hlr as hlr_sim
from dispatcher.provider_sim import devino_viber as viber_sim
from dispatcher.provider_sim import webcom as webcom_sim
from tests.extras.conftest import new_platform

from .conftest import LOGIN, PASSWORD, devino_viber, extras_config, wait_all_final

SECRET = "webcom-secret-pw"


def write_config(tmp_path: Path, dsn: str, providers: dict[str, dict[str, str]]) -> str:
    lines = ["[database]", f"dsn = {json.dumps(dsn)}", ""]
    for name, keys in providers.items():
        lines.append(f"[providers.{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in keys.items()]
        lines.append("")
    lines += ["[routes.default]", f"fallback = [{json.dumps(next(iter(providers)))}]"]
    path = tmp_path / "dispatcher.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


@pytest.fixture
async def providers(serve: Any, clock: Any) -> dict[str, dict[str, str]]:
    platform = new_platform(clock)
    devino_url = await serve(hlr_sim.build_app(platform, hlr_options={"pending_seconds": 0}))
    webcom_url = await serve(webcom_sim.build_app(clock=clock, accounts={"acme": "right"}))
    viber_url = await serve(viber_sim.build_app(clock=clock, accounts={LOGIN: PASSWORD}))
    return {
        "devino": {"type": "devino_rest", "login": LOGIN, "password": PASSWORD,
                   "base_url": f"{devino_url}/rest"},
        "webcom": {"type": "webcom", "login": "acme", "password": SECRET,
                   "base_url": f"{webcom_url}/json/"},
        "dv": devino_viber(viber_url),
    }


async def test_balance_shows_each_provider_or_its_error_without_secrets(
    tmp_path: Path, migrated_dsn: str, providers: Any, capsys: Any
) -> None:
    config = write_config(tmp_path, migrated_dsn, providers)
    assert await cli("balance", "--config", config, "--timeout", "20") == 1
    out, err = capsys.readouterr()
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert lines["devino"].split()[1] == "1000"
    assert "no balance call" in lines["dv"]
    assert "webcom" in lines and len(lines["webcom"].split()) > 2  # its error, in words
    assert SECRET not in out + err and PASSWORD not in out + err
    assert "Traceback" not in out + err


async def test_stats_reads_the_providers_statistics(
    tmp_path: Path, migrated_dsn: str, providers: Any, capsys: Any
) -> None:
    config = write_config(tmp_path, migrated_dsn, providers)
    assert await cli("stats", "--config", config, "--from", "2024-01-01",
                     "--to", "2024-01-31") == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert rows["devino"].split()[1:8] == ["0"] * 7
    assert "no statistics call" in rows["webcom"] and "no statistics call" in rows["dv"]
    assert await cli("stats", "--config", config, "--from", "2024-01-01",
                     "--to", "2024-12-31") == 1  # over 90 days: the provider's refusal
    assert "90 days" in capsys.readouterr().out
    assert await cli("stats", "--config", config, "--from", "yesterday", "--to", "x") == 2


async def test_hlr_stores_results_and_routes_skip_dead_numbers(
    tmp_path: Path, migrated_dsn: str, providers: Any, capsys: Any, db: asyncpg.Connection,
    start_daemon: Any,
) -> None:
    config = write_config(tmp_path, migrated_dsn, providers)
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("# to check\n79990000203\n\n+79161002030\n", encoding="utf-8")
    assert await cli("hlr", "--config", config, "--file", str(numbers), "79990000202") == 0
    out = capsys.readouterr().out
    verdicts = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:]}
    assert verdicts == {"79990000203": "dead", "+79161002030": "alive",
                        "79990000202": "unreachable"}
    stored = dict(await db.fetch("SELECT number, verdict FROM dispatcher_hlr"))
    assert stored == {"79990000203": "dead", "79161002030": "alive",
                      "79990000202": "unreachable"}

    await db.executemany(
        "INSERT INTO outbox (channel, destination, body) VALUES ('viber', $1, 'hi')",
        [("79990000203",), ("79161002030",)])
    await start_daemon(extras_config(
        migrated_dsn, providers={"dv": providers["dv"]},
        routes={"default": {"viber": ["dv"], "source": "Shop", "skip_dead_numbers": True}}))
    await wait_all_final(db, 2)
    rows = dict(await db.fetch("SELECT destination, error_text FROM outbox WHERE "
                               "status = 'rejected'"))
    assert list(rows) == ["79990000203"]
    assert "does not exist: HLR check" in rows["79990000203"]
