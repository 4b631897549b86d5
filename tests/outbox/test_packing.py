"""Columns packed into one text value come out of PostgreSQL as the arrays they were."""

from __future__ import annotations

import asyncpg
import pytest

from dispatcher.outbox.packing import (
    NULL_MARK,
    REPLACEMENT,
    SEPARATOR,
    numbers_sql,
    pack_numbers,
    pack_texts,
    texts_sql,
)


async def _texts(db: asyncpg.Connection, values: list[str | None]) -> list[str | None]:
    unpacked: list[str | None] = await db.fetchval(f"SELECT {texts_sql(1)}", pack_texts(values))
    return unpacked


@pytest.mark.parametrize(
    "values",
    [
        [],
        [""],
        [None],
        ["", ""],
        ["a", None, "", "b"],
        [None, None],
        ["DELIVRD", "Привет 👋", "id:0A1B sub:001 text:a,b{c}\"d\\e", "NULL", "\x1d"],
    ],
)
async def test_texts_come_back_as_they_went(
    db: asyncpg.Connection, values: list[str | None]
) -> None:
    assert await _texts(db, values) == values


async def test_the_separators_inside_a_value_are_replaced_not_shifted(
    db: asyncpg.Connection,
) -> None:
    values = ["a" + SEPARATOR + "b", NULL_MARK, "x" + NULL_MARK, None, "c"]
    assert await _texts(db, values) == [
        "a" + REPLACEMENT + "b", REPLACEMENT, "x" + REPLACEMENT, None, "c",
    ]


async def test_a_batch_of_thousands_keeps_every_row_in_its_place(
    db: asyncpg.Connection,
) -> None:
    ids = list(range(10**12, 10**12 + 3000))
    texts = [None if number % 7 == 0 else f"{number:x}" for number in ids]
    rows = await db.fetch(
        f"SELECT * FROM unnest({numbers_sql(1, 'bigint')}, {texts_sql(2)}) AS r(id, text)",
        pack_numbers(ids),
        pack_texts(texts),
    )
    assert [tuple(row) for row in rows] == list(zip(ids, texts, strict=True))


async def test_numbers_of_each_integer_type(db: asyncpg.Connection) -> None:
    row = await db.fetchrow(
        f"SELECT {numbers_sql(1, 'bigint')} AS big, {numbers_sql(2, 'smallint')} AS small, "
        f"{numbers_sql(3, 'int')} AS none",
        pack_numbers([-5, 0, 2**62]),
        pack_numbers([1, 255]),
        pack_numbers([]),
    )
    assert (row["big"], row["small"], row["none"]) == ([-5, 0, 2**62], [1, 255], [])
