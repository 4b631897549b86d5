"""Mobipace HTTP API 3.0 client: authorize, Send, Calculate, QueryMessages, QueryBalance.

Source: seed 000_c3c05604ccb2157c.txt (Russian original; 001 is the English translation, and
000 wins where they differ) and spec http-providers.md §1 and §4.

Three rules shape this client:
- One request at a time per account (000 L79; a second one gets 104 AccessDenied, L395): every
  request, authorize included, goes through one asyncio lock. Use one client per account.
- The session lives 60 minutes after the last request (000 L123): it is renewed a little before
  that, and on 103 SessionExpired the request is repeated once with a fresh session. A refused
  login (200-202) is never retried by itself: repeated bad logins lock the user (201, L397).
- Send answers with counts only, never per message (000 L196-204). Each message carries our key
  as its Reference, which QueryMessages looks up (000 L272). So a Send whose answer was lost is
  settled by asking for its References before anything is sent again.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from typing import Any, Final, TypeVar

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
from dispatcher.status import MessageStatus

log = structlog.get_logger(__name__)

# 000 L93: HTTPS on port 444; L129, L173, L260, L276, L331: one URL per method (note the case).
DEFAULT_BASE_URL: Final = "https://api.mobipace.com:444/v3/"
AUTHORIZE: Final = "authorize"
SEND: Final = "Send"
CALCULATE: Final = "Calculate"
QUERY_MESSAGES: Final = "QueryMessages"
QUERY_BALANCE: Final = "QueryBalance"
# 000 L95, L111: requests are POSTed as JSON (the content type itself is not given).
CONTENT_TYPE: Final = "application/json; charset=utf-8"
# 000 L71: wait at most 60 s for any response.
RESPONSE_TIMEOUT_SECONDS: Final = 60.0
# 000 L123: the session is kept 60 minutes after the last request (001 L119 says 60 seconds;
# the Russian original wins, spec §1.2). We renew it 5 minutes before it would lapse.
SESSION_IDLE_SECONDS: Final = 3600.0
SESSION_RENEW_AFTER_IDLE_SECONDS: Final = SESSION_IDLE_SECONDS - 300.0
# 000 L79: at most 20 000 recipients in one request (more: 301 MessageCountOverflow, L400).
MAX_MESSAGES_PER_REQUEST: Final = 20_000
# 000 L395: 104 means "temporarily impossible" (another request of the account is running,
# e.g. one of ours that timed out, or another daemon's). The waits are ours (spec §4.4: 1-5 s
# with jitter); after the last one the channel is reported busy.
ACCESS_DENIED_WAITS_SECONDS: Final = (1.0, 2.0, 4.0)
# Not from the seed: how long the router should leave the channel alone.
NO_MONEY_PAUSE_SECONDS: Final = 300.0
OUTAGE_PAUSE_SECONDS: Final = 30.0
BUSY_PAUSE_SECONDS: Final = 10.0


class RequestCode(IntEnum):
    """000 L388-401: the top-level StatusCode of every answer. Message statuses (below) reuse
    some of these numbers with other meanings (100, 101...): the two are never mixed."""

    UNKNOWN = 100
    SUCCESS = 101
    INCORRECT_PARAMETER = 102
    SESSION_EXPIRED = 103
    ACCESS_DENIED = 104
    INCORRECT_USERNAME_OR_PASSWORD = 200
    USER_LOCKED = 201
    USER_BLOCKED = 202
    OUT_OF_BALANCE = 300
    MESSAGE_COUNT_OVERFLOW = 301
    CURRENCY_NOT_DEFINED = 302


_REQUEST_CODES: Final = frozenset(RequestCode)

# 000 L369-386: message statuses (MessageStatuses[].StatusCode). 4, 7, 8, 10 and 104 mean the
# provider did not send it for reasons of its own (money, sender or route not set up here, its
# own errors): FAILED, so another route may carry it. 5, 6, 9 and 103 are the message's own
# fault: REJECTED, never resent (spec §4.3 notes).
MESSAGE_STATUSES: Final[dict[int, tuple[str, MessageStatus]]] = {
    1: ("Pending", MessageStatus.SUBMITTED),
    2: ("Scheduled", MessageStatus.SUBMITTED),
    3: ("Sent", MessageStatus.SUBMITTED),
    4: ("OutOfBalance", MessageStatus.FAILED),
    5: ("InvalidMobile", MessageStatus.REJECTED),
    6: ("InvalidBody", MessageStatus.REJECTED),
    7: ("InvalidSender", MessageStatus.FAILED),
    8: ("InvalidRoute", MessageStatus.FAILED),
    9: ("BlockedMobile", MessageStatus.REJECTED),
    10: ("Unknown", MessageStatus.FAILED),
    100: ("Delivered", MessageStatus.DELIVERED),
    101: ("Undeliverable", MessageStatus.UNDELIVERABLE),
    102: ("ACK expired", MessageStatus.UNKNOWN),
    103: ("Rejected", MessageStatus.REJECTED),
    104: ("TimeOut", MessageStatus.FAILED),
}


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """What Calculate says a batch would cost (000 L250-264; its answer is not documented, so it
    is read like Send's, L196-204, spec §1.6)."""

    message_count: int
    part_count: int
    total_price: Decimal

    @property
    def average_price(self) -> Decimal:
        return self.total_price / self.message_count if self.message_count else Decimal(0)


@dataclass(frozen=True, slots=True)
class _Reply:
    code: int
    status: str
    fields: dict[str, Any]


class MobipaceSender:
    """`FallbackSender` over Mobipace HTTP API 3.0 for one account (one client per account)."""

    def __init__(
        self,
        *,
        username: str,
        password: str,
        clock: Clock | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout_seconds: float = RESPONSE_TIMEOUT_SECONDS,
        name: str = "mobipace",
    ) -> None:
        self.name = name
        self.max_batch = MAX_MESSAGES_PER_REQUEST
        self.base_url = base_url.rstrip("/") + "/"
        self.clock = clock or SystemClock()
        self._username = username
        self._password = password
        self._exchange = HttpExchange(clock=self.clock, timeout_seconds=timeout_seconds)
        self._account_lock = asyncio.Lock()  # 000 L79: one request in flight per account
        self._login_lock = asyncio.Lock()  # one authorize for many waiting callers
        self._session_id: str | None = None
        self._last_request_at = 0.0
        self._login_refused: tuple[str, int] | None = None  # latched: never log in again

    def __repr__(self) -> str:
        return f"MobipaceSender(name={self.name!r}, base_url={self.base_url!r})"

    async def send_batch(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        """One Send per sender name (a request has one Sender, 000 L186)."""
        if len(messages) > self.max_batch:
            raise ValueError(f"{len(messages)} messages, more than {self.max_batch} per send")
        results: dict[int, SendResult] = {}
        try:
            for group in _by_sender(messages):
                await self._send_group(group, results)
        except ChannelError as exc:
            if all(r.outcome in (SendOutcome.RETRY, SendOutcome.REJECTED)
                   for r in results.values()):
                raise
            # Part of the batch went out already: the rest is RETRY, and the next call raises.
            for index, sms in enumerate(messages):
                results.setdefault(
                    index, SendResult(sms.key, SendOutcome.RETRY, code=exc.code, text=str(exc))
                )
        return [results[index] for index in range(len(messages))]

    async def calculate(self, messages: Sequence[OutgoingSms]) -> PriceQuote:
        """What sending `messages` would cost, without sending them (000 L250-256)."""
        count, parts, total = 0, 0, Decimal(0)
        for group in _by_sender(messages):
            for chunk in _chunks(group, MAX_MESSAGES_PER_REQUEST):
                reply = await self._query(CALCULATE, _send_fields(chunk))
                try:
                    count += int(reply.fields.get("MessageCount") or 0)
                    parts += int(reply.fields.get("PartCount") or 0)
                    total += _decimal(reply.fields.get("TotalPrice") or 0)
                except (TypeError, ValueError) as exc:
                    raise _unreadable(CALCULATE, exc) from None
        return PriceQuote(count, parts, total)

    async def query_status(self, provider_ids: Sequence[str]) -> list[StatusReport]:
        """Statuses by Reference (our key). References the provider does not know are left
        out (the seed does not say how it answers them, spec §1.7)."""
        reports: list[StatusReport] = []
        for chunk in _chunks(list(provider_ids), MAX_MESSAGES_PER_REQUEST):
            for reference, code, status in await self._statuses(chunk):
                if code in MESSAGE_STATUSES:
                    name, mapped = MESSAGE_STATUSES[code]
                    reports.append(StatusReport(reference, mapped, str(code), status or name))
                else:
                    log.warning("mobipace.undocumented_status", code=code)
                    reports.append(
                        StatusReport(reference, MessageStatus.UNKNOWN, str(code), status)
                    )
        return reports

    async def resolve_in_doubt(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        """QueryMessages by Reference before any resend (spec §1.13 M9): ACCEPTED for the
        References the provider has, RETRY for those it answers without, IN_DOUBT if it
        cannot be asked now (e.g. it is still busy with the lost request: 104)."""
        known: dict[str, tuple[int, str]] = {}
        try:
            for chunk in _chunks([sms.key for sms in messages], MAX_MESSAGES_PER_REQUEST):
                for reference, code, status in await self._statuses(chunk):
                    known[reference] = (code, status)
        except ChannelError as exc:
            if exc.permanent:
                raise
            return [SendResult(m.key, SendOutcome.IN_DOUBT, text=str(exc)) for m in messages]
        results = []
        for sms in messages:
            if sms.key in known:
                code, status = known[sms.key]
                results.append(
                    SendResult(sms.key, SendOutcome.ACCEPTED, (sms.key,), str(code), status)
                )
            else:
                results.append(
                    SendResult(sms.key, SendOutcome.RETRY, text="no such Reference at the provider")
                )
        return results

    async def balance(self) -> Balance:
        """000 L325-367: Balance, BalanceNegativeLimit (a negative credit limit) and
        AvailableFund; the example sends them as strings, so both forms are read."""
        reply = await self._query(QUERY_BALANCE, {})
        try:
            amount = _decimal(reply.fields["Balance"])
            details = {
                name: str(_decimal(reply.fields[name]))
                for name in ("BalanceNegativeLimit", "AvailableFund")
                if reply.fields.get(name) is not None
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise _unreadable(QUERY_BALANCE, exc) from None
        return Balance(float(amount), None, details)

    async def close(self) -> None:
        await self._exchange.close()

    async def _send_group(
        self, group: Sequence[tuple[int, OutgoingSms]], results: dict[int, SendResult]
    ) -> None:
        """Send one sender's messages; their results go into `results` as soon as known, so a
        later `ChannelError` cannot hide what went out already."""
        try:
            reply = await self._call(SEND, _send_fields(group))
        except AnswerLost as exc:
            log.warning("mobipace.send_in_doubt", reason=str(exc), messages=len(group))
            results.update(
                (i, SendResult(m.key, SendOutcome.IN_DOUBT, text=str(exc))) for i, m in group
            )
            return
        code = reply.code
        if code == RequestCode.SUCCESS:
            # 000 L196-204: counts only. Per-message problems show later in QueryMessages.
            results.update(
                (i, SendResult(m.key, SendOutcome.ACCEPTED, (m.key,), str(code), reply.status))
                for i, m in group
            )
        elif code == RequestCode.MESSAGE_COUNT_OVERFLOW and len(group) > 1:
            # The account's real limit is below the documented 20 000: send halves.
            half = len(group) // 2
            await self._send_group(group[:half], results)
            await self._send_group(group[half:], results)
        elif code in _REQUEST_CODES and code != RequestCode.UNKNOWN:
            raise _channel_error(reply)
        else:
            # 100 Unknown (a system error, L391) or an undocumented code: part of the request
            # may have been processed; the References will tell.
            results.update(
                (i, SendResult(m.key, SendOutcome.IN_DOUBT, code=str(code), text=reply.status))
                for i, m in group
            )

    async def _statuses(self, references: Sequence[str]) -> list[tuple[str, int, str]]:
        """(Reference, message StatusCode, Status) for the References the provider knows."""
        reply = await self._query(QUERY_MESSAGES, {"References": list(references)})
        asked = set(references)
        found = []
        for item in reply.fields.get("MessageStatuses") or []:
            if not isinstance(item, dict):
                continue
            reference = item.get("Reference")
            code = _int(item.get("StatusCode"))
            if isinstance(reference, str) and reference in asked and code is not None:
                found.append((reference, code, str(item.get("Status") or "")))
        return found

    async def _query(self, method: str, fields: dict[str, Any]) -> _Reply:
        """An authorised request whose every failure is a `ChannelError` (all but Send)."""
        try:
            reply = await self._call(method, fields)
        except AnswerLost as exc:
            raise ChannelError(
                f"mobipace {method}: {exc}", retry_after=OUTAGE_PAUSE_SECONDS
            ) from None
        if reply.code != RequestCode.SUCCESS:
            raise _channel_error(reply)
        return reply

    async def _call(self, method: str, fields: dict[str, Any]) -> _Reply:
        """An authorised request: repeated once with a new session on 103, and after a wait on
        104. Raises `ChannelError` if it never left, `AnswerLost` if its answer was lost."""
        renewed = False
        waits = iter(ACCESS_DENIED_WAITS_SECONDS)
        while True:
            session_id = await self._session()
            reply = await self._request(method, {"SessionId": session_id, **fields})
            if reply.code == RequestCode.SESSION_EXPIRED and not renewed:
                log.info("mobipace.session_expired", method=method)
                renewed = True
                if self._session_id == session_id:
                    self._session_id = None
                continue
            self._last_request_at = self.clock.monotonic()
            if reply.code == RequestCode.ACCESS_DENIED:
                wait = next(waits, None)
                if wait is not None:
                    log.info("mobipace.account_busy", method=method, wait_seconds=wait)
                    await self.clock.sleep(wait * random.uniform(1.0, 1.5))
                    continue
            return reply

    async def _session(self) -> str:
        async with self._login_lock:
            if self._login_refused is not None:
                status, code = self._login_refused
                raise ChannelError(
                    f"mobipace refused the login earlier ({status} {code}); not retried",
                    code=str(code),
                    permanent=True,
                )
            idle = self.clock.monotonic() - self._last_request_at
            if self._session_id is None or idle > SESSION_RENEW_AFTER_IDLE_SECONDS:
                self._session_id = await self._authorize()
                self._last_request_at = self.clock.monotonic()
            return self._session_id

    async def _authorize(self) -> str:
        # 000 L117-163: Username and Password in, SessionId out.
        try:
            reply = await self._request(
                AUTHORIZE, {"Username": self._username, "Password": self._password}
            )
        except AnswerLost as exc:
            raise ChannelError(
                f"mobipace authorize: {exc}", retry_after=OUTAGE_PAUSE_SECONDS
            ) from None
        session_id = reply.fields.get("SessionId")
        if reply.code == RequestCode.SUCCESS and isinstance(session_id, str) and session_id:
            log.info("mobipace.authorized")
            return session_id
        if reply.code in (
            RequestCode.INCORRECT_USERNAME_OR_PASSWORD,
            RequestCode.USER_LOCKED,
            RequestCode.USER_BLOCKED,
        ):
            # Spec §1.2: never log in again by ourselves, or the user ends up locked (201).
            self._login_refused = (reply.status, reply.code)
        log.error("mobipace.authorize_refused", code=reply.code, status=reply.status)
        raise _channel_error(reply)

    async def _request(self, method: str, payload: dict[str, Any]) -> _Reply:
        # ASCII JSON: a lone surrogate in a body travels as an escape instead of failing here.
        body = json.dumps(payload).encode("ascii")
        url = self.base_url + method
        try:
            async with self._account_lock:
                raw = await self._exchange.post(url, body, CONTENT_TYPE)
        except RequestNotSent as exc:
            raise ChannelError(
                f"mobipace unreachable: {exc}", retry_after=OUTAGE_PAUSE_SECONDS
            ) from None
        return _parse_reply(url, raw)


def _parse_reply(url: str, raw: bytes) -> _Reply:
    try:
        document = json.loads(raw)
    except ValueError:
        raise AnswerLost(f"{url}: the answer is not JSON") from None
    code = _int(document.get("StatusCode")) if isinstance(document, dict) else None
    if code is None:
        raise AnswerLost(f"{url}: the answer has no StatusCode")
    return _Reply(code, str(document.get("Status") or ""), document)


def _channel_error(reply: _Reply) -> ChannelError:
    """A request-level refusal (000 L388-401) as the channel's state, per spec §4.4."""
    code = reply.code
    message = f"mobipace refused the request ({reply.status or 'no status'} {code})"
    if code in (
        RequestCode.INCORRECT_PARAMETER,  # our request format: a client bug to look at
        RequestCode.INCORRECT_USERNAME_OR_PASSWORD,
        RequestCode.USER_LOCKED,
        RequestCode.USER_BLOCKED,
        RequestCode.MESSAGE_COUNT_OVERFLOW,  # even one message is too many: the account's setup
        RequestCode.CURRENCY_NOT_DEFINED,
    ):
        return ChannelError(message, code=str(code), permanent=True)
    if code == RequestCode.OUT_OF_BALANCE:
        return ChannelError(message, code=str(code), retry_after=NO_MONEY_PAUSE_SECONDS)
    if code == RequestCode.ACCESS_DENIED:
        return ChannelError(message, code=str(code), retry_after=BUSY_PAUSE_SECONDS)
    return ChannelError(message, code=str(code), retry_after=OUTAGE_PAUSE_SECONDS)


def _unreadable(method: str, exc: Exception) -> ChannelError:
    return ChannelError(
        f"mobipace {method}: unreadable answer ({type(exc).__name__})",
        retry_after=OUTAGE_PAUSE_SECONDS,
    )


def _by_sender(messages: Sequence[OutgoingSms]) -> list[list[tuple[int, OutgoingSms]]]:
    groups: dict[str, list[tuple[int, OutgoingSms]]] = {}
    for index, sms in enumerate(messages):
        groups.setdefault(sms.source, []).append((index, sms))
    return list(groups.values())


def _send_fields(group: Sequence[tuple[int, OutgoingSms]]) -> dict[str, Any]:
    # 000 L181-194: one Sender per request; each message its own Body and Reference (our key).
    return {
        "Sender": group[0][1].source,
        "Messages": [
            {"Recipient": sms.destination, "Body": sms.body, "Reference": sms.key}
            for _, sms in group
        ],
    }


T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _decimal(value: Any) -> Decimal:
    """A JSON number or a numeric string (000 L363-365 sends strings) as a Decimal."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"not a number: {type(value).__name__}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not number.is_finite():
        raise ValueError("not a finite number")
    return number
