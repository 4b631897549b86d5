"""The HLR client (seed 004 chapter 16) against the fake over loopback: batches of numbers
submitted, polled to results, and classified."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dispatcher.clock import ScaledClock
from dispatcher.fallback.base import ChannelError
from dispatcher.fallback.devino_hlr import DevinoHlrClient, NumberVerdict
from dispatcher.fallback.devino_rest import DevinoRestV1Sender, DevinoRestV2Sender
from dispatcher.provider_sim import devino_hlr as hlr_sim
from dispatcher.provider_sim.devino_platform import DevinoPlatform
from tests.http_servers import Serve

from .conftest import CREDENTIALS, RELAXED_TIMEOUT

Closing = Callable[[Any], Any]


async def start(
    version: int,
    serve: Serve,
    platform: DevinoPlatform,
    clock: ScaledClock,
    closing: Closing,
    **hlr_options: Any,
) -> tuple[DevinoHlrClient, hlr_sim.HlrSim]:
    app = hlr_sim.build_app(platform, hlr_options=hlr_options)
    url = await serve(app)
    options: dict[str, Any] = {"clock": clock, "timeout_seconds": RELAXED_TIMEOUT}
    rest = (
        DevinoRestV1Sender(CREDENTIALS, base_url=f"{url}/rest", **options)
        if version == 1
        else DevinoRestV2Sender(CREDENTIALS, base_url=f"{url}/rest/v2", **options)
    )
    closing(rest)
    return DevinoHlrClient(rest, clock=clock), app[hlr_sim.HLR_KEY]


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("broken_json", [False, True], ids=["json", "as-printed"])
async def test_a_batch_is_polled_to_classified_results(
    version: int,
    broken_json: bool,
    serve: Serve,
    platform: DevinoPlatform,
    clock: ScaledClock,
    closing: Closing,
) -> None:
    hlr, sim = await start(
        version, serve, platform, clock, closing, broken_json=broken_json, pending_seconds=8.0
    )
    numbers = [
        "79161002030",
        "+79161002031",  # the '+' must travel as %2B (spec ch. 16 ambiguity 3)
        "89161002032",  # the national form (seed L9704)
        "79990000202",
        "79990000203",
        "79990000204",
        "79990000299",
        "not a number",
    ]

    results = await hlr.lookup(numbers)

    assert [r.number for r in results] == numbers
    assert [r.verdict for r in results] == [
        NumberVerdict.ALIVE,
        NumberVerdict.ALIVE,
        NumberVerdict.ALIVE,
        NumberVerdict.UNREACHABLE,
        NumberVerdict.DEAD,
        NumberVerdict.UNKNOWN,
        NumberVerdict.UNKNOWN,
        NumberVerdict.INVALID,
    ]
    assert [r.is_dead for r in results] == [False] * 4 + [True] + [False] * 3
    assert [r.state_code for r in results[:7]] == [1, 1, 1, 2, 3, 4, 99]
    dead = results[4]
    assert dead.description == "Абонент не существует"
    assert (dead.country, dead.operator) == (hlr_sim.COUNTRY, hlr_sim.OPERATOR)
    assert {sim.lookups[r.request_id].number for r in results[:3] if r.request_id} == {
        "79161002030", "79161002031", "79161002032"
    }
    assert sim.bulk_sizes == [7]
    # Polled after 2, 6 and 14 s (the pause doubles); pending (StateCode 0) for the first 8 s.
    assert len(platform.requests_for("rest", "hlr_state")) >= 2


async def test_numbers_go_200_per_request(
    serve: Serve, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    hlr, sim = await start(1, serve, platform, clock, closing, pending_seconds=0.0)
    numbers = [f"7916{i:07d}" for i in range(450)]

    results = await hlr.lookup(numbers)

    assert sim.bulk_sizes == [200, 200, 50]
    assert all(r.verdict is NumberVerdict.ALIVE for r in results)
    assert len({r.request_id for r in results}) == 450


async def test_a_number_the_provider_refuses_fails_alone(
    serve: Serve, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    hlr, sim = await start(2, serve, platform, clock, closing, pending_seconds=0.0)

    results = await hlr.lookup(["79161002030", "9161002030", "79161002031"])

    assert [r.verdict for r in results] == [
        NumberVerdict.ALIVE,
        NumberVerdict.INVALID,  # ten digits: the platform refuses the whole request
        NumberVerdict.ALIVE,
    ]
    assert "Invalid destination address" in (results[1].description or "")
    assert sim.bulk_sizes == [1, 1]  # after the refused bulk, one by one


async def test_no_result_within_the_validity_is_unknown(
    serve: Serve, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    app = hlr_sim.build_app(platform, hlr_options={"pending_seconds": 10_000.0})
    url = await serve(app)
    rest = closing(
        DevinoRestV1Sender(
            CREDENTIALS, base_url=f"{url}/rest", clock=clock, timeout_seconds=RELAXED_TIMEOUT
        )
    )
    hlr = DevinoHlrClient(rest, clock=clock, validity_minutes=1, max_poll_seconds=20.0)

    [result] = await hlr.lookup(["79161002030"])

    assert (result.verdict, result.description) == (NumberVerdict.UNKNOWN, "no result in time")
    assert result.request_id is not None


async def test_bad_credentials_stop_the_lookup(
    serve: Serve, platform: DevinoPlatform, clock: ScaledClock, closing: Closing
) -> None:
    hlr, _ = await start(2, serve, platform, clock, closing)
    platform.accounts.clear()

    with pytest.raises(ChannelError) as caught:
        await hlr.lookup(["79161002030"])

    assert caught.value.permanent
