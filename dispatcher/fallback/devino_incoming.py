"""What Devino sends us: incoming SMS (pulled or pushed) and the Viber callbacks.

Incoming SMS arrive three ways (seed 004 chapter 11, L5891-5900): over SMPP (the daemon's
deliver_sm path), pulled with `Sms/In` / `GetIncomingMessages` (the REST and SOAP clients'
`incoming`, driven by `IncomingPoller` here), and pushed by the platform to our URL (the
"external handler", L6011-6017, L6046-6080). The Viber HTTP API POSTs status events
(L6686-6774) and incoming Viber replies (L6776-6843) to our URLs.

Every record here carries a `dedupe_key`: the same message or event delivered twice (the
platform retries pushes and callbacks; pull windows overlap) has the same key, so storage
keyed on it keeps one copy. Keys:
- an incoming SMS with a platform id: `devino-sms:<source digits>:<id>`; the push's
  `messageId` and `Sms/In`'s `ID` are taken to be the same platform id;
- an incoming SMS without an id (SOAP): a digest of (source, destination, created, text),
  spec A37;
- a Viber reply: `devino-viber:<id>`; a Viber status event:
  `devino-viber-status:<id>:<STATUS>:<receivedAt>`.

The handlers answer fast: they only parse and hand the records to `store` (which must
persist, nothing more: the processing happens later, from the table), then answer. The push
may carry a reply text, computed within the same time budget or not at all. Nothing here
checks who is calling: mount the handlers behind `dispatcher.callback_auth.guarded`.

Seed references are lines of `seeds/004_80a28bca441860d4.txt`.
"""

from __future__ import annotations

import hashlib
import math
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol
from urllib.parse import parse_qsl

import structlog
from aiohttp import web

from dispatcher.clock import Clock, SystemClock
from dispatcher.fallback.devino_viber_codes import API_VIBER_STATES, id_text
from dispatcher.fallback.lenient_json import loads_lenient
from dispatcher.fallback.provider_time import parse_provider_time
from dispatcher.fallback.viber import LegStatus
from dispatcher.status import MessageStatus

log = structlog.get_logger(__name__)

CHANNEL_REST_PULL: Final = "devino_rest_pull"
CHANNEL_SOAP_PULL: Final = "devino_soap_pull"
CHANNEL_SMS_PUSH: Final = "devino_sms_push"
CHANNEL_VIBER: Final = "devino_viber"

# seed L6015-6016: no answer within 30 s and the platform pushes again; L6070: a reply must
# come within 1 minute. Our answer budget is a third of those 30 s (spec ch. 11 amb. 5), so a
# slow store never makes the platform push the same message twice.
PUSH_RETRY_AFTER_SILENCE_SECONDS: Final = 30.0
PUSH_ANSWER_BUDGET_SECONDS: Final = PUSH_RETRY_AFTER_SILENCE_SECONDS / 3
# Our bound for storing a callback's records before answering (Viber callbacks name none).
CALLBACK_STORE_BUDGET_SECONDS: Final = 10.0
# seed L815-816: Sms/In's period may start at most one year back.
PULL_MAX_LOOKBACK: Final = timedelta(days=365)
# Our choices for the pull: each window reaches back this far over the previous one (late
# arrivals), the first one looks back an hour, and this many keys are remembered.
DEFAULT_PULL_OVERLAP: Final = timedelta(minutes=10)
DEFAULT_FIRST_LOOKBACK: Final = timedelta(hours=1)
DEFAULT_PULL_MEMORY: Final = 10_000

