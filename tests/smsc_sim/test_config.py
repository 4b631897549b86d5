"""Configuration mistakes are refused with a message that names them."""

from __future__ import annotations

import pytest

from dispatcher.smsc_sim import FaultConfig, SimConfig


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"message_id_format": "base64"}, "message_id_format"),
        ({"max_sessions": 0}, "max_sessions"),
        ({"receipt_delay": -1.0}, "receipt_delay"),
        ({"receipt_states": {"DELIVERED!": 1.0}}, "unknown receipt states"),
        ({"receipt_states": {"DELIVRD": 0.0}}, "not all zero"),
    ],
)
def test_bad_sim_config(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"throttle_rate": 1.5},
        {"invalid_rate": -0.1},
        {"throttle_rate": 0.6, "queue_full_rate": 0.6},
    ],
)
def test_bad_fault_rates(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="fault rates"):
        FaultConfig(**kwargs)  # type: ignore[arg-type]


def test_credentials_stay_out_of_the_repr() -> None:
    assert "hunter2" not in repr(SimConfig(credentials={"acct": "hunter2"}))
