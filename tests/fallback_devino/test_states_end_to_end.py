"""Every SMS state of the union table (REST Table 18 + SOAP Table 16), produced by the fake
platform and read back through each API, maps to the status spec §9.3 gives it; the raw code
and the provider's text are kept."""

from __future__ import annotations

import pytest

from dispatcher.clock import ScaledClock
from dispatcher.fallback.base import OutgoingSms, SendOutcome
from dispatcher.fallback.devino_base import DevinoSenderBase
from dispatcher.fallback.devino_rest import DevinoRestV2Sender
from dispatcher.fallback.devino_soap import DevinoSoapV2Sender
from dispatcher.provider_sim import devino_rest as rest_sim
from dispatcher.provider_sim import devino_soap as soap_sim
from tests.http_servers import Serve

from .conftest import CREDENTIALS, RELAXED_TIMEOUT, new_platform
from .test_codes import EXPECTED_STATUS


@pytest.mark.parametrize("api", ["rest", "soap"])
@pytest.mark.parametrize("code", sorted(EXPECTED_STATUS))
async def test_state_read_back(api: str, code: int, serve: Serve, clock: ScaledClock) -> None:
    destination = "79161112233"
    platform = new_platform(clock, queued_seconds=0.5, sent_seconds=0.5)
    platform.final_states[destination] = code
    sender: DevinoSenderBase
    if api == "rest":
        url = await serve(rest_sim.build_app(platform))
        sender = DevinoRestV2Sender(
            CREDENTIALS, base_url=f"{url}/rest/v2", clock=clock, timeout_seconds=RELAXED_TIMEOUT
        )
    else:
        url = await serve(soap_sim.build_app(platform))
        sender = DevinoSoapV2Sender(
            CREDENTIALS, base_url=url, clock=clock, timeout_seconds=RELAXED_TIMEOUT
        )
    try:
        [sent] = await sender.send_batch([OutgoingSms("k", "DEVINO", destination, "hi")])
        assert sent.outcome is SendOutcome.ACCEPTED
        await clock.sleep(1.5)
        [report] = await sender.query_status(sent.provider_ids)
    finally:
        await sender.close()

    assert report.code == str(code)
    assert report.status is EXPECTED_STATUS[code]
    assert report.text  # the provider's description, or the table's when it gave none
