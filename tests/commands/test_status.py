"""`smpp-dispatcher status` against a database with known rows, in text and as JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from tests.commands.conftest import CliResult, execute

Cli = Callable[..., CliResult]

# (route, status, how many, error_code, error_text, status_at)
ROWS = [
    ("default", "delivered", 5, None, None, None),
    ("default", "queued", 2, None, None, None),
    ("default", "rejected", 1, None, "destination '12' has 2 digits; at least 5 are needed",
     datetime(2030, 1, 1, 10, 0, tzinfo=UTC)),
    ("otp", "undeliverable", 1, "001", "UNDELIV: unknown\nsubscriber",
     datetime(2030, 1, 1, 11, 0, tzinfo=UTC)),
    ("otp", "submitted", 3, None, None, None),
    ("otp", "failed", 1, "0x00000014", "ESME_RMSGQFUL: message queue full",
     datetime(2030, 1, 1, 9, 0, tzinfo=UTC)),
]


def _fill(dsn: str) -> None:
    for route, status, count, code, text, at in ROWS:
        for _ in range(count):
            execute(
                dsn,
                "INSERT INTO outbox (route, destination, body, status, error_code, error_text, "
                "status_at) VALUES ($1, '79031234567', 'x', $2, $3, $4, coalesce($5, now()))",
                route, status, code, text, at,
            )
    for message_id in ("A1", "B2"):
        execute(dsn, "INSERT INTO dispatcher_pending_receipt (account, message_id, status, "
                     "received_at) VALUES ('main', $1, 'delivered', now())", message_id)


def test_text_shows_counts_receipts_and_latest_errors(cli: Cli, migrated_dsn: str) -> None:
    _fill(migrated_dsn)
    code, out, err = cli("status", "--dsn", migrated_dsn)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    header = lines.index("Messages by route and status")
    # only the statuses present, in life-cycle order, a total per route and for all routes
    assert lines[header + 1].split() == [
        "route", "queued", "submitted", "delivered", "undeliverable", "rejected", "failed",
        "total"]
    assert lines[header + 2].split() == ["default", "2", "0", "5", "0", "1", "0", "8"]
    assert lines[header + 3].split() == ["otp", "0", "3", "0", "1", "0", "1", "5"]
    assert lines[header + 4].split() == ["all", "routes", "2", "3", "5", "1", "1", "1", "13"]
    assert "Receipts waiting for their message: 2" in lines
    errors = lines[lines.index("Latest errors") + 1:]
    assert errors[0].split()[:6] == ["id", "route", "status", "code", "time", "(UTC)"]
    # newest first, the text on one line, no code shown as "-"
    assert errors[1].split()[1:6] == ["otp", "undeliverable", "001", "2030-01-01", "11:00:00"]
    assert errors[1].endswith("UNDELIV: unknown subscriber")
    assert errors[2].split()[1:6] == ["default", "rejected", "-", "2030-01-01", "10:00:00"]
    assert errors[3].endswith("ESME_RMSGQFUL: message queue full")
    assert len(errors) == 4


def test_json_has_every_status_and_the_whole_error_text(cli: Cli, migrated_dsn: str) -> None:
    _fill(migrated_dsn)
    code, out, _ = cli("status", "--dsn", migrated_dsn, "--json", "--errors", "2")
    assert code == 0
    document = json.loads(out)
    assert document["totals"] == {
        "queued": 2, "sending": 0, "submitted": 3, "delivered": 5, "undeliverable": 1,
        "expired": 0, "rejected": 1, "failed": 1, "unknown": 0}
    assert {(c["route"], c["status"], c["count"]) for c in document["counts"]} == {
        (route, status, count) for route, status, count, *_ in ROWS}
    assert document["pending_receipts"] == 2
    assert [(e["route"], e["status"], e["error_code"], e["error_text"], e["status_at"])
            for e in document["recent_errors"]] == [
        ("otp", "undeliverable", "001", "UNDELIV: unknown\nsubscriber",
         "2030-01-01T11:00:00+00:00"),
        ("default", "rejected", None, "destination '12' has 2 digits; at least 5 are needed",
         "2030-01-01T10:00:00+00:00"),
    ]
    assert all(isinstance(e["id"], int) for e in document["recent_errors"])


def test_an_empty_outbox_says_so(cli: Cli, migrated_dsn: str) -> None:
    code, out, _ = cli("status", "--dsn", migrated_dsn)
    assert code == 0
    assert out.splitlines() == [
        "The outbox is empty.", "", "Receipts waiting for their message: 0", "",
        "No errors recorded."]


def test_an_unmigrated_database_is_a_clean_error(cli: Cli, database_dsn: str) -> None:
    code, out, err = cli("status", "--dsn", database_dsn, "--json")
    assert (code, out) == (1, "")
    assert err.startswith("status: the database is not migrated yet")
