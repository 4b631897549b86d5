"""Devino SOAP 1.2 clients (ws.devinotele.com): v1 `SmsService.asmx` with GetSessionID (seed
chapter 7, L3457-4569) and v2 `SmsServicev2.asmx` with login/password in every call (chapter 8,
L4570-5602).

Envelopes are built exactly as the seed's examples show (element names are case-sensitive, spec
A32). Sends use `SendMessage`, one text to at most 1000 recipients per request; status is
`GetMessageState` per segment id. Every request waits its turn on a client-side spacer that
keeps under the documented 10 requests per second. Batch semantics, error handling and in-doubt
sends are described in `devino_batch`.

Viber has its own service, `ViberService.asmx` (v1) and `ViberServiceV2.asmx` (v2), with
SendMessage, SendMessageWithResend and GetMessageState (seed L4236-4515, L5265-5549), sharing
the session and the spacer; see `devino_viber_batch`. Incoming SMS are pulled with
GetIncomingMessages (seed L4148-4234, L5177-5264).

Seed references are lines of `seeds/004_80a28bca441860d4.txt`.
"""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from dispatcher.clock import Clock
from dispatcher.fallback.base import Balance, ChannelError, OutgoingSms
from dispatcher.fallback.devino_auth import DevinoCredentials, redact
from dispatcher.fallback.devino_base import DevinoSenderBase
from dispatcher.fallback.devino_batch import DevinoApiError, RequestInDoubt, RequestNotSent
from dispatcher.fallback.devino_codes import (
    DevinoStatistics,
    ErrorAction,
    check_statistics_range,
    classify_soap_fault,
    decode_sms_state,
    format_datetime,
    soap_fault_detail,
)
from dispatcher.fallback.devino_incoming import (
    InboundMessage,
    check_pull_period,
    parse_soap_incoming,
)
from dispatcher.fallback.devino_viber_batch import SmsSegments, viber_validity
from dispatcher.fallback.devino_viber_codes import SOAP_VIBER_STATE_NAMES, viber_leg
from dispatcher.fallback.http import DEFAULT_TIMEOUT_SECONDS, parse_xml
from dispatcher.fallback.viber import LegStatus
from dispatcher.status import MessageStatus

DEFAULT_BASE_URL = "https://ws.devinotele.com"
V1_PATH = "/SmsService.asmx"  # seed L3506-3508
V2_PATH = "/SmsServicev2.asmx"  # seed L4600-4602
V1_VIBER_PATH = "/ViberService.asmx"  # seed L4245
V2_VIBER_PATH = "/ViberServiceV2.asmx"  # seed L5274
SERVICE_NAMESPACE = "http://ws.devinosms.com"  # seed L3551 (devinosms, not devinotele)
SOAP12_NAMESPACE = "http://www.w3.org/2003/05/soap-envelope"
CONTENT_TYPE = "application/soap+xml; charset=utf-8"  # seed L3559-3560
# seed L3757 (v1), L4781 (v2): SendMessage takes up to 1000 messages per request.
MAX_MESSAGES_PER_REQUEST = 1000
# seed L3510-3511 (v1), L4603-4604 (v2): "10 запросов/1 сек".
MAX_REQUESTS_PER_SECOND = 10
# Our margin under that limit: requests start at least 1.1/10 s apart, so jitter on the way
# cannot squeeze eleven into one of the provider's seconds.
RATE_SAFETY_MARGIN = 0.1
# seed L3825, L4850: Validity defaults to 2880 min. It is always sent: an omitted int element
# is read as 0 by the ASMX serializer.
DEFAULT_VALIDITY_MINUTES = 2880
# Requests in flight at once per sender (our choice; the spacer is the real limit).
DEFAULT_CONCURRENCY = 4

# Characters an XML 1.0 document cannot carry, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

Fields = list[tuple[str, "str | Fields"]]

_ENVELOPE = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<soap12:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
    ' xmlns:soap12="http://www.w3.org/2003/05/soap-envelope">\n'
    "  <soap12:Body>\n"
    '    <{operation} xmlns="http://ws.devinosms.com">\n'
    "{fields}"
    "    </{operation}>\n"
    "  </soap12:Body>\n"
    "</soap12:Envelope>\n"
)


def build_envelope(operation: str, fields: Fields) -> str:
    """A SOAP 1.2 request in the layout of the seed's examples (e.g. seed L3545-3558)."""
    return _ENVELOPE.format(operation=operation, fields=_render(fields, depth=3))


