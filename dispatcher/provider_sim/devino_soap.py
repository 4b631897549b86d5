"""A fake Devino SOAP 1.2 service (ws.devinotele.com) for tests and staging.

It serves `/SmsService.asmx` (v1: GetSessionID, then `sessionID` in every call) and
`/SmsServicev2.asmx` (v2: `login` and `password` in every call) over one `DevinoPlatform`, with
the operations GetSessionID, GetBalance, SendMessage, GetMessageState, GetStatistics and
GetIncomingMessages; and the Viber services `/ViberService.asmx` and `/ViberServiceV2.asmx`
with SendMessage, SendMessageWithResend and GetMessageState (seed 004 chapters 7-8; spec
devino-smpp-http-soap.md §4-§5). The time-zone sends are not simulated: they answer a Sender
fault.

As the spec's readings say: paths and element local names match case-insensitively (A32), the
operation must be in the `http://ws.devinosms.com` namespace inside a SOAP 1.2 envelope, errors
are HTTP 500 with a soap12 Fault whose reason is "Server was unable to process request. --->
<cause>" (seed L3513-3527, A35), and the causes are the REST descriptions of the same platform
(e.g. "SessionID expired", "Not enough credits"). More than 10 requests within one second
(seed L3510-3511) are refused with a fault and counted in `platform.rate_limited`.

`build_app(**options)` returns the application; `app[SIM_KEY]` is the `DevinoPlatform`.
Options are its constructor keywords plus `requests_per_second` (None: no limit).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final
from xml.sax.saxutils import escape

from aiohttp import web

from dispatcher.fallback.http import parse_xml
from dispatcher.provider_sim.devino_platform import (
    ERR_INVALID_ARGUMENT,
    ERR_NULL_ARGUMENT,
    DevinoPlatform,
    PlatformError,
    parse_datetime,
)
from dispatcher.provider_sim.viber_lifecycle import (
    DELIVERED,
    ENQUEUED,
    FAILED,
    READ,
    SENT,
    UNDELIVERED,
    VISITED,
    VP_EXPIRED,
)

SIM_KEY: Final = web.AppKey("devino_soap_platform", DevinoPlatform)

SOAP12_NAMESPACE: Final = "http://www.w3.org/2003/05/soap-envelope"
SERVICE_NAMESPACE: Final = "http://ws.devinosms.com"  # seed L3551
CONTENT_TYPE: Final = "application/soap+xml"  # seed L3559-3560
V1_PATH: Final = "/smsservice.asmx"  # seed L3508
V2_PATH: Final = "/smsservicev2.asmx"  # seed L4602
V1_VIBER_PATH: Final = "/viberservice.asmx"  # seed L4245
V2_VIBER_PATH: Final = "/viberservicev2.asmx"  # seed L5274
# seed L4479: the Viber State is an enum name; there is none for "link visited" (spec §4.11),
# which the fake reports as Read.
VIBER_STATE_NAMES: Final[dict[str, str]] = {
    ENQUEUED: "Enqueued",
    SENT: "Sent",
    DELIVERED: "Delivered",
    READ: "Read",
    VISITED: "Read",
    UNDELIVERED: "Undelivered",
    FAILED: "Failed",
    VP_EXPIRED: "Expired",
}
# seed L3510-3511, L4603-4604: "Количество запросов 10 запросов/1 сек."
REQUESTS_PER_SECOND: Final = 10
# seed L3757: up to 1000 messages per SendMessage.
MAX_MESSAGES_PER_REQUEST: Final = 1000
# seed L3825: Validity defaults to 2880 minutes.
DEFAULT_VALIDITY_MINUTES: Final = 2880
# seed L4108-4110: a statistics period of at most 3 months (the REST error says 90 days).
MAX_STATISTICS_DAYS: Final = 90
_NO_DATE: Final = "0001-01-01T00:00:00"  # .NET DateTime.MinValue: a non-nullable "no value"

_ENVELOPE: Final = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<soap12:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
    ' xmlns:soap12="http://www.w3.org/2003/05/soap-envelope">'
    "<soap12:Body>{body}</soap12:Body></soap12:Envelope>"
)


class _SoapFault(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Call:
    """One operation: its fields by lower-cased local name, its version, the platform."""

    def __init__(self, platform: DevinoPlatform, version: int, operation: ET.Element) -> None:
        self.platform = platform
        self.version = version
        self.fields = {_local(child.tag).lower(): child for child in operation}

    def text(self, name: str) -> str:
        element = self.fields.get(name.lower())
        value = (element.text or "").strip() if element is not None else ""
        if not value:
            raise PlatformError(
                ERR_NULL_ARGUMENT, f"{name} can not be null or empty Parameter name: {name}"
            )
        return value

    def login(self) -> str:
        """The account: v1 by sessionID (seed L3599), v2 by login and password (L4635)."""
        if self.version == 1:
            return self.platform.session_login(self.text("sessionID"))
        login = self.text("login")
        self.platform.check_credentials(login, self.text("password"))
        return login


def _get_session_id(call: _Call) -> str:
    # seed L3551-3555, L3579-3581
    return escape(call.platform.open_session(call.text("login"), call.text("password")))


def _get_balance(call: _Call) -> str:
    call.login()
    return f"{call.platform.balance:.2f}"


def _message(
    call: _Call, *, missing: str, no_destinations: str
) -> tuple[dict[str, ET.Element], list[str]]:
    """The `message` argument's fields by lower-case name, and its DestinationAddresses."""
    message = call.fields.get("message")
    if message is None:
        raise PlatformError(ERR_NULL_ARGUMENT, missing)
    fields = {_local(child.tag).lower(): child for child in message}
    addresses = fields.get("destinationaddresses")
    destinations = [
        (s.text or "").strip()
        for s in (addresses if addresses is not None else [])
        if _local(s.tag).lower() == "string"
    ]
    if not destinations:
        raise PlatformError(ERR_NULL_ARGUMENT, no_destinations)
    if len(destinations) > MAX_MESSAGES_PER_REQUEST:
        raise PlatformError(ERR_INVALID_ARGUMENT, "Too many messages in one request")
    return fields, destinations


