"""Devino REST HTTP API clients (integrationapi.net): v1 with a SessionID (seed chapter 1,
L23-1468) and v2 with Login/Password on every call (chapter 2, L1469-2863).

Sends use `Sms/SendBulk` for messages that share sender, text and validity (at most 2999
recipients per request) and `Sms/Send` for the others; status is `Sms/State` per segment id.
Batch semantics, error handling and in-doubt sends are described in `devino_batch`.

Viber goes through `Viber/Send`, `Viber/SendBulk`, `Viber/SendWithResend` and
`Viber/SendWithResendBulk` (R10-R13), its status through `Viber/State` (R14); see
`devino_viber_batch`. Incoming SMS are pulled with `Sms/In` (R8). `call_api` lends the
account's authentication to the other services of the same REST API (HLR, `devino_hlr`).

Parameters of POST requests travel as a form body (spec A13: the seed shows them in the URL,
which would put v2 passwords into every access log on the way). GET requests (state, balance,
statistics) carry them in the query string, as documented.

Seed references are lines of `seeds/004_80a28bca441860d4.txt`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from yarl import URL

from dispatcher.clock import Clock
from dispatcher.fallback.base import Balance, ChannelError
from dispatcher.fallback.devino_auth import DevinoCredentials, redact
from dispatcher.fallback.devino_base import DevinoSenderBase
from dispatcher.fallback.devino_batch import DevinoApiError, RequestInDoubt, RequestNotSent
from dispatcher.fallback.devino_codes import (
    DevinoStatistics,
    ErrorAction,
    check_statistics_range,
    classify_rest_error,
    decode_sms_state,
    format_datetime,
)
from dispatcher.fallback.devino_incoming import (
    InboundMessage,
    check_pull_period,
    parse_rest_incoming,
)
from dispatcher.fallback.devino_viber_batch import SmsSegments, viber_validity
from dispatcher.fallback.devino_viber_codes import viber_leg
from dispatcher.fallback.http import DEFAULT_TIMEOUT_SECONDS
from dispatcher.fallback.lenient_json import loads_lenient
from dispatcher.fallback.viber import LegStatus
from dispatcher.status import MessageStatus

DEFAULT_V1_BASE_URL = "https://integrationapi.net/rest"  # seed L72
DEFAULT_V2_BASE_URL = "https://integrationapi.net/rest/v2"  # seed L1516
# seed L1833-1836 (v2 SendBulk): at most 2999 recipients; assumed for v1 too (spec A22).
BULK_MAX_RECIPIENTS = 2999
# Requests in flight at once per sender; the seed states no limit for REST (our choice).
DEFAULT_CONCURRENCY = 4
# The seed states no recipient limit for Viber/SendBulk; SOAP's Viber send takes up to 1000
# (seed L4241), which is taken here too (our choice).
VIBER_BULK_MAX_RECIPIENTS = 1000

# seed L88-89: parameters are application/x-www-form-urlencoded, UTF-8 (L76).
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
# spec §2.3 / A10: the seed shows the error body as pseudo-JSON with unquoted keys.
_LENIENT_CODE = re.compile(r'"?Code"?\s*:\s*(-?\d+)', re.IGNORECASE)
_LENIENT_DESC = re.compile(r'"?Desc"?\s*:\s*"((?:[^"\\]|\\.)*)"', re.IGNORECASE | re.DOTALL)

Params = list[tuple[str, str]]


class _DevinoRestSender(DevinoSenderBase):
    """The REST wire format; v1 and v2 differ only in how a request is authenticated."""

    def __init__(
        self,
        credentials: DevinoCredentials,
        *,
        name: str,
        base_url: str,
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
            max_recipients=BULK_MAX_RECIPIENTS,
            max_viber_recipients=VIBER_BULK_MAX_RECIPIENTS,
            login=self._login if with_session else None,
        )
        self._base_url = base_url.rstrip("/")

    async def balance(self) -> Balance:
        """`User/Balance` (seed L149-200, L1522-1566): a bare JSON number, currency unstated."""
        answer = await self._channel_call(lambda: self._request("GET", "User/Balance", []))
        amount = _number(answer)
        if amount is None:
            raise ChannelError(f"{self.name}: unreadable balance answer")
        return Balance(amount=amount)

    async def statistics(self, start: datetime, end: datetime) -> DevinoStatistics:
        """`Sms/Statistics` for a period of at most 90 days (seed L869-945)."""
        check_statistics_range(start, end)
        params = [("startDateTime", format_datetime(start)), ("endDateTime", format_datetime(end))]
        answer = await self._channel_call(lambda: self._request("GET", "Sms/Statistics", params))
        if not isinstance(answer, dict):
            raise ChannelError(f"{self.name}: unreadable statistics answer")
        return _statistics(answer)

    async def incoming(self, start: datetime, end: datetime) -> list[InboundMessage]:
        """`Sms/In` for [start, end] (seed L778-867); both dates are always sent (spec ch. 11
        ambiguity 1: the server's signature needs both)."""
        check_pull_period(start, end, now=datetime.fromtimestamp(self._clock.wall(), UTC))
        params = [("minDateUTC", format_datetime(start)), ("maxDateUTC", format_datetime(end))]
        answer = await self._channel_call(lambda: self._request("GET", "Sms/In", params))
        try:
            return parse_rest_incoming(answer)
        except ValueError:
            raise ChannelError(f"{self.name}: unreadable incoming answer") from None

    async def call_api(self, method: str, resource: str, params: Params) -> Any:
        """One authenticated request to another resource of this REST API (e.g. `Hlr/State`);
        the decoded answer. Raises `DevinoApiError`, `RequestNotSent` or `RequestInDoubt`."""
        return await self._request(method, resource, params)

    async def _send_same_text(
        self, source: str, destinations: list[str], body: str, validity: int | None
    ) -> list[str]:
        # seed L204-322 (Sms/Send) and L441-556 (Sms/SendBulk, repeated DestinationAddresses).
        params = [("SourceAddress", source)]
        if len(destinations) == 1:
            resource = "Sms/Send"
            params.append(("DestinationAddress", destinations[0]))
        else:
            resource = "Sms/SendBulk"
            params.extend(("DestinationAddresses", d) for d in destinations)
        params.append(("Data", body))
        if validity is not None:
            params.append(("Validity", str(validity)))
        answer = await self._request("POST", resource, params)
        if not isinstance(answer, list) or not all(isinstance(i, str | int) for i in answer):
            raise RequestInDoubt("unreadable answer to a send")
        return [str(i) for i in answer]

    async def _fetch_state(self, provider_id: str) -> tuple[int, str | None]:
        # seed L719-739: one message or segment per request.
        answer = await self._request("GET", "Sms/State", [("messageId", provider_id)])
        if not isinstance(answer, dict):
            raise RequestInDoubt("unreadable state answer")
        state = _integer(answer.get("State"))
        if state is None:
            raise RequestInDoubt("state answer without a State")
        description = answer.get("StateDescription")
        return state, description if isinstance(description, str) else None

    async def _send_viber_text(
        self,
        source: str,
        destinations: list[str],
        body: str,
        validity: int | None,
        resend: bool,
    ) -> list[str]:
        # seed L952-1303: R10-R13; one DestinationAddress or repeated DestinationAddresses.
        resource = "Viber/SendWithResend" if resend else "Viber/Send"
        params = [("SourceAddress", source)]
        if len(destinations) == 1:
            params.append(("DestinationAddress", destinations[0]))
        else:
            resource += "Bulk"
            params.extend(("DestinationAddresses", d) for d in destinations)
        params += [("Data", body), ("Validity", str(viber_validity(validity)))]
        answer = await self._request("POST", resource, params)
        if not isinstance(answer, list) or not all(isinstance(i, str | int) for i in answer):
            raise RequestInDoubt("unreadable answer to a Viber send")
        return [str(i) for i in answer]

    async def _fetch_viber_state(self, provider_id: str) -> tuple[LegStatus, SmsSegments]:
        # seed L1305-1380: State (Viber table L1416-1427), StateDescription, and ResentSms,
        # each with an SMS State (table L1399-1414) and its Id.
        answer = await self._request("GET", "Viber/State", [("messageId", provider_id)])
        if not isinstance(answer, dict):
            raise RequestInDoubt("unreadable Viber state answer")
        fields = {str(k).lower(): v for k, v in answer.items()}
        state = _integer(fields.get("state"))
        if state is None:
            raise RequestInDoubt("Viber state answer without a State")
        described = fields.get("statedescription")
        viber = viber_leg(state, described if isinstance(described, str) else None)
        segments: SmsSegments = []
        resent = fields.get("resentsms")
        for item in resent if isinstance(resent, list) else []:
            if not isinstance(item, dict):
                continue
            sms = {str(k).lower(): v for k, v in item.items()}
            code = _integer(sms.get("state"))
            status = decode_sms_state(code) if code is not None else MessageStatus.SUBMITTED
            segments.append((str(sms.get("id", "")), status, None if code is None else str(code)))
        return viber, segments

    async def _login(self) -> str:
        # seed L85: GET user/sessionid with the login and password; the answer is a quoted
        # string (L117-119, L128).
        params = [("Login", self._credentials.login), ("Password", self._credentials.password)]
        answer = await self._login_exchange(lambda: self._exchange("GET", "user/sessionid", params))
        if not isinstance(answer, str) or not answer:
            raise RequestNotSent("login answer holds no session id")
        return answer

    async def _request(self, method: str, resource: str, params: Params) -> Any:
        async def call(session_id: str | None) -> Any:
            return await self._exchange(method, resource, self._auth_params(session_id) + params)

        return await self._authenticated(call)

    def _auth_params(self, session_id: str | None) -> Params:
        if session_id is not None:
            return [("SessionID", session_id)]
        return [("Login", self._credentials.login), ("Password", self._credentials.password)]

    async def _exchange(self, method: str, resource: str, params: Params) -> Any:
        """One request and its decoded JSON answer. Values are always percent-encoded: `+` in
        segment ids must travel as %2B (spec A26)."""
        encoded = urlencode(params)
        url = f"{self._base_url}/{resource}"
        if method == "GET":
            status, body = await self._http_request(
                "GET", URL(f"{url}?{encoded}", encoded=True), data=None, content_type=None
            )
        else:
            status, body = await self._http_request(
                "POST", url, data=encoded.encode(), content_type=FORM_CONTENT_TYPE
            )
        return self._decode(status, body)

    def _decode(self, status: int, body: bytes) -> Any:
        text = body.decode("utf-8", errors="replace")
        if status == 200:
            try:
                # spec §2.3, A10: the seed prints answers that are not valid JSON.
                return loads_lenient(text)
            except ValueError:
                # seed L117-118: the session id comes "as a string in quotes (not as JSON)".
                quoted = text.strip()
                if len(quoted) > 2 and quoted[0] == quoted[-1] == '"':
                    return quoted[1:-1]
                raise RequestInDoubt("unreadable answer (HTTP 200)") from None
        code, description = _error_fields(text)
        if code is None:
            if status >= 500:
                raise RequestInDoubt(f"HTTP {status} without a Devino error")
            raise DevinoApiError(ErrorAction.RETRY, f"http-{status}", "no Devino error body")
        description = redact(description, self._secrets())
        action = classify_rest_error(code, description, has_session=self.has_session)
        raise DevinoApiError(action, str(code), description)


class DevinoRestV1Sender(_DevinoRestSender):
    """REST v1: a SessionID from `user/sessionid` (seed L80-147), cached for 120 min."""

    def __init__(
        self,
        credentials: DevinoCredentials,
        *,
        name: str = "devino_rest_v1",
        base_url: str = DEFAULT_V1_BASE_URL,
        clock: Clock | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        super().__init__(
            credentials,
            name=name,
            base_url=base_url,
            clock=clock,
            timeout_seconds=timeout_seconds,
            concurrency=concurrency,
            with_session=True,
        )


class DevinoRestV2Sender(_DevinoRestSender):
    """REST v2: Login and Password on every request (seed L1469-1520), no session."""

    def __init__(
        self,
        credentials: DevinoCredentials,
        *,
        name: str = "devino_rest_v2",
        base_url: str = DEFAULT_V2_BASE_URL,
        clock: Clock | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        super().__init__(
            credentials,
            name=name,
            base_url=base_url,
            clock=clock,
            timeout_seconds=timeout_seconds,
            concurrency=concurrency,
            with_session=False,
        )


def _error_fields(text: str) -> tuple[int | None, str]:
    """`Code` and `Desc` of an error body: strict JSON first, then the seed's pseudo-JSON."""
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        fields = {str(k).lower(): v for k, v in parsed.items()}
        description = fields.get("desc")
        return _integer(fields.get("code")), description if isinstance(description, str) else ""
    code_match, desc_match = _LENIENT_CODE.search(text), _LENIENT_DESC.search(text)
    code = int(code_match.group(1)) if code_match else None
    return code, desc_match.group(1) if desc_match else ""


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _statistics(answer: dict[str, Any]) -> DevinoStatistics:
    # seed L918-930: Sent, Delivered, Errors, InProcess, Expired, Rejected, Total,
    # TotalWithErrors, DeliveryRatio.
    def count(name: str) -> int:
        return _integer(answer.get(name)) or 0

    return DevinoStatistics(
        sent=count("Sent"),
        delivered=count("Delivered"),
        errors=count("Errors"),
        in_process=count("InProcess"),
        expired=count("Expired"),
        rejected=count("Rejected"),
        total=_integer(answer.get("Total")),
        total_with_errors=_integer(answer.get("TotalWithErrors")),
        delivery_ratio=_number(answer.get("DeliveryRatio")),
    )
