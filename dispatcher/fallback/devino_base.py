"""What the Devino REST and SOAP clients share: the `FallbackSender` and `ViberSender`
surfaces, the pooled HTTP session, the v1 session id (renewed once on an expiry answer) and
the scrubbing of secrets.

A subclass supplies the wire format: `_send_same_text` and `_fetch_state` (see
`devino_batch`), `_send_viber_text` and `_fetch_viber_state` (see `devino_viber_batch`), plus
`balance`, `statistics` and `incoming`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

import aiohttp
import structlog
from yarl import URL

from dispatcher.clock import Clock, SystemClock
from dispatcher.fallback.base import Balance, OutgoingSms, SendOutcome, SendResult, StatusReport
from dispatcher.fallback.devino_auth import DevinoCredentials, SessionCache
from dispatcher.fallback.devino_batch import (
    DevinoApiError,
    DevinoBatchSender,
    RequestInDoubt,
    RequestNotSent,
    channel_error,
    poll_states,
    unreachable,
)
from dispatcher.fallback.devino_codes import DevinoStatistics, ErrorAction
from dispatcher.fallback.devino_incoming import InboundMessage
from dispatcher.fallback.devino_viber_batch import DevinoViberBatches, SmsSegments
from dispatcher.fallback.http import new_session
from dispatcher.fallback.viber import LegStatus, OutgoingViber, ViberReport

log = structlog.get_logger(__name__)

T = TypeVar("T")


class DevinoSenderBase(ABC):
    """One Devino account on one API. `login` is given for the v1 APIs (session ids)."""

    def __init__(
        self,
        credentials: DevinoCredentials,
        *,
        name: str,
        clock: Clock | None,
        timeout_seconds: float,
        concurrency: int,
        max_recipients: int,
        max_viber_recipients: int,
        login: Callable[[], Awaitable[str]] | None,
    ) -> None:
        self.name = name
        self.max_batch = max_recipients
        self.max_viber_batch = max_viber_recipients
        self._credentials = credentials
        self._clock = clock or SystemClock()
        self._timeout_seconds = timeout_seconds
        self._concurrency = concurrency
        self._http: aiohttp.ClientSession | None = None
        self._sessions = SessionCache(self._clock, login) if login is not None else None
        self._batches = DevinoBatchSender(
            provider=name,
            send_same_text=self._send_same_text,
            max_recipients=max_recipients,
            concurrency=concurrency,
            unsendable=self._unsendable,
        )
        self._viber = DevinoViberBatches(
            provider=name,
            send_text=self._send_viber_text,
            fetch_state=self._fetch_viber_state,
            max_recipients=max_viber_recipients,
            concurrency=concurrency,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    @property
    def has_session(self) -> bool:
        return self._sessions is not None

    # --- FallbackSender ---------------------------------------------------------------------

    async def send_batch(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        return await self._batches.send(messages)

    async def query_status(
        self,
        provider_ids: Sequence[str],
        *,
        submitted_at: Mapping[str, float] | None = None,
    ) -> list[StatusReport]:
        """The state of each segment id, one request each; see `devino_batch.poll_states`.
        `submitted_at` (id -> Unix time of the send) lets an old 255 become final UNKNOWN."""
        return await poll_states(
            self.name,
            provider_ids,
            self._fetch_state,
            concurrency=self._concurrency,
            now=self._clock.wall(),
            submitted_at=submitted_at,
        )

    async def resolve_in_doubt(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        """Always IN_DOUBT: Devino REST and SOAP cannot find a message by our key (spec
        §9.2), so the route policy chooses between resending and marking it unknown."""
        return [
            SendResult(m.key, SendOutcome.IN_DOUBT, text=f"{self.name} cannot look a message up")
            for m in messages
        ]

    # --- ViberSender ------------------------------------------------------------------------

    async def send_viber(self, messages: Sequence[OutgoingViber]) -> list[SendResult]:
        """Viber texts, with an SMS re-send where asked for; see `devino_viber_batch`."""
        return await self._viber.send(messages)

    async def viber_status(
        self, provider_ids: Sequence[str], *, resend: bool = False
    ) -> list[ViberReport]:
        """Both legs of each Viber message, one state request per id."""
        return await self._viber.status(provider_ids, resend=resend)

    # --- account calls ------------------------------------------------------------------------

    @abstractmethod
    async def balance(self) -> Balance: ...

    @abstractmethod
    async def statistics(self, start: datetime, end: datetime) -> DevinoStatistics: ...

    @abstractmethod
    async def incoming(self, start: datetime, end: datetime) -> list[InboundMessage]:
        """The incoming SMS the platform received in [start, end] (UTC); an `IncomingSource`
        for `devino_incoming.IncomingPoller`. Raises ChannelError when the call fails."""

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    # --- for the subclasses -----------------------------------------------------------------

    @abstractmethod
    async def _send_same_text(
        self, source: str, destinations: list[str], body: str, validity: int | None
    ) -> list[str]: ...

    @abstractmethod
    async def _fetch_state(self, provider_id: str) -> tuple[int, str | None]: ...

    @abstractmethod
    async def _send_viber_text(
        self,
        source: str,
        destinations: list[str],
        body: str,
        validity: int | None,
        resend: bool,
    ) -> list[str]: ...

    @abstractmethod
    async def _fetch_viber_state(self, provider_id: str) -> tuple[LegStatus, SmsSegments]: ...

    def _unsendable(self, message: OutgoingSms) -> str | None:
        """Why this API cannot carry a message at all (beyond the common checks)."""
        return None

    async def _authenticated(self, call: Callable[[str | None], Awaitable[T]]) -> T:
        """`call(session_id)` (None on the v2 APIs); after an expiry answer, one new login and
        one repeat (spec A12, §9.4). A second expiry answer is raised as is: the channel stops."""
        session_id = await self._session_id()
        try:
            return await call(session_id)
        except DevinoApiError as error:
            if error.action is not ErrorAction.RENEW_SESSION or self._sessions is None:
                raise
            log.info("devino_session_renew", provider=self.name, code=error.code)
            if session_id is not None:
                self._sessions.invalidate(session_id)
        return await call(await self._session_id())

    async def _session_id(self) -> str | None:
        return None if self._sessions is None else await self._sessions.get()

    async def _channel_call(self, call: Callable[[], Awaitable[T]]) -> T:
        """A call whose failure concerns the channel as a whole (balance, statistics)."""
        try:
            return await call()
        except DevinoApiError as error:
            raise channel_error(self.name, error) from None
        except (RequestNotSent, RequestInDoubt) as error:
            raise unreachable(self.name, str(error)) from None

    async def _http_request(
        self, method: str, url: str | URL, *, data: bytes | None, content_type: str | None
    ) -> tuple[int, bytes]:
        """One HTTP exchange. Connect failures are `RequestNotSent`; anything after that is
        `RequestInDoubt`. The aiohttp error is not chained: its text may hold the URL."""
        http = self._session()
        headers = {"Content-Type": content_type} if content_type else None
        try:
            async with http.request(method, url, data=data, headers=headers) as response:
                return response.status, await response.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as error:
            raise RequestNotSent(f"cannot connect ({type(error).__name__})") from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RequestInDoubt(f"no answer ({type(error).__name__})") from None

    async def _login_exchange(self, call: Callable[[], Awaitable[T]]) -> T:
        """A login request: it sends no message, so nothing about it is ever in doubt."""
        try:
            return await call()
        except RequestInDoubt as error:
            raise RequestNotSent(f"login failed: {error}") from None

    def _secrets(self) -> list[str]:
        sessions = self._sessions.secrets() if self._sessions is not None else []
        return [self._credentials.password, *sessions]

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = new_session(self._clock.real_seconds(self._timeout_seconds))
        return self._http