def _send_message(call: _Call) -> str:
    # seed L3771-3785: message{Data, DelayUntilUtc, DestinationAddresses{string*},
    # SourceAddress, ReceiptRequested, Validity}; DelayUntilUtc, ReceiptRequested and Validity
    # are optional (L3810, L3824-3825).
    login = call.login()
    fields, destinations = _message(
        call,
        missing="message can not be null Parameter name: message",
        no_destinations="DestinationAddresses can not be null or empty",
    )
    data = _optional_text(fields, "data")
    source = _optional_text(fields, "sourceaddress")
    if not data or not source:
        raise PlatformError(ERR_NULL_ARGUMENT, "Data and SourceAddress can not be null or empty")
    validity = _optional_int(fields, "validity")
    delay = _optional_text(fields, "delayuntilutc")
    if delay:
        _date_or_fault(delay)
    receipt = _optional_text(fields, "receiptrequested")
    if receipt and receipt.lower() not in ("true", "false", "1", "0"):
        raise PlatformError(ERR_INVALID_ARGUMENT, "Invalid argument ReceiptRequested")
    ids = call.platform.submit(
        login,
        source,
        destinations,
        data,
        DEFAULT_VALIDITY_MINUTES if validity is None else validity,
        numeric_ids=call.version == 1,
    )
    return "".join(f"<string>{escape(i)}</string>" for i in ids)


def _get_message_state(call: _Call) -> str:
    # seed L4030-4041
    login = call.login()
    state = call.platform.state(login, call.text("messageID"))
    return (
        f"<State>{state.code}</State>"
        f"<CreationDateUtc>{_xsd_date(state.created_wall)}</CreationDateUtc>"
        f"<SubmittedDateUtc>{_xsd_date(state.submitted_wall)}</SubmittedDateUtc>"
        f"<ReportedDateUtc>{_xsd_date(state.reported_wall)}</ReportedDateUtc>"
        f"<StateDescription>{escape(state.description)}</StateDescription>"
        f"<Price>{state.price if state.price is not None else 0}</Price>"
    )


def _get_statistics(call: _Call) -> str:
    # seed L4075-4133: v1 names the session element `sessionId` (matched case-insensitively).
    login = call.login()
    start = _date_or_fault(call.text("startDateTime"))
    end = _date_or_fault(call.text("endDateTime"))
    if end < start or (end - start).total_seconds() > MAX_STATISTICS_DAYS * 86400:
        raise PlatformError(
            ERR_INVALID_ARGUMENT, f"Нельзя указывать диапазон дат более {MAX_STATISTICS_DAYS} дней."
        )
    counts = call.platform.statistics(login, start, end)
    return "".join(f"<{name}>{value}</{name}>" for name, value in counts.items())


