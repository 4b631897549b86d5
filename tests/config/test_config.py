"""Configuration loading: every failure names its key; secrets come from files, credentials
and the environment; secrets never show in reprs or error messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dispatcher.config import ConfigError, load_config

GOOD = """
[database]
dsn = "postgresql://dispatcher@127.0.0.1/outbox"

[smpp.accounts.ads]
system_id = "login"
password = "s3cret-password-longer-than-8"
hosts = ["smpp01.integrationapi.net:2775", "smpp02.integrationapi.net:2775"]
binds = ["trx", "trx"]

[routes.default]
smpp = "ads"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dispatcher.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ or {})
    return str(caught.value)


def test_good_config_has_the_provider_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), {})
    account = config.smpp.accounts["ads"]
    assert account.reconnect_delay == 60 and account.reconnect_failed_delay == 90
    assert (account.source_ton, account.source_npi, account.dest_ton, account.dest_npi) == (
        5, 1, 1, 1,
    )
    assert account.password.get_secret_value() == "s3cret-password-longer-than-8"
    assert "s3cret" not in repr(config)
    assert config.routes["default"].failover_after == 120


def test_five_binds_are_refused_naming_the_key(tmp_path: Path) -> None:
    text = GOOD.replace('binds = ["trx", "trx"]', 'binds = ["trx", "trx", "tx", "tx", "rx"]')
    assert error_of(write(tmp_path, text)).startswith("smpp.accounts.ads.binds: at most 4")


def test_unknown_key_is_named(tmp_path: Path) -> None:
    text = GOOD.replace("window_size", "x") + '\n[daemon]\nclaim_bach = 5\n'
    assert error_of(write(tmp_path, text)) == "daemon.claim_bach: unknown key"


def test_wrong_type_is_named(tmp_path: Path) -> None:
    text = GOOD.replace('binds = ["trx", "trx"]', 'binds = ["trx"]\nwindow = "ten"')
    assert error_of(write(tmp_path, text)).startswith("smpp.accounts.ads.window:")


def test_route_naming_a_missing_account(tmp_path: Path) -> None:
    text = GOOD.replace('smpp = "ads"', 'smpp = "transactional"')
    message = error_of(write(tmp_path, text))
    assert "routes.default.smpp" in message and "transactional" in message


def test_validity_below_sixty_seconds(tmp_path: Path) -> None:
    text = GOOD + "validity = 30\n"
    assert error_of(write(tmp_path, text)).startswith("routes.default.validity:")


def test_bad_host_is_named(tmp_path: Path) -> None:
    text = GOOD.replace('"smpp02.integrationapi.net:2775"', '"smpp02"')
    message = error_of(write(tmp_path, text))
    assert message == "smpp.accounts.ads.hosts: 'smpp02' is not host:port"


def test_password_file_and_credential_and_environment(tmp_path: Path) -> None:
    secret_file = tmp_path / "password"
    secret_file.write_text("from-a-file\n", encoding="utf-8")
    text = GOOD.replace(
        'password = "s3cret-password-longer-than-8"', f'password_file = "{secret_file}"'
    )
    config = load_config(write(tmp_path, text), {})
    assert config.smpp.accounts["ads"].password.get_secret_value() == "from-a-file"

    credentials = tmp_path / "creds"
    credentials.mkdir()
    (credentials / "ads-password").write_text("from-systemd", encoding="utf-8")
    text = GOOD.replace(
        'password = "s3cret-password-longer-than-8"', 'password_credential = "ads-password"'
    )
    config = load_config(write(tmp_path, text), {"CREDENTIALS_DIRECTORY": str(credentials)})
    assert config.smpp.accounts["ads"].password.get_secret_value() == "from-systemd"

    environ = {
        "SMPP_DISPATCHER__SMPP__ACCOUNTS__ADS__PASSWORD": "from-env",
        "SMPP_DISPATCHER__SMPP__ACCOUNTS__ADS__WINDOW": "50",
    }
    config = load_config(write(tmp_path, GOOD), environ)
    assert config.smpp.accounts["ads"].password.get_secret_value() == "from-env"
    assert config.smpp.accounts["ads"].window == 50


def test_missing_secret_file_names_the_key(tmp_path: Path) -> None:
    text = GOOD.replace(
        'password = "s3cret-password-longer-than-8"', 'password_file = "/nonexistent/pw"'
    )
    assert error_of(write(tmp_path, text)).startswith("smpp.accounts.ads.password_file:")


def test_check_config_command(tmp_path: Path) -> None:
    good = write(tmp_path, GOOD)
    done = subprocess.run(
        [sys.executable, "-m", "dispatcher", "check-config", str(good)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout and "s3cret" not in done.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("[routes.default]", "[routes.default]\nfailover = 1"))
    done = subprocess.run(
        [sys.executable, "-m", "dispatcher", "check-config", str(bad)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 1
    assert "routes.default.failover: unknown key" in done.stderr


def test_the_example_configuration_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "dispatcher.example.toml"
    config = load_config(example, {})
    assert config.smpp.accounts["ads"].hosts[0] == "smpp01.integrationapi.net:2775"
    assert config.routes["default"].fallback == ["devino_rest", "mobipace"]
    assert len(config.smpp.accounts["transactional"].binds) == 4


def test_provider_keys_are_checked_by_type(tmp_path: Path) -> None:
    base = GOOD.replace('smpp = "ads"', 'smpp = "ads"\nfallback = ["backup"]')
    missing = base + '\n[providers.backup]\ntype = "mobipace"\nusername = "u"\n'
    assert error_of(write(tmp_path, missing)) == (
        "providers.backup.password: required key is missing")
    unknown = missing.replace('username = "u"', 'username = "u"\npassword = "p"\nlogin = "x"')
    assert error_of(write(tmp_path, unknown)) == (
        "providers.backup.login: unknown key for a mobipace provider")
    good = missing.replace('username = "u"', 'username = "u"\npassword = "hidden-pw"')
    config = load_config(write(tmp_path, good), {})
    assert config.providers["backup"].option("username") == "u"
    assert "hidden-pw" not in repr(config)
