"""What a reload (SIGHUP) can change in a running daemon without dropping a bind.

Worked out from the running and the new configuration alone: `plan_reload` touches nothing,
and `Daemon.reload` applies its plan (the pools' rate limits, the routes, the configuration).
Routes, per-session rate limits, the daemon's timings and policies and the log settings take
effect at once; everything else (an account's other keys, an account added or removed, the
database, metrics and providers, the daemon's id) keeps its running value until a restart.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatcher.config import Config

# Sections that are read once, at start-up.
_RESTART_SECTIONS = ("database", "metrics", "providers")


@dataclass(frozen=True)
class ReloadPlan:
    config: Config  # what the daemon runs with from now on
    applied: list[str]  # the keys that take effect now
    restart: list[str]  # the keys that changed but keep their running values until a restart
    rate_limits: dict[str, float | None]  # account -> its new per-session rate limit
    routes_changed: bool  # the routes are to be built again from `config`


def plan_reload(old: Config, new: Config) -> ReloadPlan:
    applied: list[str] = []
    restart: list[str] = []
    rate_limits: dict[str, float | None] = {}
    accounts = dict(old.smpp.accounts)
    for name in sorted(set(old.smpp.accounts) | set(new.smpp.accounts)):
        before, after = old.smpp.accounts.get(name), new.smpp.accounts.get(name)
        if before is None or after is None:
            restart.append(f"smpp.accounts.{name} (added or removed)")
            continue
        if before.rate_limit != after.rate_limit:
            rate_limits[name] = after.rate_limit
            accounts[name] = before.model_copy(update={"rate_limit": after.rate_limit})
            applied.append(f"smpp.accounts.{name}.rate_limit")
        restart += [f"smpp.accounts.{name}.{key}" for key in type(before).model_fields
                    if key != "rate_limit" and getattr(before, key) != getattr(after, key)]
    restart += [section for section in _RESTART_SECTIONS
                if getattr(old, section) != getattr(new, section)]
    daemon = new.daemon
    if daemon.id != old.daemon.id:
        restart.append("daemon.id")
        daemon = daemon.model_copy(update={"id": old.daemon.id})
    if daemon != old.daemon:
        applied.append("daemon")
    if new.log != old.log:
        applied.append("log")
    merged = new.model_copy(update={
        "database": old.database, "metrics": old.metrics, "providers": old.providers,
        "smpp": old.smpp.model_copy(update={"accounts": accounts}), "daemon": daemon,
    })
    routes_changed = False
    if new.routes != old.routes:
        # a route may only name what is running: the accounts and providers started with
        usable = all(
            (route.smpp is None or route.smpp in old.smpp.accounts)
            and all(provider in old.providers for provider in route.fallback)
            for route in new.routes.values())
        if usable:
            routes_changed = True
            applied.append("routes")
        else:
            restart.append("routes (they name an account or provider not running)")
            merged = merged.model_copy(update={"routes": old.routes})
    return ReloadPlan(merged, applied, restart, rate_limits, routes_changed)
