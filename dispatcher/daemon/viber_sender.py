"""Viber rows (channels `viber` and `viber_sms`) through their route's Viber providers.

A route names them under `viber = [...]`: the Devino Viber HTTP API (`devino_viber`) or the
Viber calls of a Devino REST/SOAP provider. Sending reuses `FallbackDispatcher` whole
(batches, provider order, pauses, in-doubt policy): each provider is wrapped once per channel
as a `FallbackSender` named `CHANNEL:PROVIDER` (`ViberChannel`). That name is also the
account of the message's one recorded part, whose id is the provider's message id, so status
polls and callbacks know the channel (a `viber_sms` message waits for its SMS re-send) and a
message's final status rolls up through the part like a receipt.

Statuses come two ways: polled (`poll_status`, for messages submitted a while ago without a
final status) and pushed by the Viber API's status callback (`apply_status_events`). Both
legs are kept in `dispatcher_viber_leg`; `dispatcher.fallback.viber.viber_report` decides the
message's status from them.

Before sending, a row is checked (`check`): the destination and validity like an SMS; the
Viber sender name and text as the Viber APIs require; and for `viber_sms` the SMS re-send's
rules too (the sender as an SMS sender, the text within the route's `max_parts`), so a message
whose SMS leg the provider would refuse is rejected with a clear error_text instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import structlog

from dispatcher.clock import Clock
from dispatcher.config import Config, ProviderConfig, RouteConfig
from dispatcher.daemon.fallback_sender import FallbackDispatcher, FallbackRoute
from dispatcher.daemon.results import ResultSinks
from dispatcher.fallback.base import (
    Balance,
    ChannelError,
    FallbackSender,
    OutgoingSms,
    SendOutcome,
    SendResult,
    StatusReport,
)
from dispatcher.fallback.devino_auth import DevinoCredentials
from dispatcher.fallback.devino_incoming import Stored, ViberStatusEvent
from dispatcher.fallback.devino_viber import DevinoViberSender
from dispatcher.fallback.devino_viber_codes import MAX_SUBJECT_CHARS, MAX_TEXT_CHARS
from dispatcher.fallback.viber import (
    Leg,
    LegStatus,
    OutgoingViber,
    SmsResend,
    ViberReport,
    ViberSender,
    viber_report,
)
from dispatcher.metrics import Metrics
from dispatcher.outbox.callbacks import CallbackRecord
from dispatcher.outbox.records import ClaimedMessage, PartOutcome
from dispatcher.outbox.store import OutboxStore
from dispatcher.outbox.validation import (
    InvalidMessage,
    ValidatedMessage,
    check_source,
    check_validity,
    count_body_parts,
    normalise_destination,
)
from dispatcher.outbox.viber import LegRecord, PartRef

log = structlog.get_logger(__name__)

VIBER = "viber"
VIBER_SMS = "viber_sms"
VIBER_CHANNELS = (VIBER, VIBER_SMS)
# Our choices: a Viber message is first asked about this long after it was accepted (the
# status callback usually comes first), then again after the same time; at most this many
# messages per poll.
VIBER_POLL_SECONDS = 30.0
VIBER_POLL_BATCH = 1000
CALLBACK_KIND = "viber_status"


def viber_account(channel: str, provider: str) -> str:
    """The account recorded on a Viber message's part (and the channel sender's name)."""
    return f"{channel}:{provider}"


def channel_of(account: str) -> str:
    return account.partition(":")[0]


class ViberChannel:
    """One Viber provider for one channel, as the `FallbackSender` the dispatcher drives."""

    def __init__(self, sender: ViberSender, channel: str) -> None:
        self._sender = sender
        self.channel = channel
        self.name = viber_account(channel, sender.name)
        self.max_batch = sender.max_viber_batch

    @property
    def resend(self) -> bool:
        return self.channel == VIBER_SMS

    async def send_batch(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        resend = SmsResend() if self.resend else None  # the re-sent SMS: same text, sender
        return await self._sender.send_viber([
            OutgoingViber(key=m.key, source=m.source, destination=m.destination, body=m.body,
                          validity_seconds=m.validity_seconds, resend=resend)
            for m in messages
        ])

    async def reports(self, provider_ids: Sequence[str]) -> list[ViberReport]:
        return await self._sender.viber_status(provider_ids, resend=self.resend)

    async def query_status(self, provider_ids: Sequence[str]) -> list[StatusReport]:
        return [report.as_status_report() for report in await self.reports(provider_ids)]

    async def resolve_in_doubt(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        # Neither Viber API takes a client id to look a message up by (devino_viber,
        # devino_viber_batch): what got no answer stays in doubt (the route's policy).
        return [SendResult(m.key, SendOutcome.IN_DOUBT) for m in messages]

    async def balance(self) -> Balance:
        raise ChannelError(f"{self.name}: read the balance from the provider's SMS API")

    async def close(self) -> None:
        """The provider's client is shared by both channels: `ViberService` closes it."""


