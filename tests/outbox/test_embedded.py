"""The embedded PostgreSQL helper: finding binaries, restart keeping the DSN, crash recovery."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from dispatcher.pg import embedded
from dispatcher.pg.embedded import EmbeddedPostgres, PostgresNotInstalled, find_pg_bin


def test_missing_binaries_say_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PG_BIN", raising=False)
    monkeypatch.setattr(embedded, "DEBIAN_PG_ROOT", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PostgresNotInstalled, match="apt-get install postgresql"):
        find_pg_bin()


def test_a_wrong_pg_bin_is_refused_with_the_same_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PG_BIN", str(tmp_path))
    with pytest.raises(PostgresNotInstalled, match="apt-get install postgresql"):
        find_pg_bin()


def test_the_newest_installed_version_is_chosen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for version in ("9.6", "15", "13"):
        bin_dir = tmp_path / version / "bin"
        bin_dir.mkdir(parents=True)
        for name in ("initdb", "postgres"):
            (bin_dir / name).write_text("#!/bin/sh\n")
            (bin_dir / name).chmod(0o755)
    monkeypatch.delenv("PG_BIN", raising=False)
    monkeypatch.setattr(embedded, "DEBIAN_PG_ROOT", tmp_path)
    assert find_pg_bin() == tmp_path / "15" / "bin"


@pytest.fixture(scope="module")
def own_server() -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres() as server:
        yield server


async def _roundtrip(dsn: str, value: int) -> list[int]:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("CREATE TABLE IF NOT EXISTS kept (n int)")
        await connection.execute("INSERT INTO kept VALUES ($1)", value)
        return [row["n"] for row in await connection.fetch("SELECT n FROM kept ORDER BY n")]
    finally:
        await connection.close()


async def test_restart_keeps_the_dsn_and_the_data(own_server: EmbeddedPostgres) -> None:
    dsn = own_server.dsn
    assert await _roundtrip(dsn, 1) == [1]
    own_server.restart()
    assert own_server.dsn == dsn
    assert await _roundtrip(dsn, 2) == [1, 2]


async def test_kill_then_start_recovers_committed_rows(own_server: EmbeddedPostgres) -> None:
    await _roundtrip(own_server.dsn, 10)
    own_server.kill()
    assert not own_server.running
    with pytest.raises(OSError):
        await asyncpg.connect(own_server.dsn)
    own_server.start()
    assert 10 in await _roundtrip(own_server.dsn, 11)


def test_cleanup_removes_the_directory() -> None:
    server = EmbeddedPostgres().start()
    root = server.root
    assert (root / "data" / "PG_VERSION").exists()
    server.cleanup()
    assert not root.exists()
    assert not server.running
