"""`smpp-dispatcher enqueue` against a real PostgreSQL: from arguments, from CSV files, and
every way a producer's input can be refused without a traceback."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.commands.conftest import CliResult, execute, fetch

Cli = Callable[..., CliResult]
COLUMNS = ("destination, body, source, route, priority, client_ref, validity, not_before, "
           "status, channel")


def _write_csv(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_one_message_from_arguments_lands_with_every_column(
    cli: Cli, migrated_dsn: str
) -> None:
    code, out, err = cli(
        "enqueue", "--dsn", migrated_dsn, "--to", "+79031234567", "--text", "Привет, мир",
        "--from", "Shop", "--route", "otp", "--priority", "5", "--client-ref", "order-1",
        "--validity", "600", "--not-before", "2030-01-02T03:04:05+03:00",
    )
    assert (code, err) == (0, "")
    [row] = fetch(migrated_dsn, f"SELECT id, {COLUMNS} FROM outbox")
    assert out.split() == [str(row["id"])]
    assert dict(row) | {"id": 0} == {
        "id": 0,
        "destination": "+79031234567",  # stored as given; the daemon normalises it
        "body": "Привет, мир",
        "source": "Shop",
        "route": "otp",
        "priority": 5,
        "client_ref": "order-1",
        "validity": 600,
        "not_before": datetime(2030, 1, 2, 0, 4, 5, tzinfo=UTC),
        "status": "queued",
        "channel": "sms",
    }


def test_the_defaults_are_the_outbox_defaults(cli: Cli, migrated_dsn: str) -> None:
    code, out, _ = cli("enqueue", "--dsn", migrated_dsn, "--to", "79031234567", "--text", "hi",
                       "--not-before", "2030-06-01T12:00:00")
    assert code == 0
    [row] = fetch(migrated_dsn, f"SELECT id, {COLUMNS} FROM outbox")
    assert out.split() == [str(row["id"])]
    assert (row["route"], row["priority"], row["source"], row["client_ref"], row["validity"]) \
        == ("default", 0, None, None, None)
    # a time without an offset is this machine's local time
    assert row["not_before"] == datetime(2030, 6, 1, 12, 0).astimezone()


def test_several_numbers_get_one_row_and_one_id_each(cli: Cli, migrated_dsn: str) -> None:
    code, out, _ = cli("enqueue", "--dsn", migrated_dsn, "--to", "79031111111",
                       "--to", "79032222222", "--text", "same text")
    assert code == 0
    rows = fetch(migrated_dsn, "SELECT id, destination FROM outbox ORDER BY id")
    assert out.split() == [str(r["id"]) for r in rows]
    assert [r["destination"] for r in rows] == ["79031111111", "79032222222"]


def test_the_database_comes_from_the_config_file(
    cli: Cli, migrated_dsn: str, tmp_path: Path
) -> None:
    config = tmp_path / "dispatcher.toml"
    config.write_text(f"""
