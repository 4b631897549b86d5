"""Devino credentials and the cached session id of the v1 APIs (REST `user/sessionid`, SOAP
`GetSessionID`), and the scrubbing that keeps both out of logs and exception texts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from dispatcher.clock import Clock
from dispatcher.fallback.devino_codes import SESSION_LIFETIME_SECONDS

# spec §2.4 [Inference]: the seed does not say whether use extends a session, so it is treated
# as an absolute 120 min and renewed 10 min early.
SESSION_RENEW_MARGIN_SECONDS = 10 * 60

REDACTED = "***"


@dataclass(frozen=True, slots=True)
class DevinoCredentials:
    login: str
    password: str = field(repr=False)


class SessionCache:
    """One session id shared by all concurrent calls; fetched once, renewed before it expires
    and after the provider says it expired.

    The age is counted from the moment the login request was sent, so the id is never used
    past the provider's 120 minutes even when the login answer was slow.
    """

    def __init__(
        self,
        clock: Clock,
        fetch: Callable[[], Awaitable[str]],
        *,
        lifetime_seconds: float = SESSION_LIFETIME_SECONDS,
        renew_margin_seconds: float = SESSION_RENEW_MARGIN_SECONDS,
    ) -> None:
        self._clock = clock
        self._fetch = fetch
        self._usable_seconds = max(0.0, lifetime_seconds - renew_margin_seconds)
        self._session_id: str | None = None
        self._obtained_at = 0.0
        self._retired: list[str] = []  # recent ids, still scrubbed from texts
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"SessionCache(active={self._session_id is not None})"

    async def get(self) -> str:
        async with self._lock:
            if self._session_id is None or self._expired():
                started = self._clock.monotonic()
                session_id = await self._fetch()
                self._retire()
                self._session_id, self._obtained_at = session_id, started
            return self._session_id

    def invalidate(self, session_id: str) -> None:
        """Forget `session_id` if it is still the current one (concurrent callers that saw the
        same expiry then share one new login)."""
        if self._session_id == session_id:
            self._retire()

    def secrets(self) -> list[str]:
        current = [self._session_id] if self._session_id else []
        return current + self._retired

    def _expired(self) -> bool:
        return self._clock.monotonic() - self._obtained_at >= self._usable_seconds

    def _retire(self) -> None:
        if self._session_id is not None:
            self._retired = [self._session_id, *self._retired][:2]
        self._session_id = None


def redact(text: str, secrets: list[str]) -> str:
    """`text` with every secret replaced; provider texts pass through this before they are
    logged or put into an exception."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text