def _render(fields: Fields, depth: int) -> str:
    indent = "  " * depth
    lines = []
    for name, value in fields:
        if isinstance(value, str):
            lines.append(f"{indent}<{name}>{escape(value)}</{name}>\n")
        else:
            lines.append(f"{indent}<{name}>\n{_render(value, depth + 1)}{indent}</{name}>\n")
    return "".join(lines)


class RequestSpacer:
    """Starts requests at least `(1 + margin) / per_second` clock seconds apart.

    Callers take turns in order (the lock is fair) and each holds the lock through its wait:
    the next start counts from the moment the previous one really started. Reserving start
    times ahead instead let every caller whose time had passed go at once when the event loop
    woke them late (a loop busy for a moment), a burst the provider refuses.
    """

    def __init__(self, clock: Clock, per_second: float, margin: float = RATE_SAFETY_MARGIN) -> None:
        self._clock = clock
        self._interval = (1.0 + margin) / per_second
        self._last_start = float("-inf")
        self._lock = asyncio.Lock()

    async def wait_turn(self) -> None:
        async with self._lock:
            wait = self._last_start + self._interval - self._clock.monotonic()
            if wait > 0:
                await self._clock.sleep(wait)
            self._last_start = self._clock.monotonic()


class _DevinoSoapSender(DevinoSenderBase):
    """The SOAP wire format; v1 and v2 differ in path and in the authenticating elements."""

    def __init__(
        self,
        credentials: DevinoCredentials,
        *,
        name: str,
        url: str,
        viber_url: str,
        clock: Clock | None,
        timeout_seconds: float,
        concurrency: int,
        with_session: bool,
    ) -> None:
        super().__init__(
            credentials,
            name=name,
            clock=clock,
            timeout_seconds=timeout_seconds,
            concurrency=concurrency,
            max_recipients=MAX_MESSAGES_PER_REQUEST,
            # seed L4241, L5269: Viber SendMessage also takes up to 1000 messages.
            max_viber_recipients=MAX_MESSAGES_PER_REQUEST,
            login=self._login if with_session else None,
        )
        self._url = url
        self._viber_url = viber_url
        self._spacer = RequestSpacer(self._clock, MAX_REQUESTS_PER_SECOND)

    async def balance(self) -> Balance:
        """`GetBalance` (seed L3587-3643, L4622-4670): a decimal, overdraft included."""
        result = await self._channel_call(lambda: self._request("GetBalance", []))
        try:
            return Balance(amount=float((result.text or "").strip()))
        except ValueError:
            raise ChannelError(f"{self.name}: unreadable balance answer") from None

    async def statistics(self, start: datetime, end: datetime) -> DevinoStatistics:
        """`GetStatistics` for a period of at most 90 days (seed L4057-4146, L5083-5160)."""
        check_statistics_range(start, end)
        fields: Fields = [
            ("startDateTime", format_datetime(start)),
            ("endDateTime", format_datetime(end)),
        ]
        # seed L4076, L4100: this one operation names its session element `sessionId`.
        result = await self._channel_call(
            lambda: self._request("GetStatistics", fields, session_element="sessionId")
        )
        values = {_local(child.tag).lower(): (child.text or "").strip() for child in result}

        def count(name: str) -> int:
            try:
                return int(values.get(name.lower(), "0") or "0")
            except ValueError:
                return 0

        return DevinoStatistics(
            sent=count("Sent"),
            delivered=count("Delivered"),
            errors=count("Errors"),
            in_process=count("InProcess"),
            expired=count("Expired"),
            rejected=count("Rejected"),
        )

    async def incoming(self, start: datetime, end: datetime) -> list[InboundMessage]:
        """`GetIncomingMessages` for [start, end] (seed L4148-4234): no message ids, so the
        records are deduplicated on their content (spec A37)."""
        check_pull_period(start, end, now=datetime.fromtimestamp(self._clock.wall(), UTC))
        # seed L4162-4164: maxDateUTC before minDateUTC.
        fields: Fields = [
            ("maxDateUTC", format_datetime(end)),
            ("minDateUTC", format_datetime(start)),
        ]
        result = await self._channel_call(lambda: self._request("GetIncomingMessages", fields))
        return parse_soap_incoming(result)

    def _unsendable(self, message: OutgoingSms) -> str | None:
        if _NOT_XML.search(message.body) or _NOT_XML.search(message.source):
            return "text holds characters XML cannot carry"
        return None

    async def _send_same_text(
        self, source: str, destinations: list[str], body: str, validity: int | None
    ) -> list[str]:
        # seed L3754-3850: SendMessage(sessionID, message{Data, DelayUntilUtc,
        # DestinationAddresses, SourceAddress, ReceiptRequested, Validity}) in this order.
        # DelayUntilUtc is left out: "if not filled, sent immediately" (L3810).
        message: Fields = [
            ("Data", body),
            ("DestinationAddresses", [("string", d) for d in destinations]),
            ("SourceAddress", source),
            ("ReceiptRequested", "true"),
            ("Validity", str(validity if validity is not None else DEFAULT_VALIDITY_MINUTES)),
        ]
        result = await self._request("SendMessage", [("message", message)])
        return [
            (child.text or "").strip() for child in result if _local(child.tag).lower() == "string"
        ]

    async def _fetch_state(self, provider_id: str) -> tuple[int, str | None]:
        # seed L3968-4055: GetMessageState(sessionID, messageID) -> State, StateDescription, ...
        result = await self._request("GetMessageState", [("messageID", provider_id)])
        values = {_local(child.tag).lower(): (child.text or "").strip() for child in result}
        try:
            state = int(values.get("state", ""))
        except ValueError:
            raise RequestInDoubt("state answer without a numeric State") from None
        return state, values.get("statedescription") or None

    async def _send_viber_text(
        self,
        source: str,
        destinations: list[str],
        body: str,
        validity: int | None,
        resend: bool,
    ) -> list[str]:
        if _NOT_XML.search(body) or _NOT_XML.search(source):
            raise DevinoApiError(ErrorAction.REJECT, None, "text holds characters XML cannot carry")
        # seed L4255-4270 (SendMessage), L4345-4362 (SendMessageWithResend): the same message
        # {Data, DestinationAddresses, SourceAddress, Validity (required, L4303), Optional}.
        operation = "SendMessageWithResend" if resend else "SendMessage"
        message: Fields = [
            ("Data", body),
            ("DestinationAddresses", [("string", d) for d in destinations]),
            ("SourceAddress", source),
            ("Validity", str(viber_validity(validity))),
        ]
        result = await self._request(operation, [("message", message)], url=self._viber_url)
        return [
            (child.text or "").strip() for child in result if _local(child.tag).lower() == "string"
        ]

    async def _fetch_viber_state(self, provider_id: str) -> tuple[LegStatus, SmsSegments]:
        # seed L4436-4499: State is an enum name (or an int, Table 15 L4504; spec A33) and
        # ResentSms holds ViberSmsMessageStateInfo{Id}; an SMS state missing there is asked
        # of the SMS service by its Id (spec §4.11 [Inference]).
        result = await self._request(
            "GetMessageState", [("messageID", provider_id)], url=self._viber_url
        )
        values = {_local(child.tag).lower(): (child.text or "").strip() for child in result}
        raw = values.get("state", "")
        code = SOAP_VIBER_STATE_NAMES.get(raw.lower())
        if code is None:
            try:
                code = int(raw)
            except ValueError:
                raise RequestInDoubt("Viber state answer without a State") from None
        viber = viber_leg(code, values.get("statedescription"))
        segments: SmsSegments = []
        resent = _find(result, "ResentSms")
        for info in resent if resent is not None else []:
            fields = {_local(child.tag).lower(): (child.text or "").strip() for child in info}
            sms_id = fields.get("id", "")
            if not sms_id:
                continue
            if fields.get("state", "").lstrip("-").isdigit():
                state: int | None = int(fields["state"])
            else:
                state = await self._resent_sms_state(sms_id)
            if state is None:
                segments.append((sms_id, MessageStatus.SUBMITTED, None))
            else:
                segments.append((sms_id, decode_sms_state(state), str(state)))
        return viber, segments

    async def _resent_sms_state(self, sms_id: str) -> int | None:
        """A re-sent SMS segment's state from the SMS service; None (still to be learned) when
        that one request fails for a reason that does not concern the whole channel."""
        try:
            state, _ = await self._fetch_state(sms_id)
        except DevinoApiError as error:
            if error.action in (ErrorAction.REJECT, ErrorAction.RETRY):
                return None
            raise
        except (RequestNotSent, RequestInDoubt):
            return None
        return state

    async def _login(self) -> str:
        # seed L3529-3585: GetSessionID(login, password) -> GetSessionIDResult.
        fields: Fields = [
            ("login", self._credentials.login),
            ("password", self._credentials.password),
        ]
        result = await self._login_exchange(lambda: self._exchange("GetSessionID", fields))
        session_id = (result.text or "").strip()
        if not session_id:
            raise RequestNotSent("login answer holds no session id")
        return session_id

    async def _request(
        self,
        operation: str,
        fields: Fields,
        *,
        session_element: str = "sessionID",
        url: str | None = None,
    ) -> ET.Element:
        async def call(session_id: str | None) -> ET.Element:
            if session_id is not None:
                auth: Fields = [(session_element, session_id)]
            else:  # seed L4633-4636: v2 takes login and password in place of sessionID
                auth = [
                    ("login", self._credentials.login),
                    ("password", self._credentials.password),
                ]
            return await self._exchange(operation, auth + fields, url=url)

        return await self._authenticated(call)

    async def _exchange(
        self, operation: str, fields: Fields, *, url: str | None = None
    ) -> ET.Element:
        """One SOAP call, after waiting its turn; returns the `<operation>Result` element."""
        await self._spacer.wait_turn()
        envelope = build_envelope(operation, fields).encode("utf-8")
        status, body = await self._http_request(
            "POST", url or self._url, data=envelope, content_type=CONTENT_TYPE
        )
        return self._decode(operation, status, body)

    def _decode(self, operation: str, status: int, body: bytes) -> ET.Element:
        try:
            root = parse_xml(body)
        except (ET.ParseError, ValueError):
            if status == 200 or status >= 500:
                raise RequestInDoubt(f"unreadable answer (HTTP {status})") from None
            raise DevinoApiError(ErrorAction.RETRY, f"http-{status}", "no SOAP answer") from None
        fault = _find(root, "Fault")
        if fault is not None:
            raise self._fault_error(fault)
        response = _find(root, f"{operation}Response")
        if status != 200 or response is None:
            raise RequestInDoubt(f"HTTP {status} without a {operation} answer")
        # spec A33: a response may name its result element after another operation.
        for child in response:
            if _local(child.tag).lower().endswith("result"):
                return child
        raise RequestInDoubt(f"{operation} answer without a result")

    def _fault_error(self, fault: ET.Element) -> DevinoApiError:
        # seed L3513-3527: soap:Code/soap:Value and soap:Reason/soap:Text; the cause follows
        # "--->". Classified by that text (spec A35, §9.4).
        code_value = _find(fault, "Value")
        reason = _find(fault, "Text")
        reason_text = redact(reason.text or "", self._secrets()) if reason is not None else ""
        action = classify_soap_fault(reason_text, has_session=self.has_session)
        code = (code_value.text or "").strip() if code_value is not None else None
        return DevinoApiError(action, code or None, soap_fault_detail(reason_text))


