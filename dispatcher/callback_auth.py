"""Who may call our callback URLs.

The providers sign nothing and send no credentials (Devino: spec devino-other-apis,
"Cross-cutting requirements for the callback HTTP server"; Webcom: http-providers §2.4). So
each callback URL carries a secret path token, compared in constant time, and may be limited
to the provider's source addresses (single addresses or CIDR networks, IPv4 and IPv6).

Refusals, and why these answers:
- a wrong or missing token is answered **404**, exactly like a path that does not exist: the
  URL gives nothing away to someone scanning for it;
- a right token from an address outside the allow-list is answered **403**: the provider's
  operators see a clear refusal when their egress address changed.

Behind a reverse proxy the peer is the proxy; only when the peer is one of
`trusted_proxies` is the last hop of `X-Forwarded-For` taken as the source instead.
The token never appears in a log line, an exception or a repr; the daemon's HTTP server must
run without an access log (it does: `access_log=None`), since the path holds the token.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

import structlog
from aiohttp import web

log = structlog.get_logger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TOKEN_PARAMETER: Final = "token"  # the route's path variable, e.g. /callbacks/{token}/viber
# A token shorter than this is guessable; 32 URL-safe characters (secrets.token_urlsafe(24))
# is the documented way to make one.
MIN_TOKEN_CHARS: Final = 16
FORWARDED_FOR: Final = "X-Forwarded-For"


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int  # 404 or 403
    reason: str  # for our log; never sent


@dataclass(frozen=True)
class CallbackAccess:
    token: str = field(repr=False)
    allowed_sources: tuple[Network, ...] = ()  # empty: any source
    trusted_proxies: tuple[Network, ...] = ()

    def __post_init__(self) -> None:
        if len(self.token) < MIN_TOKEN_CHARS:
            raise ValueError(f"a callback token needs at least {MIN_TOKEN_CHARS} characters")
        if not self.token.isascii() or any(c in self.token for c in "/?#% "):
            raise ValueError("a callback token must be URL-safe ASCII (no / ? # % or spaces)")

    @classmethod
    def from_config(
        cls,
        token: str,
        *,
        allowed_sources: Iterable[str] = (),
        trusted_proxies: Iterable[str] = (),
    ) -> CallbackAccess:
        """Networks given as text ("203.0.113.7", "198.51.100.0/24", "2001:db8::/32"); a bad
        entry raises ValueError naming it."""
        return cls(
            token,
            tuple(_network(entry, "allowed_sources") for entry in allowed_sources),
            tuple(_network(entry, "trusted_proxies") for entry in trusted_proxies),
        )

    def token_matches(self, candidate: str | None) -> bool:
        """Constant time in the candidate's content (hmac.compare_digest)."""
        if candidate is None:
            return False
        return hmac.compare_digest(self.token.encode(), candidate.encode("utf-8", "replace"))

    def source(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """The caller's address: the peer, or the proxy's last forwarded hop."""
        if forwarded_for and _within(peer, self.trusted_proxies):
            hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
            if hops:
                return hops[-1]
        return peer

    def check(
        self, candidate: str | None, peer: str | None, forwarded_for: str | None = None
    ) -> Refusal | None:
        if not self.token_matches(candidate):
            return Refusal(404, "wrong token")
        if self.allowed_sources:
            source = self.source(peer, forwarded_for)
            if not _within(source, self.allowed_sources):
                return Refusal(403, f"source {source} not allowed")
        return None


def guarded(access: CallbackAccess, handler: Handler) -> Handler:
    """`handler` behind `access`: mount it on a route with a `{token}` path variable."""

    async def guard(request: web.Request) -> web.StreamResponse:
        refusal = access.check(
            request.match_info.get(TOKEN_PARAMETER),
            request.remote,
            request.headers.get(FORWARDED_FOR),
        )
        if refusal is not None:
            log.warning(
                "callback_refused",
                status=refusal.status,
                reason=refusal.reason,
                peer=request.remote,
                method=request.method,
            )
            if refusal.status == 404:
                raise web.HTTPNotFound()
            raise web.HTTPForbidden()
        return await handler(request)

    return guard


def _network(entry: str, setting: str) -> Network:
    try:
        return ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{setting}: {entry!r} is not an address or network") from None


def _within(address: str | None, networks: tuple[Network, ...]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)
