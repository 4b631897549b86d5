"""Webcom JSON API client (my3.webcom.mobi): send, state.php, balance.php, status callbacks.

Source: seed 002_c40e90e0fb817807.txt and spec http-providers.md §2 and §4. The API has no
session: the login and password (or a token) travel in every JSON body (002 L53-64).

Each phone carries our key as its `client_id_sms`, and "if an SMS with this number was already
sent from this account, it is not sent again; the number of the earlier SMS is returned"
(002 L173-175). So a send whose answer was lost is simply sent again: `resolve_in_doubt` says
RETRY, and the repeat returns the ids of what the first one took.

Statuses come two ways: polled one id at a time (state.php, 002 L204-259), or POSTed by the
provider to our URL (002 L261-298), where our answer must echo every `id_sms` we took, or the
provider tries that status again (5 attempts). `parse_status_callback` and
`status_callback_handler` do that side; the daemon mounts the handler in its HTTP server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Final, TypeGuard

import structlog
from aiohttp import web

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
from dispatcher.fallback.http import DEFAULT_TIMEOUT_SECONDS
from dispatcher.status import MessageStatus

log = structlog.get_logger(__name__)

# 002 L49, L210, L304: send at the base URL itself, status and balance beside it.
DEFAULT_BASE_URL: Final = "https://my3.webcom.mobi/json/"
STATE_PATH: Final = "state.php"
BALANCE_PATH: Final = "balance.php"
# 002 L18-20: "Content-type: text/json; charset=utf-8" (sic), UTF-8 documents (L22).
CONTENT_TYPE: Final = "text/json; charset=utf-8"
SMS_CHANNEL: Final = "sms"  # 002 L77, L166: type_send_1
# 002 L176: validity_period as "YYYY-MM-DD HH:MM:SS". Its time zone is not given; Moscow time
# is our reading (spec §2.2 [inferred]). Configurable per sender.
VALIDITY_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
PROVIDER_TIMEZONE: Final = timezone(timedelta(hours=3), "MSK")
# Not documented (spec §2.6): a conservative number of phones per send request.
MAX_PHONES_PER_REQUEST: Final = 1000
# 002 L228: state.php takes one id_sms per request; this many run at once (our choice).
STATUS_POLL_CONCURRENCY: Final = 4
# Not from the seed: how long the router should leave the channel alone.
NO_MONEY_PAUSE_SECONDS: Final = 300.0
OUTAGE_PAUSE_SECONDS: Final = 30.0

# 002 L255-257, L285: the states of state.php and of the callback.
STATES: Final[dict[str, MessageStatus]] = {
    "send": MessageStatus.SUBMITTED,  # no status received yet
    "deliver": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,  # read by a messenger user: delivered, and then some
    "not_deliver": MessageStatus.UNDELIVERABLE,  # final
    "expired": MessageStatus.EXPIRED,  # final: the phone was off at every attempt
    "partly_deliver": MessageStatus.UNKNOWN,  # "sent, but no status was ever received" (W10)
}


class Verdict(Enum):
    PERMANENT = "permanent"  # this message can never go through: REJECTED
    RETRYABLE = "retryable"  # this message may go again, here or by another route: RETRY
    CHANNEL_STOP = "channel-stop"  # the account cannot send until an operator acts
    CHANNEL_PAUSE = "channel-pause"  # the account cannot send for now


# 002 L188 (and L238, L330): errors about the whole document; nothing of it was taken.
DOCUMENT_ERRORS: Final[dict[str, Verdict]] = {
    "Неправильный формат JSON документа": Verdict.CHANNEL_STOP,  # our document: a client bug
    "Ваш аккаунт заблокирован": Verdict.CHANNEL_STOP,
    "Неправильный логин или пароль": Verdict.CHANNEL_STOP,
    "POST данные отсутствуют": Verdict.CHANNEL_STOP,  # our request lost its body: a client bug
}

# 002 L202: errors about one phone of a send, classified per spec §4.4.
PHONE_ERRORS: Final[dict[str, Verdict]] = {
    "у нас закончились SMS. Для разрешения проблемы свяжитесь с менеджером": Verdict.CHANNEL_PAUSE,
    "закончились SMS": Verdict.CHANNEL_PAUSE,
    "аккаунт заблокирован": Verdict.CHANNEL_STOP,
    "укажите номер телефона": Verdict.PERMANENT,
    "номер телефона присутствует в стоп-листе": Verdict.PERMANENT,  # opt-out: never re-route
    "данное направление закрыто для вас": Verdict.RETRYABLE,  # closed here: another route may
    "данное направление закрыто": Verdict.RETRYABLE,
    "текст SMS отклонен модератором": Verdict.PERMANENT,
    "нет отправителя": Verdict.RETRYABLE,  # sender set-up of this account: another route may
    "отправитель не должен превышать 15 символов для цифровых номеров и 11 символов для "
    "буквенно-числовых": Verdict.PERMANENT,  # too long for any SMS route
    "номер телефона должен быть меньше 15 символов": Verdict.PERMANENT,
    "нет текста сообщения": Verdict.PERMANENT,
    "нет ссылки": Verdict.PERMANENT,
    "укажите название контакта и хотя бы один параметр для визитной карточки": Verdict.PERMANENT,
    "такого отправителя нет": Verdict.RETRYABLE,
    "отправитель не прошел модерацию": Verdict.RETRYABLE,
}


def _normal(text: str) -> str:
    # Spec §4.4: match the texts exactly, but tolerant of surrounding space and case.
    return " ".join(text.split()).casefold()


_DOCUMENT_VERDICTS: Final = {_normal(text): verdict for text, verdict in DOCUMENT_ERRORS.items()}
_PHONE_VERDICTS: Final = {_normal(text): verdict for text, verdict in PHONE_ERRORS.items()}


class WebcomSender:
    """`FallbackSender` over the Webcom JSON API for one account (login+password or token)."""

    def __init__(
        self,
        *,
        login: str | None = None,
        password: str | None = None,
        token: str | None = None,
        clock: Clock | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        provider_timezone: tzinfo = PROVIDER_TIMEZONE,
        name: str = "webcom",
    ) -> None:
        # 002 L53-64: "login" and "password", or "token" instead.
        if token is not None and login is None and password is None:
            self._credentials = {"token": token}
        elif token is None and login is not None and password is not None:
            self._credentials = {"login": login, "password": password}
        else:
            raise ValueError("give a login and a password, or a token")
        self.name = name
        self.max_batch = MAX_PHONES_PER_REQUEST
        self.base_url = base_url.rstrip("/") + "/"
        self.provider_timezone = provider_timezone
        self.clock = clock or SystemClock()
        self._exchange = HttpExchange(clock=self.clock, timeout_seconds=timeout_seconds)

    def __repr__(self) -> str:
        return f"WebcomSender(name={self.name!r}, base_url={self.base_url!r})"

    async def send_batch(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        if len(messages) > self.max_batch:
            raise ValueError(f"{len(messages)} messages, more than {self.max_batch} per send")
        if not messages:
            return []
        groups: dict[tuple[str, str], list[int]] = {}
        for index, sms in enumerate(messages):
            groups.setdefault((sms.source, sms.body), []).append(index)
        # 002 L75-105: one entry per (sender, text), each with its phones. The answer lists one
        # result per phone in this same order (002 L192-197, spec §2.8 W6).
        order = [index for indexes in groups.values() for index in indexes]
        document = {
            "message": [
                {
                    "type_send_1": SMS_CHANNEL,
                    "sender": source,
                    "text": body,
                    "phones": [self._phone(messages[index]) for index in indexes],
                }
                for (source, body), indexes in groups.items()
            ],
        }
        try:
            answer = await self._post("", document)
        except AnswerLost as exc:
            log.warning("webcom.send_in_doubt", reason=str(exc), messages=len(messages))
            return [_in_doubt(sms, str(exc)) for sms in messages]
        information = answer.get("information")
        if not isinstance(information, list) or len(information) != len(order):
            # Results are matched by position only: a short list matches nothing. Sending the
            # same client_id_sms again is safe, and its answer will tell.
            return [_in_doubt(sms, "the answer does not list every phone") for sms in messages]
        results: dict[int, SendResult] = {}
        channel_errors: list[ChannelError] = []
        for index, entry in zip(order, information, strict=True):
            result, channel_error = _phone_result(messages[index], entry)
            results[index] = result
            if channel_error is not None:
                channel_errors.append(channel_error)
        in_flight = (SendOutcome.ACCEPTED, SendOutcome.IN_DOUBT)
        if channel_errors and not any(r.outcome in in_flight for r in results.values()):
            raise max(channel_errors, key=lambda error: error.permanent)
        return [results[index] for index in range(len(messages))]

    async def query_status(self, provider_ids: Sequence[str]) -> list[StatusReport]:
        """state.php per id_sms (002 L204-259). Ids it cannot answer now are left out; if no id
        could be asked at all, the channel is reported down."""
        wanted = [pid for pid in provider_ids if pid.isascii() and pid.isdigit()]
        limit = asyncio.Semaphore(STATUS_POLL_CONCURRENCY)

        async def one(provider_id: str) -> StatusReport | None:
            async with limit:
                return await self._state(provider_id)

        answers = await asyncio.gather(*(one(pid) for pid in wanted), return_exceptions=True)
        reports: list[StatusReport] = []
        errors: list[ChannelError] = []
        for answer in answers:
            if isinstance(answer, ChannelError):
                errors.append(answer)
            elif isinstance(answer, BaseException):
                raise answer  # a fault of ours, not an answer of the provider
            elif answer is not None:
                reports.append(answer)
        stop = next((error for error in errors if error.permanent), None)
        if stop is not None:
            raise stop
        if errors and len(errors) == len(wanted):
            raise errors[0]
        return reports

    async def resolve_in_doubt(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        # 002 L173-175: the same client_id_sms is never sent twice, so sending again is safe.
        return [
            SendResult(m.key, SendOutcome.RETRY, text="client_id_sms makes a resend safe")
            for m in messages
        ]

    async def balance(self) -> Balance:
        """002 L300-360: money and currency, and SMS quotas per destination."""
        answer = await self._query(BALANCE_PATH, {})
        try:
            amount = Decimal(str(answer["money"]).strip())
            if not amount.is_finite():
                raise ValueError("money is not a finite number")
        except (KeyError, InvalidOperation, ValueError) as exc:
            raise ChannelError(
                f"webcom balance: unreadable answer ({type(exc).__name__})",
                retry_after=OUTAGE_PAUSE_SECONDS,
            ) from None
        currency = answer.get("currency")
        quotas: dict[str, str] = {}
        for quota in answer.get("information") or []:
            if isinstance(quota, dict) and "area" in quota:
                # `num_sms` in the example, `sms` in the table (002 L346, L360); may be "Безлимит".
                left = quota.get("num_sms", quota.get("sms"))
                quotas[f"{quota.get('type_sms', SMS_CHANNEL)}:{quota['area']}"] = str(left)
        return Balance(float(amount), currency if isinstance(currency, str) else None, quotas)

    async def close(self) -> None:
        await self._exchange.close()

    def _phone(self, sms: OutgoingSms) -> dict[str, str]:
        # 002 L81-90: strings as in the examples (spec §2.8 W5); our key as client_id_sms.
        phone = {"phone": sms.destination, "client_id_sms": sms.key}
        if sms.validity_seconds is not None:
            moment = datetime.fromtimestamp(
                self.clock.wall() + sms.validity_seconds, tz=self.provider_timezone
            )
            phone["validity_period"] = moment.strftime(VALIDITY_FORMAT)
        return phone

    async def _state(self, provider_id: str) -> StatusReport | None:
        # 002 L214-222: id_sms as a number (spec §2.8 W12).
        try:
            answer = await self._query(STATE_PATH, {"id_sms": int(provider_id)})
        except _Refused as exc:
            if exc.permanent:
                raise
            # An error outside the documented four: the seed does not say how an unknown id
            # is answered, so this id is left out rather than the channel paused.
            return None
        state = answer.get("state")
        if not isinstance(state, str):
            return None
        return _report(provider_id, state, answer.get("time_change_state"))

    async def _query(self, path: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A status or balance request whose every failure is a `ChannelError`."""
        try:
            answer = await self._post(path, fields)
        except AnswerLost as exc:
            raise ChannelError(f"webcom {path}: {exc}", retry_after=OUTAGE_PAUSE_SECONDS) from None
        return answer

    async def _post(self, path: str, fields: dict[str, Any]) -> dict[str, Any]:
        """POST a document; its JSON object answer. A document-level `error` is raised as a
        `ChannelError`; a request that never left too. Raises `AnswerLost` otherwise."""
        # ASCII JSON: a lone surrogate in a text travels as an escape instead of failing here.
        body = json.dumps({**self._credentials, **fields}).encode("ascii")
        url = self.base_url + path
        try:
            raw = await self._exchange.post(url, body, CONTENT_TYPE)
        except RequestNotSent as exc:
            raise ChannelError(
                f"webcom unreachable: {exc}", retry_after=OUTAGE_PAUSE_SECONDS
            ) from None
        try:
            answer = json.loads(raw)
        except ValueError:
            raise AnswerLost(f"{url}: the answer is not JSON") from None
        if not isinstance(answer, dict):
            raise AnswerLost(f"{url}: the answer is not a JSON object")
        error = answer.get("error")
        if isinstance(error, str):
            raise _document_error(error)
        return answer