# seed L6073-6077: the answer the platform reads a reply from.
PUSH_REPLY_CONTENT_TYPE: Final = "text/plain"
_PUSH_HEADERS: Final = {"Cache-Control": "private"}


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One incoming message, whichever way it came (spec devino-other-apis "What the
    dispatcher needs" §1)."""

    channel: str
    source: str  # the subscriber who wrote
    destination: str  # our number; for a Viber reply, the sender name it answers
    text: str
    received_at: datetime | None  # UTC, as the provider stamped it (a push: when it came)
    provider_id: str | None
    dedupe_key: str
    prefix: str | None = None  # the keyword prefix of a pushed SMS (seed L6066)
    parent_id: str | None = None  # a Viber reply: the provider id of our message


@dataclass(frozen=True, slots=True)
class ViberStatusEvent:
    """One record of a Viber status callback (seed L6702-6774): the Viber leg only."""

    provider_id: str
    status: MessageStatus
    raw_status: str  # upper-case in callbacks, e.g. "UNDELIVERED"
    error_code: str | None  # e.g. "USER_BLOCKED"
    received_at: datetime | None
    dedupe_key: str

    @property
    def leg(self) -> LegStatus:
        return LegStatus(self.status, self.raw_status.lower(), self.error_code)


@dataclass(frozen=True, slots=True)
class Stored:
    """What `store` did with a callback's records."""

    new: int = 0  # stored for the first time
    duplicates: int = 0  # their dedupe key was taken already: ignored
    unknown_ids: tuple[str, ...] = ()  # about messages we never sent: stored, flagged


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    status: int
    body: bytes = b""
    content_type: str = PUSH_REPLY_CONTENT_TYPE


class CallbackRejected(ValueError):
    """The request cannot be read at all; answered 400 with this text."""


_PROGRESS: Final = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SUBMITTED)


def advances(current: MessageStatus | None, new: MessageStatus) -> bool:
    """Whether `new` may replace `current`: callbacks come at least once and out of order,
    so a status only moves forward and a final one is never replaced (spec devino-other-apis
    "What the dispatcher needs" §3)."""
    if current is None:
        return True
    if current.is_final:
        return False
    return new.is_final or _PROGRESS.index(new) > _PROGRESS.index(current)


# --- incoming SMS: records ---------------------------------------------------------------------


def sms_dedupe_key(
    source: str, provider_id: str | None, destination: str, created: datetime | None, text: str
) -> str:
    if provider_id:
        return f"devino-sms:{_digits(source)}:{provider_id}"
    # spec A37: no id (SOAP) -> (Source, Destination, CreatedDateUtc, Data).
    stamp = created.isoformat() if created is not None else ""
    digest = hashlib.sha256()
    for part in (_digits(source), _digits(destination), stamp, text):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\x1f")
    return f"devino-sms:{digest.hexdigest()[:40]}"


def check_pull_period(start: datetime, end: datetime, *, now: datetime) -> None:
    """Refuse a period the platform refuses (seed L815-818) before asking it: the end must
    follow the start, and the start may lie at most a year back."""
    if end <= start:
        raise ValueError("incoming period must end after it starts")
    if now - start > PULL_MAX_LOOKBACK:
        raise ValueError("incoming period may start at most one year back")


def parse_rest_incoming(answer: Any, *, channel: str = CHANNEL_REST_PULL) -> list[InboundMessage]:
    """`Sms/In`'s answer (seed L834-847): Data, SourceAddress, DestinationAddress, ID and
    CreatedDateUtc as `\\/Date(ms)\\/`. Entries without a source are skipped."""
    if not isinstance(answer, list):
        raise ValueError("Sms/In answer is not a list")
    messages = []
    for item in answer:
        if not isinstance(item, dict):
            continue
        fields = {str(k).lower(): v for k, v in item.items()}
        message = _pulled(
            channel,
            source=fields.get("sourceaddress"),
            destination=fields.get("destinationaddress"),
            text=fields.get("data"),
            created=parse_provider_time(fields.get("createddateutc")),
            provider_id=id_text(fields.get("id")),
        )
        if message is not None:
            messages.append(message)
    return messages


def parse_soap_incoming(
    result: ET.Element, *, channel: str = CHANNEL_SOAP_PULL
) -> list[InboundMessage]:
    """`GetIncomingMessagesResult` (seed L4202-4219): IncomingMessage elements with Data,
    SourceAddress, DestinationAddress and CreatedDateUtc; no id (spec A37)."""
    messages = []
    for element in result:
        if _local(element.tag).lower() != "incomingmessage":
            continue
        fields = {_local(child.tag).lower(): (child.text or "") for child in element}
        message = _pulled(
            channel,
            source=fields.get("sourceaddress"),
            destination=fields.get("destinationaddress"),
            text=fields.get("data"),
            created=parse_provider_time(fields.get("createddateutc")),
            provider_id=None,
        )
        if message is not None:
            messages.append(message)
    return messages


