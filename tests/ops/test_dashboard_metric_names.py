"""config/grafana/dashboard.json (and the alert rules) query only metrics the daemon exports,
in PromQL that Prometheus parses, on a layout Grafana can place."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from dispatcher.metrics import Metrics

REPOSITORY = Path(__file__).resolve().parents[2]
DASHBOARD = REPOSITORY / "config" / "grafana" / "dashboard.json"
ALERTS = REPOSITORY / "config" / "prometheus" / "alerts.yml"
METRIC_NAME = re.compile(r"\bsmpp_dispatcher_[a-z0-9_]+\b")
GRAFANA_GRID_COLUMNS = 24
# What a Grafana variable expands to, for checks outside Grafana.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$instance": ".*", "$account": ".*",
                     "$route": ".*"}
# The dashboard shows at least these (the operations issue's list).
REQUIRED_METRICS = {
    "smpp_dispatcher_submits_total",
    "smpp_dispatcher_submit_latency_seconds_bucket",
    "smpp_dispatcher_window_occupancy",
    "smpp_dispatcher_session_up",
    "smpp_dispatcher_reconnects_total",
    "smpp_dispatcher_throttle_pauses_total",
    "smpp_dispatcher_queue_full_retries_total",
    "smpp_dispatcher_receipts_total",
    "smpp_dispatcher_receipts_unmatched",
    "smpp_dispatcher_outbox_rows",
    "smpp_dispatcher_db_write_seconds_bucket",
    "smpp_dispatcher_fallback_requests_total",
}


def exposed_names(registry: CollectorRegistry) -> set[str]:
    """Every series name the registry can expose, whether or not a child exists yet."""
    suffixes = {"counter": ("_total", "_created"), "gauge": ("",), "info": ("_info",),
                "histogram": ("_bucket", "_count", "_sum", "_created")}
    return {family.name + suffix for family in registry.collect()
            for suffix in suffixes[family.type]}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def dashboard_expressions() -> list[str]:
    return [target["expr"] for panel in all_panels(dashboard()["panels"])
            for target in panel.get("targets", [])]


def as_promql(expression: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expression = expression.replace(variable, value)
    return expression


def alert_expressions() -> list[str]:
    """Each `expr:` of alerts.yml, one line or a folded (`>-`) block."""
    expressions: list[str] = []
    lines = ALERTS.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        key, _, value = line.strip().partition(":")
        if key != "expr":
            continue
        value = value.strip()
        if value == ">-":
            indent = len(line) - len(line.lstrip())
            block = []
            for following in lines[number + 1:]:
                if len(following) - len(following.lstrip()) <= indent:
                    break
                block.append(following.strip())
            value = " ".join(block)
        expressions.append(value)
    return expressions


def test_the_dashboard_uses_only_exported_metrics() -> None:
    known = exposed_names(Metrics().registry)
    expressions = dashboard_expressions()
    assert expressions
    for expression in expressions:
        names = set(METRIC_NAME.findall(expression))
        assert names, f"no smpp_dispatcher metric in {expression!r}"
        assert names <= known, f"{sorted(names - known)} are not exported ({expression!r})"
    for variable in dashboard()["templating"]["list"]:
        query = variable.get("definition", "")
        assert set(METRIC_NAME.findall(query)) <= known, query


def test_the_dashboard_covers_the_operations_metrics() -> None:
    used = {name for expression in dashboard_expressions()
            for name in METRIC_NAME.findall(expression)}
    assert REQUIRED_METRICS - used == set()


def test_the_alerts_use_only_exported_metrics() -> None:
    known = exposed_names(Metrics().registry)
    expressions = alert_expressions()
    assert len(expressions) == ALERTS.read_text(encoding="utf-8").count("- alert:")
    for expression in expressions:
        names = set(METRIC_NAME.findall(expression))
        assert names <= known, f"{sorted(names - known)} are not exported ({expression!r})"


@pytest.mark.skipif(shutil.which("promtool") is None,
                    reason="promtool is not installed (Debian: apt-get install prometheus)")
def test_prometheus_parses_every_dashboard_query(tmp_path: Path) -> None:
    """promtool checks a rules file holding each query as a recording rule (JSON is YAML)."""
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{number}", "expr": as_promql(expression)}
        for number, expression in enumerate(dashboard_expressions())]}]}
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(json.dumps(rules), encoding="utf-8")
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(dashboard_expressions())} rules found" in result.stdout


def test_the_layout_fits_the_grid_without_overlaps() -> None:
    panels = list(all_panels(dashboard()["panels"]))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    taken: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= GRAFANA_GRID_COLUMNS, panel["title"]
        cells = {(grid["x"] + dx, grid["y"] + dy)
                 for dx in range(grid["w"]) for dy in range(grid["h"])}
        assert not cells & taken, f"{panel['title']!r} overlaps another panel"
        taken |= cells


def test_every_query_panel_reads_the_selected_prometheus() -> None:
    board = dashboard()
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in all_panels(board["panels"]):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        assert panel["title"] and panel["description"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
