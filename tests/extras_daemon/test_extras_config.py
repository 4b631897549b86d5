"""The configuration keys of the parts beyond SMS are checked at start-up, naming the key."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dispatcher.config import Config

PROVIDERS = {
    "mp": {"type": "mobipace", "username": "u", "password": "p"},
    "dv": {"type": "devino_viber", "login": "l", "password": "p"},
    "rest": {"type": "devino_rest", "login": "l", "password": "p"},
}


def problem(**sections: Any) -> str:
    raw = {"database": {"dsn": "postgresql://x"}, "providers": PROVIDERS,
           "routes": {"default": {"viber": ["dv"]}}, **sections}
    with pytest.raises(ValidationError) as caught:
        Config.model_validate(raw)
    return str(caught.value)


def test_each_extra_names_a_provider_that_can_do_it() -> None:
    assert "routes.default.viber: provider 'mp' (mobipace) has no Viber API" in problem(
        routes={"default": {"viber": ["mp"]}})
    assert "routes.default.fallback: provider 'dv' does not send SMS" in problem(
        routes={"default": {"fallback": ["dv"]}})
    assert "incoming.poll: provider 'dv'" in problem(incoming={"poll": ["dv"]})
    assert "hlr.provider: no provider named 'nowhere'" in problem(hlr={"provider": "nowhere"})


def test_callback_settings_are_checked() -> None:
    assert "at least 16 characters" in problem(callbacks={"token": "short"})
    assert "'not-an-address' is not an address" in problem(
        callbacks={"token": "x" * 20, "allowed_sources": ["not-an-address"]})
    assert "callbacks.listen: needed when metrics.enabled is false" in problem(
        callbacks={"token": "x" * 20}, metrics={"enabled": False})
    secret = "y" * 24
    config = Config.model_validate({
        "database": {"dsn": "postgresql://x"}, "providers": PROVIDERS,
        "routes": {"default": {"viber": ["dv", "rest"], "skip_dead_numbers": True}},
        "callbacks": {"token": secret, "allowed_sources": ["203.0.113.0/24"]}})
    assert secret not in repr(config)
    assert config.routes["default"].viber == ["dv", "rest"]