@dataclass(frozen=True, slots=True)
class StatusCallback:
    """One status POST from Webcom, read (002 L273-298)."""

    reports: tuple[StatusReport, ...]
    # The answer to send once the reports are stored: `[{"id_sms":3234},{"id_sms":3235}]`,
    # every id_sms taken, echoed exactly as it came (number or string). An id left out is
    # POSTed again by the provider (5 attempts, 002 L298).
    acknowledgement: bytes


def parse_status_callback(body: bytes) -> StatusCallback:
    """Read a callback body: `[{"id_sms":..., "time":..., "state":...}, ...]`.

    Records without a usable `id_sms` or `state` are skipped (and so not acknowledged); a state
    outside the documented six is reported UNKNOWN with its raw value and acknowledged, since
    asking again would only bring the same record. Never raises.
    """
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    records = document if isinstance(document, list) else []
    reports: list[StatusReport] = []
    taken: list[dict[str, int | str]] = []
    for record in records:
        if not isinstance(record, dict):
            continue
        id_sms, state = record.get("id_sms"), record.get("state")
        if not _is_id(id_sms) or not isinstance(state, str):
            continue
        reports.append(_report(str(id_sms).strip(), state, record.get("time")))
        taken.append({"id_sms": id_sms})
    acknowledgement = json.dumps(taken, separators=(",", ":")).encode("ascii")
    return StatusCallback(tuple(reports), acknowledgement)