class DevinoSoapV1Sender(_DevinoSoapSender):
    """SOAP v1: a session id from GetSessionID (seed L3529-3585), cached for 120 min."""

    def __init__(
        self,
        credentials: DevinoCredentials,
        *,
        name: str = "devino_soap_v1",
        base_url: str = DEFAULT_BASE_URL,
        clock: Clock | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        super().__init__(
            credentials,
            name=name,
            url=base_url.rstrip("/") + V1_PATH,
            viber_url=base_url.rstrip("/") + V1_VIBER_PATH,
            clock=clock,
            timeout_seconds=timeout_seconds,
            concurrency=concurrency,
            with_session=True,
        )


class DevinoSoapV2Sender(_DevinoSoapSender):
    """SOAP v2: login and password in every call (seed L4570-4604), no session."""

    def __init__(
        self,
        credentials: DevinoCredentials,
        *,
        name: str = "devino_soap_v2",
        base_url: str = DEFAULT_BASE_URL,
        clock: Clock | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        super().__init__(
            credentials,
            name=name,
            url=base_url.rstrip("/") + V2_PATH,
            viber_url=base_url.rstrip("/") + V2_VIBER_PATH,
            clock=clock,
            timeout_seconds=timeout_seconds,
            concurrency=concurrency,
            with_session=False,
        )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(root: ET.Element, local_name: str) -> ET.Element | None:
    """The first element named `local_name` in any namespace, compared case-insensitively."""
    wanted = local_name.lower()
    for element in root.iter():
        if _local(element.tag).lower() == wanted:
            return element
    return None
