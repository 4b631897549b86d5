"""Outbox rows from a CSV file: a header row naming outbox columns, then one message a row.

    destination,body,client_ref
    79031234567,Your code is 4711,order-1843

The header may name any of `PRODUCER_COLUMNS`, in any order; `destination` and `body` are
required, anything else is refused (a typo such as `destinaton` would otherwise drop a whole
column silently). Empty cells mean "not given". The file is UTF-8 (a byte-order mark is
accepted), in the dialect of Python's csv module (comma, double quotes, any line ending).

Each row comes back with its line number (the line where it ends, for quoted multi-line
bodies) and either its record or the RowError saying what is wrong with it, so a caller can
list every bad row at once. A file that cannot be read on (not UTF-8, broken quoting) raises
CsvFormatError.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TextIO

from dispatcher.commands.outbox_rows import PRODUCER_COLUMNS, OutboxRecord, RowError, make_record

REQUIRED_COLUMNS = ("destination", "body")


class CsvFormatError(ValueError):
    """The file as a whole cannot be used (header, encoding, quoting)."""


def csv_records(handle: TextIO) -> Iterator[tuple[int, OutboxRecord | RowError]]:
    reader = csv.reader(handle)
    columns = _header(_next_row(reader))
    first_line_of_ref: dict[str, int] = {}
    while True:
        cells = _next_row(reader)
        if cells is None:
            return
        line = reader.line_num
        if not any(cells):  # a blank line, or a row of empty cells
            continue
        if len(cells) != len(columns):
            yield line, RowError(f"{len(cells)} fields, but the header names {len(columns)}")
            continue
        try:
            record = make_record(**dict(zip(columns, cells, strict=True)))
        except RowError as error:
            yield line, error
            continue
        if record.client_ref is not None:
            earlier = first_line_of_ref.setdefault(record.client_ref, line)
            if earlier != line:
                yield line, RowError(
                    f"client_ref {record.client_ref!r} is already on line {earlier}")
                continue
        yield line, record


def _next_row(reader: Iterator[list[str]]) -> list[str] | None:
    line = getattr(reader, "line_num", 0)
    try:
        return next(reader)
    except StopIteration:
        return None
    except UnicodeDecodeError:
        raise CsvFormatError(f"the file is not UTF-8 text (after line {line})") from None
    except csv.Error as error:
        raise CsvFormatError(f"line {line + 1}: {error}") from None


def _header(cells: list[str] | None) -> tuple[str, ...]:
    if not cells:
        raise CsvFormatError(
            f"the first line must name the columns, e.g. {','.join(REQUIRED_COLUMNS)}")
    columns = tuple(cell.strip().lower() for cell in cells)
    unknown = [name for name in columns if name not in PRODUCER_COLUMNS]
    if unknown:
        raise CsvFormatError(
            f"unknown column(s) {', '.join(map(repr, unknown))} in the header; "
            f"a CSV may name: {', '.join(PRODUCER_COLUMNS)}")
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise CsvFormatError(f"column(s) named twice in the header: {', '.join(repeated)}")
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise CsvFormatError(f"the header has no {' and no '.join(missing)} column")
    return columns
