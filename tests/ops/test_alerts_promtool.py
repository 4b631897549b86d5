"""config/prometheus/alerts.yml: Prometheus's own checker accepts it and its unit tests
(alerts_test.yml: every alert firing and staying quiet) pass."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROMETHEUS_CONFIG = Path(__file__).resolve().parents[2] / "config" / "prometheus"
ALERTS = PROMETHEUS_CONFIG / "alerts.yml"
ALERT_TESTS = PROMETHEUS_CONFIG / "alerts_test.yml"
PROMTOOL = shutil.which("promtool")

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is not installed (Debian: apt-get install prometheus; .ci/run does it "
           "when it runs as root)",
)


def promtool(*arguments: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *arguments], cwd=PROMETHEUS_CONFIG, capture_output=True,
                          text=True, timeout=60, check=False)


@needs_promtool
def test_promtool_check_rules_accepts_the_alerts() -> None:
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_promtool_unit_tests_of_the_alerts_pass() -> None:
    result = promtool("test", "rules", str(ALERT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_unit_test_that_fires_it() -> None:
    alerts = set(_values_of("alert", ALERTS))
    tested = set(_values_of("alertname", ALERT_TESTS))
    assert alerts, "no alert found"
    assert alerts - tested == set()
    firing = _alerts_expected_to_fire()
    assert alerts - firing == set(), "these alerts are only ever tested quiet"


@needs_promtool
def test_unit_tests_catch_a_broken_threshold(tmp_path: Path) -> None:
    """The tests are not vacuous: loosen one rule and promtool reports it firing."""
    broken = ALERTS.read_text(encoding="utf-8").replace(
        "sum by (account) (smpp_dispatcher_session_up) == 0",
        "sum by (account) (smpp_dispatcher_session_up) <= 1")
    (tmp_path / "alerts.yml").write_text(broken, encoding="utf-8")
    shutil.copy(ALERT_TESTS, tmp_path / "alerts_test.yml")
    assert PROMTOOL is not None
    result = subprocess.run([PROMTOOL, "test", "rules", "alerts_test.yml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert 'account="transactional", alertname="SmppAccountNotBound"' in result.stderr


def test_every_alert_says_how_bad_and_what() -> None:
    text = ALERTS.read_text(encoding="utf-8")
    count = len(_values_of("alert", ALERTS))
    assert text.count("severity:") == count
    assert text.count("summary:") == count
    assert text.count("description:") == count


def _values_of(key: str, path: Path) -> list[str]:
    """The values of `key:` lines (`- alert: X`, `alertname: X`); the files are plain YAML
    and PyYAML is not a dependency of this project."""
    values = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.strip().removeprefix("- ").partition(":")
        if sep and name == key:
            values.append(value.strip())
    return values


def _alerts_expected_to_fire() -> set[str]:
    """Alert names whose test case lists at least one expected alert."""
    firing = set()
    current = None
    for line in ALERT_TESTS.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("alertname:"):
            current = stripped.partition(":")[2].strip()
        elif stripped.startswith("- exp_labels:") and current is not None:
            firing.add(current)
    return firing
