"""The daemon's callback receiver: what providers POST to us, stored once, answered fast.

Routes (every path carries the secret token, `[callbacks] token`; a wrong token is answered
404, a source outside `allowed_sources` 403, see `dispatcher.callback_auth`):

    POST     /callbacks/TOKEN/webcom/status          Webcom status callbacks
    POST     /callbacks/TOKEN/devino/viber/status    Devino Viber API status events
    POST     /callbacks/TOKEN/devino/viber/incoming  Devino Viber API incoming replies
    GET/POST /callbacks/TOKEN/devino/sms/incoming    Devino incoming-SMS push

They are served by the metrics server, or by a server of their own at `callbacks.listen`
(the metrics address is usually loopback, the callbacks must be reachable by the providers).

Each handler only stores and answers (the parsing and answer rules are the provider modules'
handlers): status callbacks become part outcomes of the messages they name and one row each
in `dispatcher_callback` (a repeat finds its key taken); incoming messages go to
`dispatcher_incoming` under their dedupe key. A callback about a message we never sent is
accepted (asking again would not make it known), kept flagged, logged and counted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from aiohttp import web

from dispatcher.callback_auth import CallbackAccess, Handler, guarded
from dispatcher.clock import SystemClock
from dispatcher.config import CallbacksConfig
from dispatcher.daemon.viber_sender import ViberService
from dispatcher.fallback.base import StatusReport
from dispatcher.fallback.devino_incoming import (
    InboundMessage,
    Stored,
    ViberStatusEvent,
    sms_push_handler,
    viber_incoming_handler,
    viber_status_handler,
)
from dispatcher.fallback.webcom import status_callback_handler
from dispatcher.metrics import Metrics
from dispatcher.outbox.callbacks import CallbackRecord
from dispatcher.outbox.records import IncomingMessage, PartOutcome
from dispatcher.outbox.store import OutboxStore

WEBCOM_STATUS_PATH = "/callbacks/{token}/webcom/status"
VIBER_STATUS_PATH = "/callbacks/{token}/devino/viber/status"
VIBER_INCOMING_PATH = "/callbacks/{token}/devino/viber/incoming"
SMS_PUSH_PATH = "/callbacks/{token}/devino/sms/incoming"

WEBCOM_KIND = "webcom_status"
VIBER_STATUS_KIND = "viber_status"
INCOMING_KIND = "incoming"


def callback_access(config: CallbacksConfig) -> CallbackAccess | None:
    """The guard of the callback URLs; None when no token is configured (no callbacks)."""
    if config.token is None:
        return None
    return CallbackAccess.from_config(config.token.get_secret_value(),
                                      allowed_sources=config.allowed_sources,
                                      trusted_proxies=config.trusted_proxies)


def incoming_record(message: InboundMessage, account: str, **flags: object) -> IncomingMessage:
    """An incoming SMS or Viber reply as a row of `dispatcher_incoming`."""
    details = {"channel": message.channel, "provider_id": message.provider_id,
               "prefix": message.prefix, "parent_id": message.parent_id, **flags}
    return IncomingMessage(
        account=account, source=message.source, destination=message.destination,
        body=message.text, received_at=message.received_at or datetime.now(UTC),
        dedupe_key=message.dedupe_key,
        details={key: value for key, value in details.items() if value is not None})


class CallbackReceiver:
    def __init__(
        self,
        access: CallbackAccess,
        store: OutboxStore,
        viber: ViberService,
        *,
        webcom_accounts: Sequence[str],
        metrics: Metrics,
    ) -> None:
        self._access = access
        self._store = store
        self._viber = viber
        self._webcom_accounts = list(webcom_accounts)
        self._metrics = metrics

    def routes(self) -> list[web.RouteDef]:
        # The answer budgets stand for the providers' HTTP timeouts, which run on wall time
        # whatever clock the daemon's rules use.
        budget = SystemClock()
        push = self._guard("sms_push", sms_push_handler(self.store_inbound, clock=budget))
        return [
            web.post(WEBCOM_STATUS_PATH,
                     self._guard(WEBCOM_KIND, status_callback_handler(self.store_webcom))),
            web.post(VIBER_STATUS_PATH, self._guard(
                VIBER_STATUS_KIND, viber_status_handler(self.store_viber, clock=budget))),
            web.post(VIBER_INCOMING_PATH, self._guard(
                "viber_incoming", viber_incoming_handler(self.store_inbound, clock=budget))),
            web.get(SMS_PUSH_PATH, push, allow_head=False),
            web.post(SMS_PUSH_PATH, push),
        ]

    def _guard(self, kind: str, handler: Callable[[web.Request], Awaitable[web.Response]]
               ) -> Handler:
        inner = guarded(self._access, handler)

        async def counted(request: web.Request) -> web.StreamResponse:
            try:
                return await inner(request)
            except web.HTTPException as refusal:
                self._metrics.callbacks.labels(kind, "refused").inc()
                raise refusal

        return counted

    # -- the stores behind the provider handlers -------------------------------------------

    async def store_webcom(self, reports: Sequence[StatusReport]) -> None:
        """Final statuses become part outcomes (a part's final outcome never changes, so a
        repeat changes nothing); every report is kept once."""
        parts = {p.provider_id: p for p in await self._store.find_parts(
            self._webcom_accounts, [r.provider_id for r in reports])}
        now = datetime.now(UTC)
        await self._store.record_part_outcomes([
            PartOutcome(outbox_id=part.outbox_id, part_index=part.part_index,
                        status=report.status, at=now, state=report.code,
                        error_code=report.code, text=report.code)
            for report in reports
            if report.is_final and (part := parts.get(report.provider_id)) is not None
        ])
        new = await self._store.store_callbacks([
            CallbackRecord(f"webcom:{r.provider_id}:{r.code}:{r.text or ''}", WEBCOM_KIND,
                           r.provider_id, known=r.provider_id in parts,
                           payload={"state": r.code, "time": r.text})
            for r in reports
        ])
        self._count(WEBCOM_KIND, Stored(
            new=len(new), duplicates=len(reports) - len(new),
            unknown_ids=tuple(r.provider_id for r in reports if r.provider_id not in parts)))

    async def store_viber(self, events: Sequence[ViberStatusEvent]) -> Stored:
        stored = await self._viber.apply_status_events(events)
        self._count(VIBER_STATUS_KIND, stored)
        return stored

    async def store_inbound(self, messages: Sequence[InboundMessage]) -> Stored:
        """Incoming SMS (push) and Viber replies, once each; a Viber reply to a message we
        never sent is kept with `unknown_parent` in its details."""
        parents = [m.parent_id for m in messages if m.parent_id]
        known = {p.provider_id for p in await self._store.find_parts(
            self._viber.accounts, parents)} if parents else set()
        unknown = tuple(p for p in dict.fromkeys(parents) if p not in known)
        new = await self._store.store_incoming([
            incoming_record(m, m.channel, unknown_parent=True if m.parent_id in unknown else None)
            for m in messages
        ])
        stored = Stored(new=len(new), duplicates=len(messages) - len(new), unknown_ids=unknown)
        self._count(INCOMING_KIND, stored)
        return stored

    def _count(self, kind: str, stored: Stored) -> None:
        counter = self._metrics.callbacks
        counter.labels(kind, "new").inc(stored.new)
        counter.labels(kind, "duplicate").inc(stored.duplicates)
        counter.labels(kind, "unknown_id").inc(len(stored.unknown_ids))


def callback_app(routes: Sequence[web.RouteDef]) -> web.Application:
    """An application serving only the callbacks (for `callbacks.listen`)."""
    app = web.Application()
    app.add_routes(routes)
    return app
