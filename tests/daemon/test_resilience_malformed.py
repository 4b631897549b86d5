"""1,000 malformed rows among good ones: each bad row is `rejected` with an error_text that
names its problem, never reaches the SMSC, and the daemon goes on sending the good ones (and
new rows after them)."""

from __future__ import annotations

from typing import Any, NamedTuple

import asyncpg

from dispatcher.smsc_sim import SmscSimulator
from tests.daemon.conftest import daemon_config
from tests.daemon.resilience_support import wait_all_final

MALFORMED = 1_000
GOOD = 1_000


class Row(NamedTuple):
    route: str
    channel: str
    source: str | None
    destination: str | None
    body: str | None
    validity: int | None


# (row, a fragment its error_text must contain); "{i}" is the row's number
_BAD_ROWS: list[tuple[Row, str]] = [
    (Row("default", "sms", None, "+7 903 123-45-67", "spaces {i}", None), "non-digit"),
    (Row("default", "sms", None, "7903abc4567", "letters {i}", None), "non-digit"),
    (Row("default", "sms", None, "٧٩٠٣١٢٣٤٥٦٧", "arabic digits {i}", None), "non-digit"),
    (Row("default", "sms", None, "+", "only a plus {i}", None), "non-digit"),
    (Row("default", "sms", None, "1234", "too short {i}", None), "at least 5 are needed"),
    (Row("default", "sms", None, "1234567890123456", "16 digits {i}", None),
     "at most 15 are allowed"),
    (Row("default", "sms", None, "0079031234567890123", "long after 00 {i}", None),
     "at most 15 are allowed"),
    (Row("default", "sms", None, None, "null destination {i}", None), "destination is missing"),
    (Row("default", "sms", None, "   ", "blank destination {i}", None),
     "destination is missing"),
    (Row("default", "sms", None, "79031230000", "", None), "body is empty"),
    (Row("default", "sms", None, "79031230001", None, None), "body is empty"),
    (Row("default", "sms", None, "79031230002", "x" * 1601, None), "more than the 10 parts"),
    (Row("default", "sms", None, "79031230003", "я" * 700, None),
     "body needs 11 parts; the route allows at most 10"),
    (Row("default", "sms", None, "79031230004", "😀" * 100_000, None), "more than the 10 parts"),
    (Row("default", "sms", "Very Long Sender", "79031230005", "spaces in source {i}", None),
     "source 'Very Long Sender'"),
    (Row("default", "sms", "Магазин", "79031230006", "cyrillic source {i}", None),
     "source 'Магазин'"),
    (Row("default", "sms", "ABCDEFGHIJKL", "79031230007", "12 letters {i}", None),
     "at most 11"),
    (Row("default", "sms", "1234567890123456", "79031230008", "16-digit source {i}", None),
     "at most 15"),
    (Row("default", "sms", "shop!", "79031230009", "punctuation {i}", None), "source 'shop!'"),
    (Row("default", "sms", None, "79031230010", "validity 30 {i}", 30),
     "validity 30 s is below the minimum of 60 s"),
    (Row("default", "sms", None, "79031230011", "validity 0 {i}", 0), "validity 0 s"),
    (Row("default", "sms", None, "79031230012", "negative validity {i}", -5), "validity -5 s"),
    (Row("nowhere", "sms", None, "79031230013", "unknown route {i}", None),
     "route 'nowhere' is not configured"),
    (Row("", "sms", None, "79031230014", "empty route {i}", None), "route '' is not configured"),
    (Row("default", "viber", None, "79031230015", "unknown channel {i}", None),
     "channel 'viber' is not served"),
    (Row("default", "sms", "Shop", None, None, 10), "destination is missing"),
]
# a row with several problems names each of them
_ALL_AT_ONCE = (Row("default", "sms", "Магазин", "abc", "", 1),
                ("non-digit", "source 'Магазин'", "body is empty", "validity 1 s"))


def _rows() -> tuple[list[Row], dict[int, tuple[str, ...]]]:
    """Bad and good rows interleaved; returns the rows and, by position, the fragments each
    bad row's error_text must contain."""
    rows: list[Row] = []
    expected: dict[int, tuple[str, ...]] = {}
    for i in range(max(MALFORMED, GOOD)):
        if i < MALFORMED:
            fragments: tuple[str, ...]
            if i % 100 == 99:
                bad, fragments = _ALL_AT_ONCE
            else:
                bad, fragment = _BAD_ROWS[i % len(_BAD_ROWS)]
                fragments = (fragment,)
            body = bad.body.replace("{i}", str(i)) if bad.body else bad.body
            expected[len(rows)] = fragments
            rows.append(bad._replace(body=body))
        if i < GOOD:
            rows.append(_good_row(i))
    return rows, expected


def _good_row(i: int) -> Row:
    """Valid, including the unusual: '+' and '00' prefixes, a numeric sender, the longest
    validity an integer column holds."""
    number = f"7916{i:07d}"
    body = f"good message {i}"
    variant = i % 4
    if variant == 1:
        return Row("default", "sms", None, f"+{number}", body, None)
    if variant == 2:
        return Row("default", "sms", "", f"00{number}", body, None)
    if variant == 3:
        return Row("default", "sms", "+79031234567", f" {number} ", body, 2**31 - 1)
    return Row("default", "sms", "Shop", number, body, None)


async def test_malformed_rows_are_rejected_and_the_good_ones_delivered(
    migrated_dsn: str, db: asyncpg.Connection, simulator: SmscSimulator, start_daemon: Any
) -> None:
    rows, expected = _rows()
    await db.copy_records_to_table("outbox", records=rows, columns=list(Row._fields))
    running = await start_daemon(daemon_config(
        migrated_dsn, simulator.port, daemon__lease_seconds=600,
        smpp__accounts__main__response_timeout=300))
    await wait_all_final(db, len(rows), timeout=60)

    stored = await db.fetch("SELECT status, error_text, destination, body FROM outbox ORDER BY id")
    assert len(stored) == len(rows)
    for position, row in enumerate(stored):
        if position in expected:
            assert row["status"] == "rejected", (rows[position], row)
            for fragment in expected[position]:
                assert fragment in (row["error_text"] or ""), (fragment, row["error_text"])
            assert len(row["error_text"]) < 500, "a huge value must not flood the error text"
        else:
            assert row["status"] == "delivered", (rows[position], row)

    # the simulator saw every good row once and no bad one
    accepted = simulator.recording.accepted_counts
    assert sum(accepted.values()) == GOOD
    for i in range(GOOD):
        assert accepted[(f"7916{i:07d}", f"good message {i}")] == 1
    assert not simulator.recording.violations

    # still running and still sending
    assert not running.task.done()
    await db.execute("INSERT INTO outbox (destination, body) VALUES ('79169999999', 'after')")
    await wait_all_final(db, len(rows) + 1, timeout=10)
    assert await db.fetchval("SELECT status FROM outbox WHERE body = 'after'") == "delivered"