def check_viber_row(row: ClaimedMessage, route: RouteConfig) -> ValidatedMessage:
    """The row normalised for sending, or InvalidMessage naming every rule it breaks."""
    problems: list[str] = []
    destination, validity = "", None
    try:
        destination = normalise_destination(row.destination)
    except InvalidMessage as error:
        problems.append(str(error))
    try:
        validity = check_validity(row.validity)
    except InvalidMessage as error:
        problems.append(str(error))
    sender = row.source or route.source or ""
    body = row.body or ""
    if not sender:
        problems.append(f"no Viber sender: the row has no source and routes.{row.route} "
                        "has none")
    elif len(sender) > MAX_SUBJECT_CHARS:
        problems.append(f"Viber sender {sender!r} has {len(sender)} characters; at most "
                        f"{MAX_SUBJECT_CHARS}")
    if not body:
        problems.append("body is empty")
    elif len(body) > MAX_TEXT_CHARS:
        problems.append(f"Viber text of {len(body)} characters; at most {MAX_TEXT_CHARS}")
    if row.channel == VIBER_SMS:
        # The provider re-sends the Viber text from the Viber sender as an SMS: both must
        # pass as an SMS too.
        for check in (lambda: check_source(sender or None),
                      lambda: count_body_parts(body, route.max_parts)):
            try:
                check()
            except InvalidMessage as error:
                problems.append(f"SMS re-send: {error}")
    if problems:
        raise InvalidMessage("; ".join(dict.fromkeys(problems)))
    return ValidatedMessage(
        id=row.id, route=row.route, channel=row.channel, source=sender,
        destination=destination, body=body, priority=row.priority, validity=validity,
        parts=1, client_ref=row.client_ref, attempts=row.attempts)


def leg_records(outbox_id: int, report: ViberReport) -> list[LegRecord]:
    legs = [LegRecord(outbox_id, Leg.VIBER.value, report.viber.status, report.viber.code,
                      report.viber.text, report.viber.ids)]
    if report.sms is not None:
        legs.append(LegRecord(outbox_id, Leg.SMS.value, report.sms.status, report.sms.code,
                              report.sms.text, report.sms.ids))
    return legs


def final_outcome(part: PartRef, report: ViberReport, at: datetime) -> PartOutcome | None:
    """The message's outcome once the report is final; its text names both legs."""
    if not report.is_final:
        return None
    common = report.as_status_report()
    return PartOutcome(outbox_id=part.outbox_id, part_index=part.part_index,
                       status=report.status, at=at, state=common.code, error_code=common.code,
                       text=_legs_text(report))


def _legs_text(report: ViberReport) -> str:
    def leg(name: str, status: LegStatus) -> str:
        detail = f" ({status.text})" if status.text else ""
        return f"{name} {status.code or status.status.value}{detail}"

    text = leg("Viber", report.viber)
    if report.sms is not None:
        text += "; " + leg("SMS re-send", report.sms)
    return text


def _leg_status(record: LegRecord | None) -> LegStatus | None:
    if record is None:
        return None
    return LegStatus(record.status, record.state, record.detail, record.ids)