[database]
dsn = "{migrated_dsn}"
[smpp.accounts.main]
system_id = "x"
password = "y"
hosts = ["127.0.0.1:2775"]
[routes.default]
smpp = "main"
""")
    code, out, err = cli("enqueue", "--config", str(config), "--to", "79031234567",
                         "--text", "via config")
    assert (code, err) == (0, "")
    [row] = fetch(migrated_dsn, "SELECT id, body FROM outbox")
    assert (out.split(), row["body"]) == ([str(row["id"])], "via config")


def test_a_duplicate_client_ref_is_a_clean_error(cli: Cli, migrated_dsn: str) -> None:
    first = cli("enqueue", "--dsn", migrated_dsn, "--to", "79031234567", "--text", "a",
                "--client-ref", "order-7")
    code, out, err = cli("enqueue", "--dsn", migrated_dsn, "--to", "79031234567", "--text", "b",
                         "--client-ref", "order-7")
    assert first[0] == 0
    assert (code, out) == (1, "")
    assert "client_ref 'order-7' is already in the outbox" in err
    assert "Traceback" not in err
    assert fetch(migrated_dsn, "SELECT body FROM outbox")[0]["body"] == "a"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (("--priority", "high"), "priority 'high' is not a whole number"),
        (("--validity", "99999999999"), "validity 99999999999 is out of range"),
        (("--not-before", "tomorrow"), "not_before 'tomorrow' is not an ISO 8601 time"),
        (("--client-ref", "r", "--to", "79030000000"), "--client-ref names one message"),
    ],
)
def test_bad_argument_values_are_refused_before_the_database(
    cli: Cli, migrated_dsn: str, arguments: tuple[str, ...], expected: str
) -> None:
    code, out, err = cli("enqueue", "--dsn", migrated_dsn, "--to", "79031234567",
                         "--text", "x", *arguments)
    assert (code, out) == (2, "")
    assert expected in err
    assert fetch(migrated_dsn, "SELECT count(*) FROM outbox")[0][0] == 0


def test_csv_rows_land_with_the_right_columns(
    cli: Cli, migrated_dsn: str, tmp_path: Path
) -> None:
    # any column order, a quoted body over two lines, empty cells for "not given", a BOM
    path = _write_csv(tmp_path / "m.csv", (
        "\ufeffclient_ref,body,destination,priority,route,source,validity,not_before\r\n"
        "c1,Hello,79031111111,3,otp,Shop,300,2030-01-01T00:00:00Z\r\n"
        'c2,"two\nlines, with a comma",+79032222222,,,,,\r\n'
        ",emoji 😀,79033333333,-1,,,,\r\n"
    ))
    code, out, err = cli("enqueue", "--dsn", migrated_dsn, "--csv", path)
    assert (code, out.strip(), err) == (0, "enqueued 3 messages", "")
    rows = fetch(migrated_dsn, f"SELECT {COLUMNS} FROM outbox ORDER BY id")
    assert [tuple(r.values())[:8] for r in rows] == [
        ("79031111111", "Hello", "Shop", "otp", 3, "c1", 300,
         datetime(2030, 1, 1, tzinfo=UTC)),
        ("+79032222222", "two\nlines, with a comma", None, "default", 0, "c2", None, None),
        ("79033333333", "emoji 😀", None, "default", -1, None, None, None),
    ]
    assert {r["status"] for r in rows} == {"queued"}


def test_an_unknown_csv_column_is_refused(cli: Cli, migrated_dsn: str, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "m.csv", "destination,body,channel,sender\n7903,hi,sms,X\n")
    code, out, err = cli("enqueue", "--dsn", migrated_dsn, "--csv", path)
    assert (code, out) == (1, "")
    assert "unknown column(s) 'channel', 'sender'" in err
    assert "a CSV may name: destination, body, source, route" in err
    assert fetch(migrated_dsn, "SELECT count(*) FROM outbox")[0][0] == 0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", "the first line must name the columns"),
        ("destination,priority", "the header has no body column"),
        ("destination,body,body", "column(s) named twice in the header: body"),
    ],
)
def test_a_csv_header_that_cannot_work_is_refused(
    cli: Cli, migrated_dsn: str, tmp_path: Path, header: str, expected: str
) -> None:
    path = _write_csv(tmp_path / "m.csv", header + "\n" if header else "")
    code, _, err = cli("enqueue", "--dsn", migrated_dsn, "--csv", path)
    assert code == 1
    assert expected in err


def test_a_csv_client_ref_already_in_the_outbox_refuses_the_whole_file(
    cli: Cli, migrated_dsn: str, tmp_path: Path
) -> None:
    execute(migrated_dsn, "INSERT INTO outbox (destination, body, client_ref) "
                          "VALUES ('79030000000', 'earlier', 'dup')")
    lines = ["destination,body,client_ref"]
    lines += [f"7903000{n:04d},row {n},ref-{n}" for n in range(5)]
    lines.append("79039999999,late,dup")
    path = _write_csv(tmp_path / "m.csv", "\n".join(lines) + "\n")
    # batches of two: the refused row comes after batches that were already copied
    code, out, err = cli("enqueue", "--dsn", migrated_dsn, "--csv", path, "--batch-size", "2")
    assert (code, out) == (1, "")
    assert "line 7: client_ref 'dup' is already in the outbox; nothing was enqueued" in err
    assert [r["body"] for r in fetch(migrated_dsn, "SELECT body FROM outbox")] == ["earlier"]


def test_every_bad_csv_row_is_listed_and_nothing_is_enqueued(
    cli: Cli, migrated_dsn: str, tmp_path: Path
) -> None:
    path = _write_csv(tmp_path / "m.csv", (
        "destination,body,client_ref,priority,not_before\n"
        "79031111111,fine,a,1,\n"
        "79032222222,bad priority,b,high,\n"
        "79033333333,same ref,a,,\n"
        "79034444444,too few fields\n"
        "79035555555,bad time,c,,yesterday\n"
        "\n"
        "79036666666,fine too,d,,\n"
    ))
    code, _, err = cli("enqueue", "--dsn", migrated_dsn, "--csv", path)
    assert code == 1
    assert "4 bad row(s)" in err and "nothing was enqueued" in err
    assert "line 3: priority 'high' is not a whole number" in err
    assert "line 4: client_ref 'a' is already on line 2" in err
    assert "line 5: 2 fields, but the header names 5" in err
    assert "line 6: not_before 'yesterday' is not an ISO 8601 time" in err
    assert fetch(migrated_dsn, "SELECT count(*) FROM outbox")[0][0] == 0


def test_a_csv_that_is_not_utf8_is_refused(cli: Cli, migrated_dsn: str, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(b"destination,body\n79031234567," + "Привет\n".encode("cp1251"))
    code, _, err = cli("enqueue", "--dsn", migrated_dsn, "--csv", str(path))
    assert code == 1
    assert "the file is not UTF-8 text" in err


def test_a_large_csv_goes_in_with_copy(cli: Cli, migrated_dsn: str, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["destination", "body", "client_ref"])
        writer.writerows([f"7903{n:07d}", f"message {n}", f"big-{n}"] for n in range(20_000))
    code, out, _ = cli("enqueue", "--dsn", migrated_dsn, "--csv", str(path),
                       "--batch-size", "3000")
    assert (code, out.strip()) == (0, "enqueued 20000 messages")
    [row] = fetch(migrated_dsn, "SELECT count(*) AS n, count(DISTINCT client_ref) AS refs, "
                                "max(body) FILTER (WHERE client_ref = 'big-19999') AS last "
                                "FROM outbox")
    assert tuple(row) == (20_000, 20_000, "message 19999")


def test_an_unmigrated_database_is_named_as_such(cli: Cli, database_dsn: str) -> None:
    code, _, err = cli("enqueue", "--dsn", database_dsn, "--to", "79031234567", "--text", "x")
    assert code == 1
    assert "not migrated yet; run `smpp-dispatcher migrate`" in err


def test_without_a_database_it_says_how_to_give_one(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMPP_DISPATCHER__DATABASE__DSN", raising=False)
    code, _, err = cli("enqueue", "--to", "79031234567", "--text", "x")
    assert code == 2
    assert "give --config FILE or --dsn DSN" in err


def test_an_unreachable_database_is_one_line_without_the_password(cli: Cli) -> None:
    code, _, err = cli("enqueue", "--dsn", "postgresql://u:s3cret-pw@127.0.0.1:1/db",
                       "--to", "79031234567", "--text", "x")
    assert code == 1
    assert err.startswith("enqueue: cannot connect to the database")
    assert "s3cret-pw" not in err and "Traceback" not in err


def test_with_csv_the_per_message_options_are_refused(
    cli: Cli, migrated_dsn: str, tmp_path: Path
) -> None:
    path = _write_csv(tmp_path / "m.csv", "destination,body\n79031234567,hi\n")
    code, _, err = cli("enqueue", "--dsn", migrated_dsn, "--csv", path, "--from", "Shop")
    assert code == 2
    assert "--from: with --csv, give these as columns of the file" in err


def test_not_before_keeps_the_offset_given(cli: Cli, migrated_dsn: str) -> None:
    cli("enqueue", "--dsn", migrated_dsn, "--to", "79031234567", "--text", "x",
        "--not-before", "2030-01-01T10:00:00-05:00")
    [row] = fetch(migrated_dsn, "SELECT not_before FROM outbox")
    assert row["not_before"] == datetime(2030, 1, 1, 10, tzinfo=UTC) + timedelta(hours=5)
