"""Devino Telecom XML API client: Send.ashx and Statistics.ashx.

Source: seed 004_80a28bca441860d4.txt chapter 6 (L3225-3456); spec devino-smpp-http-soap.md §3,
§8 A30, §9.2, §9.4. Credentials travel in the `package` tag of every request (L3239-3240):
there is no session, no balance method and no callback.

Our outbox key goes out as the numeric client `id` of its <msg> (L3292). That is what makes an
in-doubt send resolvable: Statistics.ashx answers by client id as well as by the gateway's
`sms_id` (L3375-3381), so after a lost answer we ask whether the provider has the message.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from enum import Enum
from typing import Final

import structlog

from dispatcher.clock import Clock, SystemClock
from dispatcher.fallback.base import (
    Balance,
    ChannelError,
    OutgoingSms,
    SendOutcome,
    SendResult,
    StatusReport,
)
from dispatcher.fallback.exchange import AnswerLost, HttpExchange, RequestNotSent
from dispatcher.fallback.http import DEFAULT_TIMEOUT_SECONDS, parse_xml
from dispatcher.status import MessageStatus

log = structlog.get_logger(__name__)

# seed 004 L3246-3248, L3252, L3346: the service address and its two handlers.
DEFAULT_BASE_URL: Final = "https://xmlapi.devinotele.com/"
SEND_PATH: Final = "Send.ashx"
STATISTICS_PATH: Final = "Statistics.ashx"
# seed 004 L3350: "Максимальное количество ID в запросе 1000".
MAX_IDS_PER_STATUS_REQUEST: Final = 1000
# seed 004 L3349-3350: statuses can be asked for the last 3 calendar days only; after that the
# router must settle a message without the provider.
STATUS_WINDOW_SECONDS: Final = 3 * 24 * 3600
# The seed gives no limit for Send.ashx; spec §8 A30 mirrors the status limit.
MAX_MESSAGES_PER_SEND: Final = 1000
# seed 004 L3308: type 0 is a normal message (1 flash, 2 wap-push).
MESSAGE_TYPE_NORMAL: Final = "0"
# seed 004 L3236-3237: UTF-8 XML; the content type is not checked, so we send the honest one.
CONTENT_TYPE: Final = "text/xml; charset=utf-8"
# The seed gives no time zone for date_end (L3301-3306); Devino is a Moscow platform, so Moscow
# time is our reading [inferred, spec §8 A40 for the format]. Configurable per sender.
PROVIDER_TIMEZONE: Final = timezone(timedelta(hours=3), "MSK")
DATE_FORMAT: Final = "%Y-%m-%dT%H:%M:%S"  # ISO 8601 with a Latin T (L3295-3297, spec §8 A40)

# Not from the seed: how long the router should leave the channel alone.
NO_MONEY_PAUSE_SECONDS: Final = 300.0
OUTAGE_PAUSE_SECONDS: Final = 30.0

# seed 004 L3411-3418: document-level codes, answered as <package><error>CODE</error></package>.
DOCUMENT_ERRORS: Final[dict[str, str]] = {
    "200": "ERR_UNKNOWN",
    "201": "ERR_FORMAT",
    "202": "ERR_AUTHORIZATION",
}

# seed 004 L3432-3444: message statuses (the text of <msg> in a status answer).
DELIVERY_STATUSES: Final[dict[str, tuple[str, MessageStatus]]] = {
    "100": ("SCHEDULED", MessageStatus.SUBMITTED),
    "101": ("ENROUTE", MessageStatus.SUBMITTED),
    "102": ("DELIVERED", MessageStatus.DELIVERED),
    "103": ("EXPIRED", MessageStatus.EXPIRED),
    "104": ("DELETED", MessageStatus.UNDELIVERABLE),
    "105": ("UNDELIVERABLE", MessageStatus.UNDELIVERABLE),
    "106": ("ACCEPTED", MessageStatus.SUBMITTED),
    "107": ("UNKNOWN", MessageStatus.UNKNOWN),
    "108": ("REJECTED", MessageStatus.REJECTED),
    "109": ("DISCARDED", MessageStatus.REJECTED),
}
# seed 004 L3324, L3393: the examples answer `1`, a value no table defines. Spec §8 A30: in a
# send answer it means accepted, in a status answer "in progress".
IN_PROGRESS: Final = "1"


class Verdict(Enum):
    PERMANENT = "permanent"  # this message can never go through: REJECTED
    RETRYABLE = "retryable"  # this message may be sent again: RETRY
    CHANNEL_STOP = "channel-stop"  # the account cannot send until an operator acts
    CHANNEL_PAUSE = "channel-pause"  # the account cannot send for now (money, limits)


# seed 004 L3446-3456: message-level errors (the text of <msg>), classified per spec §9.4.
MESSAGE_ERRORS: Final[dict[str, tuple[str, Verdict]]] = {
    "200": ("ERR_UNKNOWN", Verdict.RETRYABLE),
    "201": ("ERR_ID", Verdict.PERMANENT),
    "202": ("ERR_SENDER", Verdict.PERMANENT),
    "203": ("ERR_RECIPIENT", Verdict.PERMANENT),
    "204": ("ERR_LENGTH", Verdict.PERMANENT),
    "205": ("ERR_USER_DISABLE", Verdict.CHANNEL_STOP),
    "206": ("ERR_BILLING", Verdict.CHANNEL_PAUSE),
    "207": ("ERR_OVERLIMIT", Verdict.CHANNEL_PAUSE),
}
ERR_ID: Final = "201"

# XML 1.0 cannot carry these characters at all: a body holding one is refused here, alone,
# instead of turning the whole package into ERR_FORMAT.
_NOT_XML_CHAR: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# A client id the provider echoes back unchanged: a positive integer without leading zeros
# that fits a 64-bit column.
_CLIENT_ID: Final = re.compile("[1-9][0-9]{0,17}")


@dataclass(frozen=True, slots=True)
class _Pending:
    index: int  # position in the caller's batch
    sms: OutgoingSms
    client_id: str | None  # the key as the XML `id`, when it can be one


class DevinoXmlSender:
    """`FallbackSender` over the Devino XML API for one account."""

    def __init__(
        self,
        *,
        login: str,
        password: str,
        clock: Clock | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        provider_timezone: tzinfo = PROVIDER_TIMEZONE,
        name: str = "devino-xml",
    ) -> None:
        self.name = name
        self.max_batch = MAX_MESSAGES_PER_SEND
        self.base_url = base_url.rstrip("/") + "/"
        self.provider_timezone = provider_timezone
        self.clock = clock or SystemClock()
        self._login = login
        self._password = password
        self._exchange = HttpExchange(clock=self.clock, timeout_seconds=timeout_seconds)

    def __repr__(self) -> str:
        return f"DevinoXmlSender(name={self.name!r}, base_url={self.base_url!r})"

    async def send_batch(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        if len(messages) > self.max_batch:
            raise ValueError(f"{len(messages)} messages, more than {self.max_batch} per send")
        results: dict[int, SendResult] = {}
        pending: list[_Pending] = []
        for index, sms in enumerate(messages):
            if _NOT_XML_CHAR.search(sms.body + sms.source + sms.destination):
                results[index] = SendResult(
                    sms.key, SendOutcome.REJECTED, text="a character XML cannot carry"
                )
            else:
                pending.append(_Pending(index, sms, _client_id(sms.key)))
        if pending:
            for item, result in zip(pending, await self._send(pending), strict=True):
                results[item.index] = result
        return [results[index] for index in range(len(messages))]

    async def query_status(self, provider_ids: Sequence[str]) -> list[StatusReport]:
        """Statuses by gateway `sms_id`. Ids the provider cannot answer for (unknown, or older
        than `STATUS_WINDOW_SECONDS`) are left out."""
        wanted = [pid for pid in provider_ids if _CLIENT_ID.fullmatch(pid)]
        reports: list[StatusReport] = []
        for chunk in _chunks(wanted, MAX_IDS_PER_STATUS_REQUEST):
            root = await self._statistics("sms_id", chunk)
            asked = set(chunk)
            for answer in root.iterfind("./status/msg"):
                sms_id = answer.get("sms_id", "").strip()
                report = _status_report(sms_id, _code(answer)) if sms_id in asked else None
                if report is not None:
                    reports.append(report)
        return reports

    async def resolve_in_doubt(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        """Ask Statistics.ashx by client id: ACCEPTED if the provider has the message, RETRY if
        it answers ERR_ID (no such id), IN_DOUBT if it cannot be asked or says nothing."""
        client_ids = list(dict.fromkeys(filter(None, (_client_id(m.key) for m in messages))))
        answers: dict[str, ET.Element] = {}
        try:
            for chunk in _chunks(client_ids, MAX_IDS_PER_STATUS_REQUEST):
                root = await self._statistics("id", chunk)
                for answer in root.iterfind("./status/msg"):
                    answers.setdefault(answer.get("id", "").strip(), answer)
        except ChannelError as exc:
            if exc.permanent:
                raise
            return [_in_doubt(sms, str(exc)) for sms in messages]
        results: list[SendResult] = []
        for sms in messages:
            cid = _client_id(sms.key)
            found = answers.get(cid) if cid is not None else None
            if cid is None:
                results.append(_in_doubt(sms, "the key is not a numeric client id"))
            elif found is None:
                results.append(_in_doubt(sms, "the provider said nothing about this id"))
            else:
                results.append(_resolved(sms, found))
        return results

    async def balance(self) -> Balance:
        """The XML API has no balance method (seed 004 L3225-3456 documents send and status
        only); read it through the Devino REST API (User/Balance) of the same account."""
        raise NotImplementedError("the Devino XML API has no balance method")

    async def close(self) -> None:
        await self._exchange.close()

    async def _send(self, pending: list[_Pending]) -> list[SendResult]:
        package = self._package("message")
        for item in pending:
            attributes = {
                "recipient": item.sms.destination,
                "sender": item.sms.source,
                "type": MESSAGE_TYPE_NORMAL,
            }
            if item.client_id is not None:
                attributes["id"] = item.client_id
            if item.sms.validity_seconds is not None:
                attributes["date_end"] = self._date_after(item.sms.validity_seconds)
            ET.SubElement(package[0], "msg", attributes).text = item.sms.body
        try:
            root = await self._post(SEND_PATH, package)
        except AnswerLost as exc:
            log.warning("devino_xml.send_in_doubt", reason=str(exc), messages=len(pending))
            return [_in_doubt(item.sms, str(exc)) for item in pending]
        document_code = _document_error(root)
        if document_code is not None:
            return _refused_package(document_code, pending)
        answers = _pair(pending, list(root.iterfind("./message/msg")))
        results, channel_errors = [], []
        for item, answer in zip(pending, answers, strict=True):
            result, channel_error = _send_result(item, answer)
            results.append(result)
            if channel_error is not None:
                channel_errors.append(channel_error)
        in_flight = (SendOutcome.ACCEPTED, SendOutcome.IN_DOUBT)
        if channel_errors and not any(r.outcome in in_flight for r in results):
            # Nothing went out and the account itself is the reason: pause the channel.
            raise max(channel_errors, key=lambda error: error.permanent)
        return results

    async def _statistics(self, attribute: str, ids: Sequence[str]) -> ET.Element:
        """One Statistics.ashx request; every failure is a `ChannelError`."""
        package = self._package("status")
        for value in ids:
            ET.SubElement(package[0], "msg", {attribute: value})
        try:
            root = await self._post(STATISTICS_PATH, package)
        except AnswerLost as exc:
            raise ChannelError(
                f"devino-xml status query failed: {exc}", retry_after=OUTAGE_PAUSE_SECONDS
            ) from None
        document_code = _document_error(root)
        if document_code is not None:
            raise _document_channel_error(document_code)
        return root

    async def _post(self, path: str, package: ET.Element) -> ET.Element:
        """POST a package; its parsed answer. Raises `ChannelError` when the request never left
        and `AnswerLost` when it went out without a readable answer."""
        body = ET.tostring(package, encoding="utf-8", xml_declaration=True)
        try:
            answer = await self._exchange.post(self.base_url + path, body, CONTENT_TYPE)
        except RequestNotSent as exc:
            raise ChannelError(
                f"devino-xml unreachable: {exc}", retry_after=OUTAGE_PAUSE_SECONDS
            ) from None
        try:
            return parse_xml(answer)
        except (ET.ParseError, ValueError) as exc:  # defusedxml's refusals are ValueErrors
            raise AnswerLost(f"{self.base_url}{path}: unreadable answer ({exc})") from None

    def _package(self, section: str) -> ET.Element:
        # seed 004 L3239-3240, L3259: credentials are attributes of <package>, in every request.
        package = ET.Element("package", {"login": self._login, "password": self._password})
        ET.SubElement(package, section)
        return package

    def _date_after(self, seconds: int) -> str:
        moment = datetime.fromtimestamp(self.clock.wall() + seconds, tz=self.provider_timezone)
        return moment.strftime(DATE_FORMAT)


def _client_id(key: str) -> str | None:
    return key if _CLIENT_ID.fullmatch(key) else None


def _code(answer: ET.Element) -> str:
    return (answer.text or "").strip()


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _document_error(root: ET.Element) -> str | None:
    error = root.find("error")
    return None if error is None else _code(error)


def _document_channel_error(code: str) -> ChannelError:
    name = DOCUMENT_ERRORS.get(code, "undocumented")
    if code == "202":
        return ChannelError(
            f"devino-xml refused the credentials ({name} {code})", code=code, permanent=True
        )
    if code == "201":
        # Our documents are built by one serializer from checked text: a format refusal is a
        # client bug, and an operator must look before anything else is sent this way.
        return ChannelError(
            f"devino-xml refused the document format ({name} {code})", code=code, permanent=True
        )
    return ChannelError(
        f"devino-xml document error ({name} {code})", code=code, retry_after=OUTAGE_PAUSE_SECONDS
    )


def _refused_package(code: str, pending: list[_Pending]) -> list[SendResult]:
    """A document-level error replaces the answer: nothing of the package was taken. ERR_FORMAT
    and ERR_AUTHORIZATION stop the channel (raised); anything else is RETRY for each message."""
    if code in ("201", "202"):
        raise _document_channel_error(code)
    name = DOCUMENT_ERRORS.get(code, "undocumented")
    return [SendResult(i.sms.key, SendOutcome.RETRY, code=code, text=name) for i in pending]


def _pair(pending: list[_Pending], answers: list[ET.Element]) -> list[ET.Element | None]:
    """The answer of each message: by position when the answer lines up with the request (the
    seed's example answers in request order, L3319-3327), else by client id."""
    if len(answers) == len(pending) and all(
        answer.get("id") in (None, item.client_id)
        for item, answer in zip(pending, answers, strict=True)
    ):
        return list(answers)
    by_id = {answer.get("id"): answer for answer in answers if answer.get("id")}
    return [by_id.get(item.client_id) if item.client_id else None for item in pending]


def _send_result(
    item: _Pending, answer: ET.Element | None
) -> tuple[SendResult, ChannelError | None]:
    key = item.sms.key
    if answer is None:
        return _in_doubt(item.sms, "no result for this message in the answer"), None
    code = _code(answer)
    if code in MESSAGE_ERRORS:
        return _error_result(key, code)
    sms_id = answer.get("sms_id", "").strip()
    if _CLIENT_ID.fullmatch(sms_id):
        text = DELIVERY_STATUSES[code][0] if code in DELIVERY_STATUSES else None
        return SendResult(key, SendOutcome.ACCEPTED, (sms_id,), code=code, text=text), None
    return _in_doubt(item.sms, f"answer {code!r} without an sms_id"), None


def _error_result(key: str, code: str) -> tuple[SendResult, ChannelError | None]:
    name, verdict = MESSAGE_ERRORS[code]
    if verdict is Verdict.PERMANENT:
        return SendResult(key, SendOutcome.REJECTED, code=code, text=name), None
    result = SendResult(key, SendOutcome.RETRY, code=code, text=name)
    if verdict is Verdict.RETRYABLE:
        return result, None
    stop = verdict is Verdict.CHANNEL_STOP
    return result, ChannelError(
        f"devino-xml account cannot send ({name} {code})",
        code=code,
        permanent=stop,
        retry_after=None if stop else NO_MONEY_PAUSE_SECONDS,
    )


def _resolved(sms: OutgoingSms, answer: ET.Element) -> SendResult:
    code = _code(answer)
    if code == ERR_ID:
        return SendResult(
            sms.key, SendOutcome.RETRY, code=code, text="the provider has no message with this id"
        )
    if code in MESSAGE_ERRORS:
        return _error_result(sms.key, code)[0]
    if code in DELIVERY_STATUSES or code == IN_PROGRESS:
        sms_id = answer.get("sms_id", "").strip()
        ids = (sms_id,) if _CLIENT_ID.fullmatch(sms_id) else ()
        text = DELIVERY_STATUSES[code][0] if code in DELIVERY_STATUSES else None
        return SendResult(sms.key, SendOutcome.ACCEPTED, ids, code=code, text=text)
    return _in_doubt(sms, f"undocumented answer {code!r}")


def _status_report(sms_id: str, code: str) -> StatusReport | None:
    if code in DELIVERY_STATUSES:
        name, status = DELIVERY_STATUSES[code]
        return StatusReport(sms_id, status, code=code, text=name)
    if code == IN_PROGRESS:
        return StatusReport(sms_id, MessageStatus.SUBMITTED, code=code)
    if code in MESSAGE_ERRORS:
        # ERR_ID and friends: the provider does not (or no longer) answer for this id.
        return None
    log.warning("devino_xml.undocumented_status", code=code)
    return StatusReport(sms_id, MessageStatus.UNKNOWN, code=code, text="undocumented status")


def _in_doubt(sms: OutgoingSms, reason: str) -> SendResult:
    return SendResult(sms.key, SendOutcome.IN_DOUBT, text=reason)
