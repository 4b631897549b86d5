"""systemd/smpp-dispatcher.service: systemd itself accepts it, rates its sandbox, and its
settings agree with the daemon's (drain time, watchdog, credentials, the 60 s reconnect rule).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dispatcher.config import load_config
from dispatcher.smpp.settings import RECONNECT_DELAY

REPOSITORY = Path(__file__).resolve().parents[2]
UNIT = REPOSITORY / "systemd" / "smpp-dispatcher.service"
INSTALLED_EXECUTABLE = "/usr/bin/smpp-dispatcher"
MAX_EXPOSURE = 2.0
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None,
    reason="systemd-analyze is not installed (Debian package `systemd`)",
)


def unit_settings() -> dict[str, list[str]]:
    """Every `Key=value` of the unit (all sections), in order; a key may repeat."""
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key, []).append(value)
    return settings


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(s|min)?", value)
    assert match, f"not a plain systemd time span: {value!r}"
    return int(match[1]) * (60 if match[2] == "min" else 1)


def copy_with_existing_executable(directory: Path) -> Path:
    """`verify` and `security` refuse an ExecStart binary that does not exist; point a copy of
    the unit at this virtualenv's entry point, as the README's drop-in for a venv does."""
    entry_point = Path(sys.executable).with_name("smpp-dispatcher")
    executable = entry_point if entry_point.exists() else Path(sys.executable)
    text = UNIT.read_text(encoding="utf-8")
    assert INSTALLED_EXECUTABLE in text
    copy = directory / UNIT.name
    copy.write_text(text.replace(INSTALLED_EXECUTABLE, str(executable)), encoding="utf-8")
    return copy


def run_analyze(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert SYSTEMD_ANALYZE is not None
    return subprocess.run([SYSTEMD_ANALYZE, *arguments], cwd=cwd, capture_output=True,
                          text=True, timeout=60, check=False)


def complaints_about(unit: Path, result: subprocess.CompletedProcess[str]) -> list[str]:
    # verify exits 0 even after "Unknown key" or "Failed to parse" warnings: read them too.
    return [line for line in (result.stdout + result.stderr).splitlines() if unit.name in line]


@needs_systemd_analyze
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    unit = copy_with_existing_executable(tmp_path)
    result = run_analyze("verify", str(unit), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert complaints_about(unit, result) == []


@needs_systemd_analyze
def test_verify_complains_about_a_broken_copy(tmp_path: Path) -> None:
    """The check above would catch a typo: the same run on a spoilt copy complains."""
    unit = copy_with_existing_executable(tmp_path)
    unit.write_text(unit.read_text(encoding="utf-8").replace(
        "WatchdogSec=30s", "WatchdogSec=thirty").replace(
        "ProtectClock=yes", "ProtectClocks=yes"), encoding="utf-8")
    complaints = complaints_about(unit, run_analyze("verify", str(unit), cwd=tmp_path))
    assert any("thirty" in line for line in complaints), complaints
    assert any("ProtectClocks" in line for line in complaints), complaints


@needs_systemd_analyze
def test_security_exposure_is_at_most_two(tmp_path: Path) -> None:
    unit = copy_with_existing_executable(tmp_path)
    result = run_analyze("security", "--offline=yes", "--no-pager", str(unit), cwd=tmp_path)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match[1]) <= MAX_EXPOSURE, result.stdout


def test_the_service_protocol_settings() -> None:
    settings = unit_settings()
    assert settings["Type"] == ["notify"]
    assert settings["NotifyAccess"] == ["main"]
    assert settings["ExecStart"] == [
        f"{INSTALLED_EXECUTABLE} run --config /etc/smpp-dispatcher/dispatcher.toml"]
    assert settings["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert settings["Restart"] == ["on-failure"]
    assert settings["KillSignal"] == ["SIGTERM"]
    assert settings["DynamicUser"] == ["yes"]
    assert settings["CapabilityBoundingSet"] == [""]
    assert settings["MemoryDenyWriteExecute"] == ["yes"]


def test_stop_timeout_leaves_room_to_drain() -> None:
    """On SIGTERM the daemon waits drain_timeout for in-flight messages, then closes each
    account's pool (up to drain_timeout each); the example config's accounts must fit."""
    example = load_config(REPOSITORY / "config" / "dispatcher.example.toml", environ={})
    drain = example.daemon.drain_timeout
    worst_case = drain * (1 + len(example.smpp.accounts))
    assert seconds(unit_settings()["TimeoutStopSec"][0]) > worst_case


def test_restart_waits_the_providers_reconnect_delay() -> None:
    # seed 004_80a28bca441860d4.txt L2928-2930: 60 s after a drop before the next bind; a
    # crash drops every session, so systemd must not restart the daemon sooner.
    assert seconds(unit_settings()["RestartSec"][0]) >= RECONNECT_DELAY


def test_watchdog_is_on() -> None:
    # the daemon pings at half the period (dispatcher/sd_notify.py); a few seconds would
    # kill it during a long garbage collection or a slow database write
    assert seconds(unit_settings()["WatchdogSec"][0]) >= 10


def test_the_credentials_the_unit_loads_are_what_the_config_reads(tmp_path: Path) -> None:
    """A config written as the README says loads its secrets from the directory systemd fills
    from the unit's LoadCredential= lines."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    names = []
    for entry in unit_settings()["LoadCredential"]:
        name, _, source = entry.partition(":")
        assert source.startswith("/etc/smpp-dispatcher/credentials/"), entry
        names.append(name)
    assert names == ["database-dsn", "smpp-password"]
    (credentials / "database-dsn").write_text("postgresql://dispatcher:pg-secret@db/sms\n")
    (credentials / "smpp-password").write_text("smpp-secret\n")
    config = tmp_path / "dispatcher.toml"
    config.write_text(
        '[database]\ndsn_credential = "database-dsn"\n'
        '[smpp.accounts.ads]\nsystem_id = "login"\npassword_credential = "smpp-password"\n'
        'hosts = ["smpp01.integrationapi.net:2775"]\n'
        '[routes.default]\nsmpp = "ads"\n', encoding="utf-8")
    loaded = load_config(config, environ={"CREDENTIALS_DIRECTORY": str(credentials)})
    assert loaded.database.dsn.get_secret_value() == "postgresql://dispatcher:pg-secret@db/sms"
    assert loaded.smpp.accounts["ads"].password.get_secret_value() == "smpp-secret"