class ViberService:
    """The daemon's Viber part: routes, sending, status polls and status callbacks."""

    def __init__(
        self,
        config: Config,
        sms_senders: Mapping[str, FallbackSender],
        *,
        store: OutboxStore,
        sinks: ResultSinks,
        metrics: Metrics,
        clock: Clock,
        on_settled: Callable[[int], None],
    ) -> None:
        self._store = store
        self._sinks = sinks
        self._clock = clock
        self._on_settled = on_settled
        self._own: list[DevinoViberSender] = []
        channels: dict[str, ViberChannel] = {}
        for name in sorted({p for route in config.routes.values() for p in route.viber}):
            sender = self._viber_sender(name, config.providers[name], sms_senders, clock)
            for channel in VIBER_CHANNELS:
                adapter = ViberChannel(sender, channel)
                channels[adapter.name] = adapter
        self.channels = channels
        self.dispatcher = FallbackDispatcher(dict(channels), sinks, metrics, clock, on_settled)
        self._routes: dict[tuple[str, str], FallbackRoute] = {}
        self.build_routes(config)

    def _viber_sender(
        self, name: str, provider: ProviderConfig, sms_senders: Mapping[str, FallbackSender],
        clock: Clock,
    ) -> ViberSender:
        if provider.type != "devino_viber":
            sender = sms_senders[name]  # a Devino REST/SOAP client: one client, both services
            assert hasattr(sender, "send_viber"), f"{name} carries no Viber"
            return sender  # type: ignore[return-value]
        options: dict[str, object] = {"name": name, "clock": clock}
        for key, option in (("base_url", "base_url"), ("priority", "priority")):
            if (value := provider.option(key)) is not None:
                options[option] = value
        if (timeout := provider.option("timeout")) is not None:
            options["timeout_seconds"] = float(timeout)
        credentials = DevinoCredentials(provider.option("login") or "",
                                        provider.option("password") or "")
        client = DevinoViberSender(credentials, **options)  # type: ignore[arg-type]
        self._own.append(client)
        return client

    def build_routes(self, config: Config) -> None:
        """(route, channel) -> the channel senders of the route's Viber providers, in order."""
        daemon_in_doubt = config.daemon.in_doubt
        # a provider added by a reload is not running: it takes nothing until a restart
        self._routes = {
            (name, channel): FallbackRoute(
                name=name,
                providers=tuple(viber_account(channel, p) for p in route.viber
                                if viber_account(channel, p) in self.channels),
                source=route.source, validity=route.validity,
                in_doubt_resend=(route.in_doubt or daemon_in_doubt) == "resend")
            for name, route in config.routes.items() if route.viber
            for channel in VIBER_CHANNELS
        }

    @property
    def accounts(self) -> list[str]:
        return sorted(self.channels)

    def start(self) -> None:
        self.dispatcher.start()

    async def close(self) -> None:
        await self.dispatcher.close()
        for client in self._own:
            await client.close()

    # -- sending ---------------------------------------------------------------------------

    def check(self, row: ClaimedMessage, route: RouteConfig) -> ValidatedMessage:
        """Raises InvalidMessage for a row that cannot go out as a Viber message."""
        if (row.route, row.channel) not in self._routes:
            raise InvalidMessage(f"channel {row.channel!r} is not served on route "
                                 f"{row.route!r}: it has no Viber providers "
                                 f"(set routes.{row.route}.viber)")
        return check_viber_row(row, route)

    def send(self, message: ValidatedMessage) -> None:
        route = self._routes.get((message.route, message.channel))
        if route is None or not self.dispatcher.can_take(route):
            # the route lost its Viber providers in a reload, or they are all paused
            self._sinks.release(message.id, "no Viber provider is available")
            self._on_settled(message.id)
            return
        self.dispatcher.send(message, route)

    # -- statuses --------------------------------------------------------------------------

    async def poll_status(self) -> None:
        """Both legs of messages accepted a while ago and not final yet, from the providers."""
        overdue = await self._store.take_overdue(
            older_than_seconds=self._clock.real_seconds(VIBER_POLL_SECONDS),
            requery_seconds=self._clock.real_seconds(VIBER_POLL_SECONDS),
            limit=VIBER_POLL_BATCH, accounts=self.accounts)
        by_account: dict[str, dict[str, PartRef]] = {}
        for due in overdue:
            by_account.setdefault(due.account, {})[due.raw_message_id] = PartRef(
                due.outbox_id, due.part_index, due.account, due.raw_message_id)
        legs: list[LegRecord] = []
        outcomes: list[PartOutcome] = []
        now = datetime.now(UTC)
        for account, parts in by_account.items():
            try:
                reports = await self.channels[account].reports(sorted(parts))
            except Exception as problem:
                log.warning("viber_status_failed", account=account, error=str(problem))
                continue
            for report in reports:
                part = parts.get(report.provider_id)
                if part is None:
                    continue
                legs += leg_records(part.outbox_id, report)
                if (outcome := final_outcome(part, report, now)) is not None:
                    outcomes.append(outcome)
        await self._store.record_viber_legs(legs, outcomes)

    async def apply_status_events(self, events: Sequence[ViberStatusEvent]) -> Stored:
        """A Viber status callback: the Viber leg of each event applied to its message (a
        `viber_sms` message whose Viber leg failed waits for the poll to bring the SMS leg),
        then every event kept once. Events about ids we never sent are kept and flagged."""
        parts = {p.provider_id: p for p in await self._store.find_parts(
            self.accounts, [event.provider_id for event in events])}
        recorded = await self._store.viber_legs(sorted({p.outbox_id for p in parts.values()}))
        legs: list[LegRecord] = []
        outcomes: list[PartOutcome] = []
        now = datetime.now(UTC)
        for event in events:
            part = parts.get(event.provider_id)
            if part is None:
                continue
            known = recorded.get(part.outbox_id, {})
            report = viber_report(event.provider_id, event.leg,
                                  _leg_status(known.get(Leg.SMS.value)),
                                  resend=channel_of(part.account) == VIBER_SMS)
            legs += leg_records(part.outbox_id, report)
            if (outcome := final_outcome(part, report, now)) is not None:
                outcomes.append(outcome)
        # applied before being recorded as seen: a crash in between repeats an idempotent step
        await self._store.record_viber_legs(legs, outcomes)
        new = await self._store.store_callbacks([
            CallbackRecord(event.dedupe_key, CALLBACK_KIND, event.provider_id,
                           known=event.provider_id in parts,
                           payload={"status": event.raw_status, "error_code": event.error_code,
                                    "received_at": event.received_at})
            for event in events
        ])
        unknown = tuple(dict.fromkeys(e.provider_id for e in events if e.provider_id not in parts))
        return Stored(new=len(new), duplicates=len(events) - len(new), unknown_ids=unknown)