def _pulled(
    channel: str,
    *,
    source: object,
    destination: object,
    text: object,
    created: datetime | None,
    provider_id: str | None,
) -> InboundMessage | None:
    if not isinstance(source, str) or not source.strip():
        log.warning("devino_incoming_without_source", channel=channel, provider_id=provider_id)
        return None
    source = source.strip()
    destination = destination.strip() if isinstance(destination, str) else ""
    body = text if isinstance(text, str) else ""
    key = sms_dedupe_key(source, provider_id, destination, created, body)
    return InboundMessage(channel, source, destination, body, created, provider_id, key)


# --- incoming SMS: the pull -------------------------------------------------------------------


class IncomingSource(Protocol):
    """A client that can list incoming SMS for a period (REST `Sms/In`, SOAP
    `GetIncomingMessages`)."""

    name: str

    async def incoming(self, start: datetime, end: datetime) -> list[InboundMessage]: ...


class IncomingPoller:
    """Pulls incoming SMS in windows that overlap the previous one, and returns each message
    once (by dedupe key, among the last `memory` keys). Call `poll` on a timer; storage
    dedupes as well, so a restart that forgets the keys only costs a few duplicate inserts."""

    def __init__(
        self,
        source: IncomingSource,
        *,
        clock: Clock | None = None,
        overlap: timedelta = DEFAULT_PULL_OVERLAP,
        first_lookback: timedelta = DEFAULT_FIRST_LOOKBACK,
        memory: int = DEFAULT_PULL_MEMORY,
    ) -> None:
        self._source = source
        self._clock = clock or SystemClock()
        self._overlap = overlap
        self._first_lookback = first_lookback
        self._memory = memory
        self._last_end: datetime | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()

    async def poll(self) -> list[InboundMessage]:
        """The messages of [previous end - overlap, now] not returned before. Raises what the
        source raises (ChannelError); the window then starts at the same place next time."""
        # The API takes whole seconds: the window ends at the next one, so it covers now.
        end = datetime.fromtimestamp(math.ceil(self._clock.wall()), UTC)
        start = (self._last_end or end - self._first_lookback) - self._overlap
        # seed L815-816: at most a year back; a day's margin for clocks that disagree.
        start = max(start, end - PULL_MAX_LOOKBACK + timedelta(days=1))
        messages = await self._source.incoming(start, end)
        self._last_end = end
        fresh = []
        for message in messages:
            if message.dedupe_key in self._seen:
                continue
            self._seen[message.dedupe_key] = None
            fresh.append(message)
        while len(self._seen) > self._memory:
            self._seen.popitem(last=False)
        return fresh


# --- incoming SMS: the push -------------------------------------------------------------------


def parse_sms_push(
    query_string: str, body: bytes, content_type: str, *, received_at: datetime
) -> InboundMessage:
    """The platform's request to our handler (seed L6052-6068): sourcePhone, number, prefix,
    text, messageId. The method is not stated, so the query string and a form body are both
    read (spec ch. 11 ambiguity 2); values are URL-decoded UTF-8 and stripped (ambiguity 3).
    Raises CallbackRejected when the subscriber or the message id is missing."""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    if content_type == "application/x-www-form-urlencoded" and body:
        pairs += parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name.lower(), value.strip())
    source = fields.get("sourcephone", "")
    message_id = fields.get("messageid", "")
    if not source:
        raise CallbackRejected("sourcePhone is missing")
    if not message_id:
        raise CallbackRejected("messageId is missing")
    destination, text = fields.get("number", ""), fields.get("text", "")
    return InboundMessage(
        channel=CHANNEL_SMS_PUSH,
        source=source,
        destination=destination,
        text=text,
        received_at=received_at,
        provider_id=message_id,
        dedupe_key=sms_dedupe_key(source, message_id, destination, None, text),
        prefix=fields.get("prefix") or None,
    )


