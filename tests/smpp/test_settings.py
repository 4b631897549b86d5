"""Account settings: the provider's limits and defaults, and clear errors for bad values."""

from __future__ import annotations

import pytest

from dispatcher.smpp import AccountSettings, BindMode, HostAddress, StatusAction, StatusPolicy
from dispatcher.smpp.settings import (
    ENQUIRE_LINK_IDLE,
    RECONNECT_DELAY,
    RECONNECT_FAILED_DELAY,
    THROTTLE_PAUSE,
)
from pdu.constants import CommandStatus


def settings(**overrides: object) -> AccountSettings:
    values: dict[str, object] = {
        "name": "adv",
        "system_id": "login",
        "password": "secret-password",
        "hosts": ["smpp01.integrationapi.net", "smpp02.integrationapi.net:2775"],
    }
    values.update(overrides)
    return AccountSettings(**values)  # type: ignore[arg-type]


def test_a_fifth_bind_is_refused_naming_the_account() -> None:
    with pytest.raises(ValueError, match=r"account 'adv': 5 binds .* at most 4"):
        settings(binds=["tx", "tx", "rx", "trx", "trx"])


def test_four_binds_of_any_mix_are_fine() -> None:
    assert settings(binds=["tx", "rx", "trx", "tx"]).bind_modes == (
        BindMode.TX,
        BindMode.RX,
        BindMode.TRX,
        BindMode.TX,
    )


def test_provider_defaults() -> None:
    s = settings()
    assert (s.source_ton, s.source_npi, s.dest_ton, s.dest_npi) == (5, 1, 1, 1)
    assert (s.system_type, s.interface_version) == ("", 0x34)
    assert (s.reconnect_delay, s.reconnect_failed_delay) == (
        RECONNECT_DELAY,
        RECONNECT_FAILED_DELAY,
    )
    assert (RECONNECT_DELAY, RECONNECT_FAILED_DELAY, ENQUIRE_LINK_IDLE) == (60.0, 90.0, 60.0)
    assert s.throttle_pause == THROTTLE_PAUSE == 1.0
    assert s.min_validity_seconds == 60
    assert s.registered_delivery == 1
    assert s.host_addresses == (
        HostAddress("smpp01.integrationapi.net", 2775),
        HostAddress("smpp02.integrationapi.net", 2775),
    )


def test_queue_full_delays_grow_three_times() -> None:
    s = settings()
    assert [s.queue_full_delay(n) for n in range(1, 6)] == [5.0, 15.0, 45.0, 135.0, 405.0]
    assert s.queue_full_max_attempts == 5


def test_the_password_never_shows_in_repr() -> None:
    assert "secret-password" not in repr(settings())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"binds": ["tx", "xx"]}, "bind mode 'xx'"),
        ({"hosts": []}, "no hosts"),
        ({"hosts": ["host:99999"]}, "invalid port"),
        ({"window": 0}, "window"),
        ({"response_timeout": 0}, "response_timeout"),
        ({"status_overrides": {0x0B: "transient"}}, "fixed by the provider"),
        ({"status_overrides": {0x45: "sometimes"}}, "not one of"),
        ({"system_id": ""}, "system_id"),
    ],
)
def test_bad_values_are_named(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings(**overrides)


def test_host_forms() -> None:
    assert HostAddress.parse("10.0.0.1:2776") == HostAddress("10.0.0.1", 2776)
    assert HostAddress.parse("[::1]:2777") == HostAddress("::1", 2777)
    assert str(HostAddress("::1", 2777)) == "[::1]:2777"


def test_status_policy_defaults_and_overrides() -> None:
    policy = StatusPolicy()
    assert policy.action(CommandStatus.ESME_ROK) is StatusAction.ACCEPT
    assert policy.action(CommandStatus.ESME_RINVDSTADR) is StatusAction.PERMANENT
    assert policy.action(CommandStatus.ESME_RTHROTTLED) is StatusAction.THROTTLE
    assert policy.action(CommandStatus.ESME_RMSGQFUL) is StatusAction.QUEUE_FULL
    assert policy.action(CommandStatus.ESME_RSYSERR) is StatusAction.TRANSIENT
    assert policy.action(CommandStatus.ESME_RINVSRCADR) is StatusAction.PERMANENT
    assert policy.action(0x00000401) is StatusAction.PERMANENT  # unknown vendor code
    overridden = StatusPolicy({0x00000401: "transient", CommandStatus.ESME_RSYSERR: "permanent"})
    assert overridden.action(0x00000401) is StatusAction.TRANSIENT
    assert overridden.action(CommandStatus.ESME_RSYSERR) is StatusAction.PERMANENT
