"""Passwords and session ids never reach logs, exception texts, results or reprs, even when the
provider echoes them back in an error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

from dispatcher.clock import ScaledClock
from dispatcher.fallback.base import ChannelError, OutgoingSms
from dispatcher.fallback.devino_base import DevinoSenderBase
from dispatcher.fallback.devino_rest import DevinoRestV1Sender
from dispatcher.fallback.devino_soap import DevinoSoapV1Sender
from dispatcher.provider_sim.devino_platform import DevinoPlatform

from .conftest import CREDENTIALS, PASSWORD

Closing = Callable[[DevinoSenderBase], DevinoSenderBase]


def v1_rest(url: str, clock: ScaledClock) -> DevinoSenderBase:
    return DevinoRestV1Sender(
        CREDENTIALS, base_url=f"{url}/rest", clock=clock, timeout_seconds=30.0
    )


def v1_soap(url: str, clock: ScaledClock) -> DevinoSenderBase:
    return DevinoSoapV1Sender(CREDENTIALS, base_url=url, clock=clock, timeout_seconds=30.0)


@pytest.mark.parametrize("api", ["rest", "soap"])
async def test_secrets_stay_out_of_everything_said(
    api: str,
    rest_url: str,
    soap_url: str,
    platform: DevinoPlatform,
    clock: ScaledClock,
    closing: Closing,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sender = closing(v1_rest(rest_url, clock) if api == "rest" else v1_soap(soap_url, clock))
    said: list[Any] = [repr(sender), repr(CREDENTIALS)]
    message = OutgoingSms("a", "DEVINO", "79161002030", "hello")

    with capture_logs() as logs:
        await sender.balance()
        [first_session] = platform.sessions
        # The provider echoes both secrets in an error text.
        platform.inject("send", 2, f"Invalid argument: {PASSWORD} / {first_session}")
        said += await sender.send_batch([message])
        platform.expire_sessions()  # a renewal: old and new session ids in play
        said += await sender.send_batch([message])
        platform.hang_sends = 1  # an in-doubt send
        said += await sender.send_batch([message])
        issued = set(platform.sessions)
        platform.accounts.clear()  # and finally bad credentials
        platform.sessions.clear()
        with pytest.raises(ChannelError) as caught:
            await sender.send_batch([message])
        said += [str(caught.value), repr(caught.value), caught.value.__cause__]
        said += [caught.value.__context__]

    said += [repr(event) for event in logs]
    said += [capsys.readouterr().out, caplog.text]
    text = "\n".join(str(item) for item in said)
    secrets = [PASSWORD, *issued]
    assert first_session in issued and len(issued) == platform.logins == 2
    assert "Invalid argument" in text  # the echoed error was reported, scrubbed
    for secret in secrets:
        assert secret not in text