def sms_push_answer(reply: str | None) -> CallbackAnswer:
    """200 with `{sms=<reply>}` as text/plain UTF-8 (seed L6073-6077: the subscriber gets
    that SMS from our number), or 200 with an empty body for no reply (spec ch. 11 amb. 4)."""
    if reply is None or not reply.strip():
        return CallbackAnswer(200)
    return CallbackAnswer(200, f"{{sms={reply}}}".encode())


StoreInbound = Callable[[Sequence[InboundMessage]], Awaitable[Stored]]
ReplyFor = Callable[[InboundMessage], Awaitable[str | None]]


def sms_push_handler(
    store: StoreInbound,
    *,
    reply: ReplyFor | None = None,
    clock: Clock | None = None,
    answer_within: float = PUSH_ANSWER_BUDGET_SECONDS,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler (GET and POST) for the incoming-SMS push.

    The message is stored first; a store that fails or overruns the budget is answered 503,
    so the platform pushes again (after 300 s, seed L6016-6017) and nothing is lost. Then
    `reply` may name a reply text within what is left of `answer_within` clock seconds; a
    late or failing reply hook is abandoned and the answer carries no reply.
    """
    timer = clock or SystemClock()

    async def handle(request: web.Request) -> web.Response:
        started = timer.monotonic()
        try:
            message = parse_sms_push(
                request.query_string,
                await request.read(),
                request.content_type,
                received_at=datetime.fromtimestamp(timer.wall(), UTC),
            )
        except CallbackRejected as error:
            log.warning("sms_push_rejected", reason=str(error))
            return web.Response(status=400, text=str(error))
        stored = await _store_within(timer, answer_within, store, [message], "sms_push")
        if stored is None:
            return web.Response(status=503, text="not stored, push again")
        text = None
        if reply is not None:
            remaining = answer_within - (timer.monotonic() - started)
            text = await _reply_within(timer, remaining, reply, message)
        answer = sms_push_answer(text)
        return web.Response(
            status=answer.status,
            body=answer.body,
            content_type=answer.content_type,
            charset="utf-8",
            headers=_PUSH_HEADERS,
        )

    return handle


async def _reply_within(
    clock: Clock, seconds: float, reply: ReplyFor, message: InboundMessage
) -> str | None:
    try:
        text: str | None = await clock.wait_for(reply(message), max(0.0, seconds))
    except TimeoutError:
        log.warning("sms_push_reply_late", provider_id=message.provider_id)
        return None
    except Exception:
        log.exception("sms_push_reply_failed", provider_id=message.provider_id)
        return None
    return text


# --- Viber callbacks --------------------------------------------------------------------------


def parse_viber_status_callback(body: bytes) -> list[ViberStatusEvent]:
    """A status callback: a JSON array of {id, receivedAt (epoch ms as a string), status
    (upper-case), errorCode} (seed L6702-6774). Keys are read case-insensitively (spec ch. 12
    ambiguity 5); records without an id or a status are skipped and logged; an undocumented
    status is kept as UNKNOWN. Raises CallbackRejected when the body is not a JSON array."""
    records = _json_array(body)
    events = []
    for item in records:
        provider_id = id_text(item.get("id"))
        raw = item.get("status")
        if provider_id is None or not isinstance(raw, str) or not raw.strip():
            log.warning("viber_status_callback_record_skipped", keys=sorted(item))
            continue
        raw = raw.strip().upper()
        status = API_VIBER_STATES.get(raw.lower())
        if status is None:
            log.warning("viber_status_callback_undocumented", status=raw)
            status = MessageStatus.UNKNOWN
        error_code = item.get("errorcode")
        received = item.get("receivedat")
        events.append(
            ViberStatusEvent(
                provider_id=provider_id,
                status=status,
                raw_status=raw,
                error_code=error_code.strip() if isinstance(error_code, str) else None,
                received_at=parse_provider_time(received),
                dedupe_key=f"devino-viber-status:{provider_id}:{raw}:{str(received).strip()}",
            )
        )
    return events


def parse_viber_incoming_callback(body: bytes) -> list[InboundMessage]:
    """Incoming Viber replies: a JSON array of {id, parentId, receivedAt, subject, address,
    contentType ("text"), content} (seed L6794-6843). `receivedAt`'s zone is not stated; it is
    read as UTC like the API's other times (L6663-6665). Raises CallbackRejected when the body
    is not a JSON array; records without an id or an address are skipped."""
    records = _json_array(body)
    messages = []
    for item in records:
        provider_id = id_text(item.get("id"))
        address, content = item.get("address"), item.get("content")
        if provider_id is None or not isinstance(address, str) or not address.strip():
            log.warning("viber_incoming_record_skipped", keys=sorted(item))
            continue
        subject = item.get("subject")
        messages.append(
            InboundMessage(
                channel=CHANNEL_VIBER,
                source=address.strip(),
                destination=subject.strip() if isinstance(subject, str) else "",
                text=content if isinstance(content, str) else "",
                received_at=parse_provider_time(item.get("receivedat")),
                provider_id=provider_id,
                dedupe_key=f"devino-viber:{provider_id}",
                parent_id=id_text(item.get("parentid")),
            )
        )
    return messages


StoreViberStatuses = Callable[[Sequence[ViberStatusEvent]], Awaitable[Stored]]


def viber_status_handler(
    store: StoreViberStatuses, *, clock: Clock | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp POST handler for Viber status callbacks: store, then 200 with an empty body
    (seed L6694-6695). A failed store is answered 500: the platform retries for 24 hours
    (L6693-6694). Events about ids we never sent are stored by `store`, flagged in its answer,
    logged here, and acknowledged all the same: asking again would not make them known."""
    return _callback_handler("viber_status", parse_viber_status_callback, store, clock)


def viber_incoming_handler(
    store: StoreInbound, *, clock: Clock | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp POST handler for incoming Viber replies: store, then 200 with an empty body
    (seed L6788-6790; the platform retries for 1 hour otherwise)."""
    return _callback_handler("viber_incoming", parse_viber_incoming_callback, store, clock)


def _callback_handler(
    kind: str,
    parse: Callable[[bytes], Sequence[Any]],
    store: Callable[[Sequence[Any]], Awaitable[Stored]],
    clock: Clock | None,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    timer = clock or SystemClock()

    async def handle(request: web.Request) -> web.Response:
        try:
            records = parse(await request.read())
        except CallbackRejected as error:
            log.warning(f"{kind}_callback_rejected", reason=str(error))
            return web.Response(status=400, text=str(error))
        if records:
            stored = await _store_within(
                timer, CALLBACK_STORE_BUDGET_SECONDS, store, records, kind
            )
            if stored is None:
                return web.Response(status=500, text="not stored, send again")
        return web.Response(status=200)

    return handle


async def _store_within(
    clock: Clock,
    seconds: float,
    store: Callable[[Sequence[Any]], Awaitable[Stored]],
    records: Sequence[Any],
    kind: str,
) -> Stored | None:
    try:
        stored: Stored = await clock.wait_for(store(records), seconds)
    except Exception:
        log.exception(f"{kind}_store_failed", records=len(records))
        return None
    if stored.unknown_ids:
        log.warning(f"{kind}_unknown_ids", ids=list(stored.unknown_ids))
    log.info(
        f"{kind}_stored",
        records=len(records),
        new=stored.new,
        duplicates=stored.duplicates,
        unknown=len(stored.unknown_ids),
    )
    return stored


def _json_array(body: bytes) -> list[dict[str, Any]]:
    try:
        document = loads_lenient(body.decode("utf-8", errors="replace"))
    except ValueError:
        raise CallbackRejected("the body is not JSON") from None
    if not isinstance(document, list):
        raise CallbackRejected("the body is not a JSON array")
    return [
        {str(key).lower(): value for key, value in item.items()}
        for item in document
        if isinstance(item, dict)
    ]


def _digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