def _get_incoming_messages(call: _Call) -> str:
    # seed L4154-4224: maxDateUTC and minDateUTC; IncomingMessage{Data, SourceAddress,
    # DestinationAddress, CreatedDateUtc}, no id.
    login = call.login()
    end = _date_or_fault(call.text("maxDateUTC"))
    start = _date_or_fault(call.text("minDateUTC"))
    return "".join(
        "<IncomingMessage>"
        f"<Data>{escape(m.text)}</Data>"
        f"<SourceAddress>{escape(m.source)}</SourceAddress>"
        f"<DestinationAddress>{escape(m.destination)}</DestinationAddress>"
        f"<CreatedDateUtc>{_xsd_date(m.created_wall)}</CreatedDateUtc>"
        "</IncomingMessage>"
        for m in call.platform.incoming_between(login, start, end)
    )


def _viber_send(resend: bool) -> Callable[[_Call], str]:
    # seed L4255-4270, L4345-4362: message{Data, DestinationAddresses{string*}, SourceAddress,
    # Validity (required, L4303), Optional}; up to 1000 messages (L4241).
    def send(call: _Call) -> str:
        login = call.login()
        fields, destinations = _message(
            call, missing="message can not be null", no_destinations="error-address-not-specified"
        )
        validity = _optional_int(fields, "validity")
        if validity is None:
            raise PlatformError(ERR_NULL_ARGUMENT, "error-validity-period-seconds-format")
        ids = call.platform.submit_viber(
            login,
            _optional_text(fields, "sourceaddress"),
            destinations,
            _optional_text(fields, "data"),
            validity,
            resend=resend,
        )
        return "".join(f"<string>{escape(i)}</string>" for i in ids)

    return send


def _viber_message_state(call: _Call) -> str:
    # seed L4476-4499: State as an enum name; ResentSms{ViberSmsMessageStateInfo{Id}*}. The
    # fake gives only the Id, as the example does: the SMS state is for GetMessageState.
    login = call.login()
    view = call.platform.viber_state(login, call.text("messageID"))
    if view is None:
        raise PlatformError(ERR_INVALID_ARGUMENT, "Invalid argument messageID")
    resent = "".join(
        f"<ViberSmsMessageStateInfo><Id>{sms_id}</Id></ViberSmsMessageStateInfo>"
        for sms_id, _ in view.sms
    )
    return (
        f"<State>{VIBER_STATE_NAMES.get(view.state, 'Unknown')}</State>"
        f"<ReportedDateUtc>{_xsd_date(view.changed_wall)}</ReportedDateUtc>"
        f"<ResentSms>{resent}</ResentSms>"
    )


Operations = dict[str, tuple[str, str, Callable[[_Call], str], tuple[int, ...]]]

# lower-cased operation -> (operation name, injection name, handler, versions)
_OPERATIONS: Final[Operations] = {
    "getsessionid": ("GetSessionID", "auth", _get_session_id, (1,)),
    "getbalance": ("GetBalance", "balance", _get_balance, (1, 2)),
    "sendmessage": ("SendMessage", "send", _send_message, (1, 2)),
    "getmessagestate": ("GetMessageState", "state", _get_message_state, (1, 2)),
    "getstatistics": ("GetStatistics", "statistics", _get_statistics, (1, 2)),
    "getincomingmessages": ("GetIncomingMessages", "incoming", _get_incoming_messages, (1, 2)),
}
_VIBER_OPERATIONS: Final[Operations] = {
    "sendmessage": ("SendMessage", "viber_send", _viber_send(resend=False), (1, 2)),
    "sendmessagewithresend": (
        # seed L4408-4414: the result element keeps the name SendMessageResult (spec A33).
        "SendMessageWithResend",
        "viber_send",
        _viber_send(resend=True),
        (1, 2),
    ),
    "getmessagestate": ("GetMessageState", "viber_state", _viber_message_state, (1, 2)),
}
_SERVICES: Final[dict[str, tuple[int, Operations]]] = {
    V1_PATH: (1, _OPERATIONS),
    V2_PATH: (2, _OPERATIONS),
    V1_VIBER_PATH: (1, _VIBER_OPERATIONS),
    V2_VIBER_PATH: (2, _VIBER_OPERATIONS),
}


