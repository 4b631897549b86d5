"""One HTTP POST to a provider, with the two ways it can fail told apart.

A fallback sender must know whether a failed request could have reached the provider. One that
never left (connection refused, connect timeout) is safe to send again; one that went out and
got no usable answer (response timeout, dropped connection, an HTTP error page) is *in doubt*,
and each API settles that its own way (`FallbackSender.resolve_in_doubt`).

The response timeout is given in clock seconds and turned into real seconds by the injected
`Clock`, so a documented 60 s rule lasts 60 ms under `ScaledClock(0.001)`.
"""

from __future__ import annotations

import aiohttp

from dispatcher.clock import Clock
from dispatcher.fallback.http import new_session


class RequestNotSent(Exception):
    """The request never reached the provider: sending it again cannot duplicate anything."""


class AnswerLost(Exception):
    """The request may have reached the provider, but no usable answer came back."""


class HttpExchange:
    """A pooled HTTPS client for one provider account (TLS verified, every request timed)."""

    def __init__(self, *, clock: Clock, timeout_seconds: float) -> None:
        self.clock = clock
        self.timeout_seconds = timeout_seconds
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, body: bytes, content_type: str) -> bytes:
        """POST `body`; the response body of a 2xx answer.

        Raises `RequestNotSent` or `AnswerLost`. Their messages name the URL and the failure
        only: a request body (where the credentials travel) never appears in them.
        """
        session = self._open_session()
        try:
            async with session.post(
                url, data=body, headers={"Content-Type": content_type}
            ) as response:
                payload = await response.read()
                if not 200 <= response.status < 300:
                    raise AnswerLost(f"{url}: HTTP {response.status}")
                return payload
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise RequestNotSent(f"{url}: cannot connect: {_describe(exc)}") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AnswerLost(f"{url}: no answer: {_describe(exc)}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open_session(self) -> aiohttp.ClientSession:
        # Created on first use: an aiohttp session belongs to the running event loop.
        if self._session is None or self._session.closed:
            self._session = new_session(self.clock.real_seconds(self.timeout_seconds))
        return self._session


def _describe(exc: BaseException) -> str:
    # aiohttp's texts name the host and the OS error, never the request body.
    detail = str(exc)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
