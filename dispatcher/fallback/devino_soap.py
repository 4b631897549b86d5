"""Devino SOAP 1.2 clients (ws.devinotele.com): v1 `SmsService.asmx` with GetSessionID (seed
chapter 7, L3457-4569) and v2 `SmsServicev2.asmx` with login/password in every call (chapter 8,
L4570-5602).

Envelopes are built exactly as the seed's examples show (element names are case-sensitive, spec
A32). Sends use `SendMessage`, one text to at most 1000 recipients per request; status is
`GetMessageState` per segment id. Every request waits its turn on a client-side spacer that
keeps under the documented 10 requests per second. Batch semantics, error handling and in-doubt
sends are described in `devino_batch`.

Seed references are lines of `seeds/004_80a28bca441860d4.txt`.
"""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from datetime import datetime
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
    format_datetime,
    soap_fault_detail,
)
from dispatcher.fallback.http import DEFAULT_TIMEOUT_SECONDS, parse_xml

DEFAULT_BASE_URL = "https://ws.devinotele.com"
V1_PATH = "/SmsService.asmx"  # seed L3506-3508
V2_PATH = "/SmsServicev2.asmx"  # seed L4600-4602
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

    Each caller reserves the next free start time under a lock and then sleeps until it, so
    concurrent callers queue up in order without holding the lock while they wait.
    """

    def __init__(self, clock: Clock, per_second: float, margin: float = RATE_SAFETY_MARGIN) -> None:
        self._clock = clock
        self._interval = (1.0 + margin) / per_second
        self._next_start = float("-inf")
        self._lock = asyncio.Lock()

    async def wait_turn(self) -> None:
        async with self._lock:
            now = self._clock.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self._interval
        if start > now:
            await self._clock.sleep(start - now)


class _DevinoSoapSender(DevinoSenderBase):
    """The SOAP wire format; v1 and v2 differ in path and in the authenticating elements."""

    def __init__(
        self,
        credentials: DevinoCredentials,
        *,
        name: str,
        url: str,
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
            login=self._login if with_session else None,
        )
        self._url = url
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
        self, operation: str, fields: Fields, *, session_element: str = "sessionID"
    ) -> ET.Element:
        async def call(session_id: str | None) -> ET.Element:
            if session_id is not None:
                auth: Fields = [(session_element, session_id)]
            else:  # seed L4633-4636: v2 takes login and password in place of sessionID
                auth = [
                    ("login", self._credentials.login),
                    ("password", self._credentials.password),
                ]
            return await self._exchange(operation, auth + fields)

        return await self._authenticated(call)

    async def _exchange(self, operation: str, fields: Fields) -> ET.Element:
        """One SOAP call, after waiting its turn; returns the `<operation>Result` element."""
        await self._spacer.wait_turn()
        envelope = build_envelope(operation, fields).encode("utf-8")
        status, body = await self._http_request(
            "POST", self._url, data=envelope, content_type=CONTENT_TYPE
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