def build_app(
    platform: DevinoPlatform | None = None,
    *,
    requests_per_second: int | None = REQUESTS_PER_SECOND,
    **options: Any,
) -> web.Application:
    """The fake's application; `options` are `DevinoPlatform`'s keyword arguments."""
    state = platform if platform is not None else DevinoPlatform(**options)
    app = web.Application()
    app[SIM_KEY] = state

    async def dispatch(request: web.Request) -> web.Response:
        service = _SERVICES.get(request.path.lower().rstrip("/"))
        if service is None:
            raise web.HTTPNotFound()
        version, operations = service
        if request.content_type != CONTENT_TYPE:
            raise web.HTTPUnsupportedMediaType()
        body = await request.read()
        try:
            operation, call = _operation(state, version, body, operations)
            label = operation if operations is _OPERATIONS else f"viber_{operation}"
            arrival = state.record("soap", label)
            if requests_per_second is not None and _over_limit(state, arrival, requests_per_second):
                state.rate_limited += 1
                raise _SoapFault("soap:Receiver", _reason("Too many requests"))
            name, injection, handler, _ = operations[operation.lower()]
            try:
                state.take_injected(injection)
                result = handler(call)
            except PlatformError as error:
                raise _SoapFault("soap:Receiver", _reason(error.description)) from None
            if injection == "send":
                await state.hang_if_asked()
        except _SoapFault as fault:
            return _fault(fault)
        result_name = "SendMessage" if injection == "viber_send" else name
        return _answer(
            f'<{name}Response xmlns="{SERVICE_NAMESPACE}">'
            f"<{result_name}Result>{result}</{result_name}Result></{name}Response>",
        )

    async def release(_: web.Application) -> None:
        state.release_hung()

    app.router.add_route("POST", "/{tail:.*}", dispatch)
    app.on_shutdown.append(release)
    return app


def _operation(
    state: DevinoPlatform, version: int, body: bytes, operations: Operations
) -> tuple[str, _Call]:
    """The operation's lower-cased name and its call, or the Sender fault ASMX would give."""
    try:
        root = parse_xml(body)
    except (ET.ParseError, ValueError):
        raise _SoapFault(
            "soap:Sender",
            "Server was unable to read request. ---> There is an error in XML document.",
        ) from None
    if _local(root.tag).lower() != "envelope" or _namespace(root.tag) != SOAP12_NAMESPACE:
        raise _SoapFault("soap:VersionMismatch", "Possible SOAP version mismatch.")
    soap_body = next((c for c in root if _local(c.tag).lower() == "body"), None)
    operation = soap_body[0] if soap_body is not None and len(soap_body) else None
    if operation is None or _namespace(operation.tag) != SERVICE_NAMESPACE:
        raise _SoapFault("soap:Sender", "Unable to handle request without a valid operation.")
    name = _local(operation.tag).lower()
    if name not in operations or version not in operations[name][3]:
        raise _SoapFault(
            "soap:Sender", f"Unable to handle request. Operation '{_local(operation.tag)}' unknown."
        )
    return name, _Call(state, version, operation)


def _over_limit(state: DevinoPlatform, arrival: float, per_second: int) -> bool:
    """More than `per_second` SOAP requests arrived within the last second, this one included."""
    recent = 0
    for request in reversed(state.requests):
        if arrival - request.time >= 1.0:
            break
        if request.api == "soap":
            recent += 1
    return recent > per_second


def _reason(cause: str) -> str:
    return f"Server was unable to process request. ---> {cause}"  # seed L3523-3524


def _fault(fault: _SoapFault) -> web.Response:
    # seed L3516-3527: the `soap` prefix (bound to SOAP 1.2, as ASMX writes it) in a Fault.
    text = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP12_NAMESPACE}"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        "<soap:Body><soap:Fault>"
        f"<soap:Code><soap:Value>{fault.code}</soap:Value></soap:Code>"
        f'<soap:Reason><soap:Text xml:lang="en">{escape(fault.reason)}</soap:Text></soap:Reason>'
        "<soap:Detail /></soap:Fault></soap:Body></soap:Envelope>"
    )
    return web.Response(status=500, text=text, content_type=CONTENT_TYPE, charset="utf-8")


def _answer(body: str) -> web.Response:
    return web.Response(
        text=_ENVELOPE.format(body=body), content_type=CONTENT_TYPE, charset="utf-8"
    )


def _optional_text(fields: dict[str, ET.Element], name: str) -> str:
    element = fields.get(name)
    return (element.text or "").strip() if element is not None else ""


def _optional_int(fields: dict[str, ET.Element], name: str) -> int | None:
    value = _optional_text(fields, name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise PlatformError(ERR_INVALID_ARGUMENT, f"Invalid argument {name}") from None


def _date_or_fault(value: str) -> datetime:
    try:
        return parse_datetime(value)
    except ValueError:
        raise PlatformError(ERR_INVALID_ARGUMENT, f"Invalid date {value}") from None


def _xsd_date(unix_seconds: float | None) -> str:
    if unix_seconds is None:
        return _NO_DATE
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""