StoreReports = Callable[[Sequence[StatusReport]], Awaitable[None]]


def status_callback_handler(
    store: StoreReports,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler for Webcom's status POSTs. `store` must keep the reports durably
    (and be idempotent: a status can come twice); only then are their ids acknowledged."""

    async def handle(request: web.Request) -> web.Response:
        callback = parse_status_callback(await request.read())
        try:
            if callback.reports:
                await store(callback.reports)
        except Exception:
            # Nothing stored, so nothing acknowledged: the provider will POST these again.
            log.exception("webcom.callback_store_failed", reports=len(callback.reports))
            return web.Response(body=b"[]", content_type="application/json")
        return web.Response(body=callback.acknowledgement, content_type="application/json")

    return handle


def _is_id(value: Any) -> TypeGuard[int | str]:
    # 002 L283, L296: an Int in one table and a String in the other.
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > 0
    return isinstance(value, str) and value.strip().isascii() and value.strip().isdigit()


def _report(provider_id: str, state: str, changed_at: Any) -> StatusReport:
    status = STATES.get(state)
    if status is None:
        log.warning("webcom.undocumented_state", state=state)
        status = MessageStatus.UNKNOWN
    # The time of the change is the only text the provider gives (empty while "send").
    text = changed_at if isinstance(changed_at, str) and changed_at else None
    return StatusReport(provider_id, status, code=state, text=text)


class _Refused(ChannelError):
    """The provider answered with a document-level `error` (as opposed to no answer)."""


def _document_error(text: str) -> _Refused:
    verdict = _DOCUMENT_VERDICTS.get(_normal(text))
    if verdict is Verdict.CHANNEL_STOP:
        return _Refused(f"webcom refused the request: {text}", code=text, permanent=True)
    log.warning("webcom.undocumented_error", error=text)
    return _Refused(
        f"webcom refused the request: {text}", code=text, retry_after=OUTAGE_PAUSE_SECONDS
    )


def _phone_result(sms: OutgoingSms, entry: Any) -> tuple[SendResult, ChannelError | None]:
    if not isinstance(entry, dict):
        return _in_doubt(sms, "unreadable result for this phone"), None
    id_sms, error, state = entry.get("id_sms"), entry.get("error"), entry.get("state")
    if _is_id(id_sms):
        code = state if isinstance(state, str) else None
        return SendResult(sms.key, SendOutcome.ACCEPTED, (str(id_sms).strip(),), code=code), None
    if not isinstance(error, str):
        return _in_doubt(sms, "neither id_sms nor error for this phone"), None
    verdict = _PHONE_VERDICTS.get(_normal(error))
    if verdict is None:
        # Spec §4.4: an unknown text is a refusal with the provider's words kept.
        log.warning("webcom.undocumented_error", error=error)
        return SendResult(sms.key, SendOutcome.REJECTED, code=error, text=error), None
    if verdict is Verdict.PERMANENT:
        return SendResult(sms.key, SendOutcome.REJECTED, code=error, text=error), None
    result = SendResult(sms.key, SendOutcome.RETRY, code=error, text=error)
    if verdict is Verdict.RETRYABLE:
        return result, None
    stop = verdict is Verdict.CHANNEL_STOP
    return result, ChannelError(
        f"webcom account cannot send: {error}",
        code=error,
        permanent=stop,
        retry_after=None if stop else NO_MONEY_PAUSE_SECONDS,
    )


def _in_doubt(sms: OutgoingSms, reason: str) -> SendResult:
    return SendResult(sms.key, SendOutcome.IN_DOUBT, text=reason)
