"""Devino Viber HTTP API client (viber.devinotele.com:444, seed 004 chapter 12, L6081-6940):
`/send` with an optional SMS re-send, and `/status` for both legs.

Everything is an HTTP POST of a JSON document with HTTP Basic authentication (seed L6096-6107).
`/send` takes at most 100 messages (L6099); `resendSms` is one flag for the whole request
(L6158, L6199-6207), so messages with and without a re-send travel in separate requests. The
answer lists one result per message, in order (spec ch. 12 [Inference]); a message is
accepted when its `code` is `ok`, and its `providerId` (a 64-bit integer, kept exact) is the
key for `/status` and for the status callbacks (`devino_incoming`).

Failure semantics follow `devino_batch`: a request that never reached the provider is RETRY,
one that got no usable answer is IN_DOUBT (this API has no client id to look a message up by,
spec §9.2), and after either the rest of the batch is not sent. A request-level format error
(`error-syntax`, `error-instant-message-*`) names no message, so the request is repeated one
message at a time to find the one at fault.

Seed references are lines of `seeds/004_80a28bca441860d4.txt`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any, Final

import aiohttp
import structlog

from dispatcher.clock import Clock, SystemClock
from dispatcher.fallback.base import ChannelError, SendOutcome, SendResult
from dispatcher.fallback.devino_auth import DevinoCredentials
from dispatcher.fallback.devino_batch import (
    UNREACHABLE_RETRY_SECONDS,
    BatchRun,
    RequestInDoubt,
    RequestNotSent,
    unreachable,
)
from dispatcher.fallback.devino_codes import ErrorAction
from dispatcher.fallback.devino_viber_codes import (
    API_REQUEST_STATUSES,
    API_SMS_STATES,
    API_VIBER_STATES,
    MESSAGE_CODES,
    OK,
    common_problem,
    id_text,
    message_code_action,
)
from dispatcher.fallback.http import DEFAULT_TIMEOUT_SECONDS, new_session
from dispatcher.fallback.lenient_json import loads_lenient
from dispatcher.fallback.viber import (
    LegStatus,
    OutgoingViber,
    ViberReport,
    sms_leg,
    viber_report,
)
from dispatcher.status import MessageStatus

log = structlog.get_logger(__name__)

DEFAULT_BASE_URL: Final = "https://viber.devinotele.com:444"  # seed L6111
CONTENT_TYPE: Final = "application/json; charset=utf-8"  # seed L6096-6097: JSON, UTF-8
MAX_MESSAGES_PER_REQUEST: Final = 100  # seed L6099
MAX_STATUS_IDS_PER_REQUEST: Final = 100  # seed L6503
# seed L6503-6504: statuses can be asked for 5 days after sending.
STATUS_WINDOW_SECONDS: Final = 5 * 86400
# seed L6232-6235: validityPeriodSec 30..86400; L6290: smsValidityPeriodSec 60..86400.
VALIDITY_RANGE_SECONDS: Final = (30, 86400)
SMS_VALIDITY_RANGE_SECONDS: Final = (60, 86400)
# The seed's examples use 3600 s (L6164); a required field, so a default is always sent.
DEFAULT_VALIDITY_SECONDS: Final = 3600
# seed L6219-6228: transactional traffic should be "high"; the others are allowed.
PRIORITIES: Final = ("low", "normal", "high", "realtime")
DEFAULT_PRIORITY: Final = "high"
CHANNEL_TYPE: Final = "viber"  # seed L6238-6243: the only `type`


class DevinoViberSender:
    """One account on the Viber HTTP API; implements `ViberSender`."""

    max_viber_batch = MAX_MESSAGES_PER_REQUEST

    def __init__(
        self,
        credentials: DevinoCredentials,
        *,
        name: str = "devino_viber",
        base_url: str = DEFAULT_BASE_URL,
        clock: Clock | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        priority: str = DEFAULT_PRIORITY,
    ) -> None:
        if priority not in PRIORITIES:
            raise ValueError(f"Viber priority must be one of {', '.join(PRIORITIES)}")
        self.name = name
        self._credentials = credentials
        self._base_url = base_url.rstrip("/")
        self._clock = clock or SystemClock()
        self._timeout_seconds = timeout_seconds
        self._priority = priority
        self._http: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"DevinoViberSender(name={self.name!r})"

    async def send_viber(self, messages: Sequence[OutgoingViber]) -> list[SendResult]:
        run = BatchRun(messages)
        groups: dict[bool, list[int]] = {}
        for index, message in enumerate(messages):
            problem = common_problem(message)
            if problem is not None:
                run.set(index, SendOutcome.REJECTED, text=problem)
            else:
                groups.setdefault(message.resend is not None, []).append(index)
        for resend, indices in groups.items():
            step = MAX_MESSAGES_PER_REQUEST
            for start in range(0, len(indices), step):
                await self._send_chunk(run, indices[start : start + step], resend)
        return run.finish()

    async def viber_status(
        self, provider_ids: Sequence[str], *, resend: bool = False
    ) -> list[ViberReport]:
        """`/status` in requests of at most 100 ids (seed L6498-6567). Ids the provider does
        not answer for (unknown, older than 5 days, or a failed request) are left out."""
        numeric: list[int] = []
        for provider_id in provider_ids:
            try:
                numeric.append(int(provider_id))
            except ValueError:
                log.warning("viber_status_bad_id", provider=self.name, provider_id=provider_id)
        reports: list[ViberReport] = []
        for start in range(0, len(numeric), MAX_STATUS_IDS_PER_REQUEST):
            chunk = numeric[start : start + MAX_STATUS_IDS_PER_REQUEST]
            try:
                answer = await self._post("status", {"messages": chunk})
            except (RequestNotSent, RequestInDoubt) as error:
                log.warning("viber_status_unanswered", provider=self.name, reason=str(error))
                continue
            status = _text(answer.get("status"))
            if status != OK:
                if API_REQUEST_STATUSES.get(status) is ErrorAction.STOP_CHANNEL:
                    raise ChannelError(f"{self.name}: {status}", code=status, permanent=True)
                log.warning("viber_status_refused", provider=self.name, status=status)
                continue
            for entry in _entries(answer.get("messages")):
                report = self._report(entry, resend=resend)
                if report is not None:
                    reports.append(report)
        return reports

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    # --- sending ------------------------------------------------------------------------------

    async def _send_chunk(
        self, run: BatchRun[OutgoingViber], chunk: list[int], resend: bool
    ) -> None:
        if run.halted:
            for index in chunk:
                run.set(index, SendOutcome.RETRY, text="not sent: the channel failed earlier")
            return
        document = {
            "resendSms": resend,  # spec ch. 12 ambiguity 2: a JSON boolean
            "messages": [self._message(run.messages[i]) for i in chunk],
        }
        try:
            answer = await self._post("send", document)
        except RequestNotSent as error:
            run.halt(unreachable(self.name, str(error)))
            for index in chunk:
                run.set(index, SendOutcome.RETRY, text=f"not sent: {error}")
            return
        except RequestInDoubt as error:
            run.halt(None)
            log.warning("viber_send_in_doubt", provider=self.name, messages=len(chunk))
            for index in chunk:
                run.set(index, SendOutcome.IN_DOUBT, text=str(error))
            return
        status = _text(answer.get("status"))
        if status != OK:
            await self._refused(run, chunk, resend, status)
            return
        entries = _entries(answer.get("messages"))
        if len(entries) != len(chunk):
            run.halt(None)
            text = f"answer lists {len(entries)} results for {len(chunk)} messages"
            for index in chunk:
                run.set(index, SendOutcome.IN_DOUBT, text=text)
            return
        for index, entry in zip(chunk, entries, strict=True):
            self._apply(run, index, entry)

    async def _refused(
        self, run: BatchRun[OutgoingViber], chunk: list[int], resend: bool, status: str
    ) -> None:
        action = API_REQUEST_STATUSES.get(status)
        if action is None:
            log.warning("viber_undocumented_status", provider=self.name, status=status)
            action = ErrorAction.RETRY
        if action is ErrorAction.REJECT and len(chunk) > 1:
            for index in chunk:  # find the message at fault
                await self._send_chunk(run, [index], resend)
            return
        if action is ErrorAction.REJECT:
            run.set(chunk[0], SendOutcome.REJECTED, code=status)
            return
        if action is ErrorAction.STOP_CHANNEL:
            run.halt(ChannelError(f"{self.name}: {status}", code=status, permanent=True))
        else:
            run.halt(
                ChannelError(
                    f"{self.name}: {status}", code=status, retry_after=UNREACHABLE_RETRY_SECONDS
                )
            )
        for index in chunk:
            run.set(index, SendOutcome.RETRY, code=status)

    def _apply(self, run: BatchRun[OutgoingViber], index: int, entry: dict[str, Any]) -> None:
        code = _text(entry.get("code"))
        if code == OK:
            provider_id = id_text(entry.get("providerid"))
            if provider_id is None:
                run.set(index, SendOutcome.ACCEPTED, code=code, text="accepted without an id")
            else:
                run.set(index, SendOutcome.ACCEPTED, provider_ids=(provider_id,), code=code)
            return
        if code not in MESSAGE_CODES:
            # spec http-providers §4.5: an unknown code is a refusal with its words kept.
            log.warning("viber_undocumented_code", provider=self.name, code=code)
            run.set(index, SendOutcome.REJECTED, code=code or None)
            return
        outcome = (
            SendOutcome.RETRY
            if message_code_action(code) is ErrorAction.RETRY
            else SendOutcome.REJECTED
        )
        run.set(index, outcome, code=code, text=MESSAGE_CODES[code])

    def _message(self, message: OutgoingViber) -> dict[str, Any]:
        # seed L6157-6181 and the field table L6183-6296, in the example's order.
        low, high = VALIDITY_RANGE_SECONDS
        validity = message.validity_seconds or DEFAULT_VALIDITY_SECONDS
        fields: dict[str, Any] = {
            "subject": message.source,
            "priority": self._priority,
            "validityPeriodSec": min(high, max(low, validity)),
            "type": CHANNEL_TYPE,
        }
        if message.image_url is not None:  # seed L6412-6442
            fields["contentType"] = "image"
            fields["content"] = {"imageUrl": message.image_url}
        elif message.button is not None:  # seed L6352-6410
            fields["contentType"] = "button"
            content = {
                "text": message.body,
                "caption": message.button.caption,
                "action": message.button.action,
            }
            if message.button.image_url is not None:
                content["imageUrl"] = message.button.image_url
            fields["content"] = content
        else:
            fields["contentType"] = "text"
            fields["content"] = {"text": message.body}
        fields["address"] = message.destination.removeprefix("+")
        if message.resend is not None:
            # spec ch. 12 ambiguity 1: the sms* fields exactly when resendSms is true.
            fields["smsText"] = message.sms_text
            fields["smsSrcAddress"] = message.sms_source
            if message.resend.validity_seconds is not None:
                sms_low, sms_high = SMS_VALIDITY_RANGE_SECONDS
                fields["smsValidityPeriodSec"] = min(
                    sms_high, max(sms_low, message.resend.validity_seconds)
                )
        return fields

    # --- status -------------------------------------------------------------------------------

    def _report(self, entry: dict[str, Any], *, resend: bool) -> ViberReport | None:
        provider_id = id_text(entry.get("providerid"))
        code = _text(entry.get("code"))
        if provider_id is None or code != OK:
            log.warning("viber_status_not_answered", provider=self.name, code=code)
            return None
        raw = _text(entry.get("status"))
        error_code = entry.get("errorcode")
        text = error_code if isinstance(error_code, str) and error_code else None
        if not raw:
            # seed L6524-6541: a re-sent message may carry only its SMS states.
            viber = LegStatus(MessageStatus.SUBMITTED, None, text)
        else:
            status = API_VIBER_STATES.get(raw)
            if status is None:
                log.warning("viber_undocumented_state", provider=self.name, state=raw)
                status = MessageStatus.UNKNOWN
            viber = LegStatus(status, raw, text)
        segments = []
        for state in _entries(entry.get("smsstates")):
            # spec ch. 12 ambiguity 3: `state` in one example, `status` in the table.
            segment_raw = _text(state.get("status")) or _text(state.get("state"))
            segment_status = API_SMS_STATES.get(segment_raw, MessageStatus.UNKNOWN)
            segments.append((id_text(state.get("id")) or "", segment_status, segment_raw or None))
        sms = sms_leg(segments) if segments else None
        return viber_report(provider_id, viber, sms, resend=resend)

    # --- HTTP ---------------------------------------------------------------------------------

    async def _post(self, path: str, document: dict[str, Any]) -> dict[str, Any]:
        """One POST; the answer object with lower-cased keys (spec ch. 12 ambiguity 5)."""
        data = json.dumps(document, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": CONTENT_TYPE, "Authorization": self._authorization()}
        try:
            async with self._session().post(
                f"{self._base_url}/{path}", data=data, headers=headers
            ) as response:
                status, body = response.status, await response.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as error:
            raise RequestNotSent(f"cannot connect ({type(error).__name__})") from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RequestInDoubt(f"no answer ({type(error).__name__})") from None
        try:
            answer = loads_lenient(body.decode("utf-8", errors="replace"))
        except ValueError:
            if status == 401:  # a refusal before the API answered: the credentials
                return {"status": "error-auth"}
            raise RequestInDoubt(f"unreadable answer (HTTP {status})") from None
        if not isinstance(answer, dict):
            raise RequestInDoubt(f"unexpected answer (HTTP {status})")
        return _lower_keys(answer)

    def _authorization(self) -> str:
        # seed L6101-6107: "login:password" in base64, e.g. "Basic dGVzdGVyOjExMTExMQ==".
        pair = f"{self._credentials.login}:{self._credentials.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = new_session(self._clock.real_seconds(self._timeout_seconds))
        return self._http


def _lower_keys(document: dict[str, Any]) -> dict[str, Any]:
    return {str(key).lower(): value for key, value in document.items()}


def _entries(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [_lower_keys(item) for item in value if isinstance(item, dict)]


def _text(value: Any) -> str:
    return value.strip().lower() if isinstance(value, str) else ""
