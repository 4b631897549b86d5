"""plan_reload: what a SIGHUP applies at once and what waits for a restart, from the two
configurations alone (the daemon applying a plan: test_reload.py)."""

from __future__ import annotations

from dispatcher.daemon.reload_plan import plan_reload
from tests.daemon.conftest import daemon_config

DSN = "postgresql://dispatcher@127.0.0.1:5432/outbox"
PORT = 2775


def test_routes_rates_timings_and_log_apply_and_an_accounts_other_keys_wait() -> None:
    old = daemon_config(DSN, PORT)
    new = daemon_config(
        DSN, PORT,
        routes__default__source="Renamed",
        smpp__accounts__main__rate_limit=50.0,
        smpp__accounts__main__system_id="someone-else",
        daemon__poll_interval=1.0,
        log__level="warning",
    )
    plan = plan_reload(old, new)
    assert plan.applied == ["smpp.accounts.main.rate_limit", "daemon", "log", "routes"]
    assert plan.restart == ["smpp.accounts.main.system_id"]
    assert plan.rate_limits == {"main": 50.0}
    assert plan.routes_changed
    account = plan.config.smpp.accounts["main"]
    assert (account.system_id, account.rate_limit) == (old.smpp.accounts["main"].system_id, 50.0)
    assert plan.config.routes["default"].source == "Renamed"
    assert plan.config.daemon.poll_interval == 1.0
    assert plan.config.log.level == "warning"


def test_what_was_read_at_start_up_keeps_its_running_value() -> None:
    old = daemon_config(DSN, PORT)
    new = daemon_config(
        "postgresql://someone@127.0.0.1:5432/other", PORT,
        daemon__id="renamed-daemon",
        metrics__listen="127.0.0.1:9999",
        smpp__accounts__second={"system_id": "second", "password": "secret",
                                "hosts": ["127.0.0.1:2776"]},
    )
    plan = plan_reload(old, new)
    assert plan.restart == ["smpp.accounts.second (added or removed)", "database", "metrics",
                            "daemon.id"]
    assert plan.applied == [] and plan.rate_limits == {} and not plan.routes_changed
    assert plan.config == old


def test_routes_that_name_an_account_not_running_wait_for_a_restart() -> None:
    old = daemon_config(DSN, PORT)
    new = daemon_config(
        DSN, PORT,
        smpp__accounts__second={"system_id": "second", "password": "secret",
                                "hosts": ["127.0.0.1:2776"]},
        routes__default__smpp="second",
        smpp__accounts__main__rate_limit=5.0,
    )
    plan = plan_reload(old, new)
    assert plan.restart == ["smpp.accounts.second (added or removed)",
                            "routes (they name an account or provider not running)"]
    assert plan.applied == ["smpp.accounts.main.rate_limit"]
    assert not plan.routes_changed
    assert plan.config.routes == old.routes
    assert plan.rate_limits == {"main": 5.0}
