"""A batch statement's columns passed as one text value each, unpacked by PostgreSQL.

asyncpg encodes an array argument element by element, and checks every element against
abstract base classes first (is it a nested array?): about 0.8 µs per element, 4.2 µs for a
row of five columns. That was the largest single cost of the daemon's database writes (the
store writes some 16 values per message). Joined into one text value, a column costs the
daemon about 0.1 µs per element and PostgreSQL about 0.03 µs more to split it
(`string_to_array` runs in C). Measured with 2,000-row batches of five columns: client 4.2 ->
0.6 µs per row, server 1.3 -> 1.4 µs per row.

The packed form of a text column: each value preceded by SEPARATOR, a NULL written as
NULL_MARK. The leading separator keeps a lone empty string apart from an empty column
(`string_to_array('', ...)` is an empty array); the SQL drops the first, empty, element.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

SEPARATOR = "\x1f"  # ASCII unit separator
NULL_MARK = "\x1e"  # ASCII record separator, alone: the value is NULL
# What stands in for either character inside a value: they cannot travel in the packed form,
# and they mean nothing in the values the store writes (provider ids, states, receipt texts)
REPLACEMENT = "\ufffd"


def pack_texts(values: Sequence[str | None]) -> str:
    """One text column (None = NULL), for `texts_sql`. A value containing SEPARATOR or
    NULL_MARK has those characters replaced by REPLACEMENT."""
    if not values:
        return ""
    nulls = values.count(None)
    marked = [NULL_MARK if value is None else value for value in values] if nulls else values
    packed = SEPARATOR.join(cast("Sequence[str]", marked))
    if packed.count(SEPARATOR) != len(values) - 1 or packed.count(NULL_MARK) != nulls:
        packed = SEPARATOR.join(
            [NULL_MARK if value is None else _without_separators(value) for value in values]
        )
    return SEPARATOR + packed


def _without_separators(value: str) -> str:
    return value.replace(SEPARATOR, REPLACEMENT).replace(NULL_MARK, REPLACEMENT)


def pack_numbers(values: Iterable[int]) -> str:
    """One integer column (no NULLs), for `numbers_sql`."""
    numbers = tuple(values)
    # One format operation writes them all: 136 ns a number against 260 for
    # ",".join(map(str, ...)), which makes a string object of each first (2,500 numbers, this
    # machine). %d also writes an IntEnum or a bool as its number, where str() writes a name.
    return ("%d," * len(numbers) % numbers)[:-1]


def texts_sql(parameter: int) -> str:
    """The SQL for a `pack_texts` argument: a text[] of its values."""
    return f"(string_to_array(${parameter}::text, E'\\x1f', E'\\x1e'))[2:]"


def numbers_sql(parameter: int, sql_type: str) -> str:
    """The SQL for a `pack_numbers` argument: an array of `sql_type` (bigint, int, ...)."""
    return f"string_to_array(${parameter}::text, ',')::{sql_type}[]"
