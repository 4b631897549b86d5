"""Helpers of the command tests: run a sub-command in this process as the shell would, and
look at the database it wrote to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from dispatcher.cli import main
from tests.conftest import run_coroutine

CliResult = tuple[int, str, str]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """`cli("enqueue", "--dsn", dsn, ...)` -> (exit status, stdout, stderr)."""

    def invoke(*argv: str) -> CliResult:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def fetch(dsn: str, query: str, *args: Any) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        connection = await asyncpg.connect(dsn)
        try:
            rows: list[asyncpg.Record] = await connection.fetch(query, *args)
            return rows
        finally:
            await connection.close()

    return run_coroutine(go())


def execute(dsn: str, query: str, *args: Any) -> None:
    async def go() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(query, *args)
        finally:
            await connection.close()

    run_coroutine(go())
