"""A fake Mobipace HTTP API 3.0 for tests and staging.

It follows seed 000_c3c05604ccb2157c.txt and spec http-providers.md §1.14: the five methods at
their exact paths (anything else is 404), JSON in and out, sessions that lapse 60 minutes after
their last request (103), one request at a time per account (a second one while the first is
being processed gets 104), the request codes 100-302 and the message statuses 1-104 on a
clock-driven timeline (1 Pending → 2 Scheduled → 3 Sent → final).

Where the seed is silent the fake picks one reading and says so: a bad or missing field is 102,
Calculate answers like Send without charging (spec §1.6), unknown References are left out of
QueryMessages, a repeated Reference is accepted again as a new message (nothing in the seed
dedupes), and parts are counted GSM-7 160/153 or UCS-2 70/67.

`build_app(**options)` returns the aiohttp application; `app[SIM_KEY]` is the `MobipaceSim`
that tests seed and inspect.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from aiohttp import web

from dispatcher.clock import Clock, SystemClock
from pdu.segmentation import count_parts

METHODS: Final = ("authorize", "Send", "Calculate", "QueryMessages", "QueryBalance")  # 000 L97-109

# 000 L388-401: request codes.
UNKNOWN: Final = 100
SUCCESS: Final = 101
INCORRECT_PARAMETER: Final = 102
SESSION_EXPIRED: Final = 103
ACCESS_DENIED: Final = 104
INCORRECT_USERNAME_OR_PASSWORD: Final = 200
USER_LOCKED: Final = 201
USER_BLOCKED: Final = 202
OUT_OF_BALANCE: Final = 300
MESSAGE_COUNT_OVERFLOW: Final = 301
CURRENCY_NOT_DEFINED: Final = 302
REQUEST_NAMES: Final[dict[int, str]] = {
    100: "Unknown",
    101: "Success",
    102: "IncorrectParameter",
    103: "SessionExpired",
    104: "AccessDenied",
    200: "IncorrectUserNameOrPassword",
    201: "UserLocked",
    202: "UserBlocked",
    300: "OutOfBalance",
    301: "MessageCountOverflow",
    302: "CurrencyNotDefined",
}
# 000 L369-386: message statuses.
MESSAGE_NAMES: Final[dict[int, str]] = {
    1: "Pending",
    2: "Scheduled",
    3: "Sent",
    4: "OutOfBalance",
    5: "InvalidMobile",
    6: "InvalidBody",
    7: "InvalidSender",
    8: "InvalidRoute",
    9: "BlockedMobile",
    10: "Unknown",
    100: "Delivered",
    101: "Undeliverable",
    102: "ACK expired",
    103: "Rejected",
    104: "TimeOut",
}
PENDING, SCHEDULED, SENT, DELIVERED = 1, 2, 3, 100
INVALID_MOBILE, INVALID_BODY, INVALID_SENDER, INVALID_ROUTE, BLOCKED_MOBILE = 5, 6, 7, 8, 9

SESSION_IDLE_SECONDS: Final = 3600.0  # 000 L123: 60 minutes after the last request
MAX_MESSAGES: Final = 20_000  # 000 L79
MAX_BODY_LENGTH: Final = 500  # 000 L81
# 000 L80, L192: international format, at most 15 digits, without "+" or "00".
_RECIPIENT: Final = re.compile(r"(?!00)[0-9]{1,15}")
# 000 L183, L225: "yyyy-mm-dd" documented, "2019-07-25 18:20" in the example (spec §1.13 M2).
_SCHEDULED_FORMATS: Final = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")
MAX_SEND_WITHIN_HOURS: Final = 23  # 000 L184
LOCK_AFTER_FAILED_LOGINS: Final = 3  # not in the seed (spec §1.14): 201 after three misses

# Staging numbers that end badly (the default outcome is 100 Delivered): seeded failures.
SEEDED_OUTCOMES: Final[dict[str, int]] = {
    "79990000101": 101,  # Undeliverable
    "79990000102": 102,  # ACK expired
    "79990000103": 103,  # Rejected
    "79990000104": 104,  # TimeOut
}


@dataclass
class Account:
    password: str = field(repr=False)
    balance: Decimal = Decimal("1000")
    negative_limit: Decimal = Decimal("0")  # the credit limit: zero or negative (000 L346)
    currency: str | None = "EUR"  # None: 302 CurrencyNotDefined (000 L83, L401)
    senders: set[str] | None = None  # registered sender names; None: any (000 L84, status 7)
    blocked: bool = False  # 202 UserBlocked
    failed_logins: int = 0
    busy: bool = False  # a request of this account is being processed

    @property
    def available(self) -> Decimal:
        return self.balance - self.negative_limit


@dataclass(frozen=True)
class _Hang:
    processed: bool
    busy: bool


@dataclass
class SimMessage:
    username: str
    reference: str | None
    recipient: str
    body: str
    sender: str
    parts: int
    accepted_at: float  # clock.monotonic()
    final_code: int  # where its timeline ends, or the status it was refused with
    refused: bool
    hold_until: float | None = None  # wall time of ScheduledDate, while in the future


class MobipaceSim:
    """The provider's state: accounts, sessions, messages, and scripted faults."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        accounts: dict[str, str] | None = None,
        price_per_part: Decimal = Decimal("2.50"),
        session_idle_seconds: float = SESSION_IDLE_SECONDS,
        processing_seconds: float = 0.0,
        scheduled_after: float = 1.0,
        sent_after: float = 2.0,
        final_after: float = 10.0,
        hang_seconds: float = 120.0,
        outcomes: dict[str, int] | None = None,
        blocked_numbers: set[str] | None = None,
        closed_prefixes: tuple[str, ...] = (),
        lock_after_failed_logins: int = LOCK_AFTER_FAILED_LOGINS,
    ) -> None:
        self.clock = clock or SystemClock()
        self.accounts = {
            name: Account(password)
            for name, password in (accounts if accounts is not None else {"demo": "demo"}).items()
        }
        self.price_per_part = price_per_part
        self.session_idle_seconds = session_idle_seconds
        # How long each request keeps its account busy: a second one meanwhile gets 104.
        self.processing_seconds = processing_seconds
        self.scheduled_after = scheduled_after
        self.sent_after = sent_after
        self.final_after = final_after
        self.hang_seconds = hang_seconds
        self.outcomes = dict(SEEDED_OUTCOMES if outcomes is None else outcomes)
        self.blocked_numbers = set(blocked_numbers or ())
        self.closed_prefixes = closed_prefixes
        self.lock_after_failed_logins = lock_after_failed_logins
        self.sessions: dict[str, tuple[str, float]] = {}  # SessionId -> (username, last request)
        self.messages: dict[tuple[str, str], SimMessage] = {}  # (username, Reference) -> latest
        self.sent: list[SimMessage] = []  # every message of every Send, refused ones too
        self.requests: Counter[str] = Counter()  # method -> requests received
        self.answers: Counter[int] = Counter()  # request code -> times answered
        self._hangs: dict[str, list[_Hang]] = {}
        self._failures: dict[str, list[int]] = {}
        self._methods: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
            "Send": self._send,
            "Calculate": self._calculate,
            "QueryMessages": self._query_messages,
            "QueryBalance": self._query_balance,
        }

    def hang_next(
        self, method: str, count: int = 1, *, processed: bool = True, busy: bool = False
    ) -> None:
        """The next `count` requests to `method` are answered only after `hang_seconds`, past
        the client's timeout. `processed`: whether the provider did the work first. `busy`:
        whether the account stays busy meanwhile (the provider is still working on it, so
        other requests get 104) or the work is done and only the answer is lost."""
        self._hangs.setdefault(method, []).extend([_Hang(processed, busy)] * count)

    def fail_next(self, method: str, code: int) -> None:
        """The next request to `method` (after its session check) is refused with `code`."""
        self._failures.setdefault(method, []).append(code)

    def expire_sessions(self) -> None:
        self.sessions.clear()

    def sent_with_reference(self, username: str, reference: str) -> list[SimMessage]:
        """Every message of `username` sent with this Reference (a duplicate shows here)."""
        return [m for m in self.sent if m.username == username and m.reference == reference]

    def status_of(self, message: SimMessage) -> int:
        if message.refused:
            return message.final_code
        if message.hold_until is not None and self.clock.wall() < message.hold_until:
            return SCHEDULED
        elapsed = self.clock.monotonic() - message.accepted_at
        if elapsed >= self.final_after:
            return message.final_code
        if elapsed >= self.sent_after:
            return SENT
        return SCHEDULED if elapsed >= self.scheduled_after else PENDING

    async def handle(self, method: str, body: bytes) -> tuple[dict[str, Any], bool]:
        """The answer to one request, and whether to hang before sending it."""
        self.requests[method] += 1
        hangs = self._hangs.get(method)
        spec = hangs.pop(0) if hangs else None
        # A busy hang happens inside the account's turn; any other after it, on the way out.
        hang = spec is not None and not spec.busy
        hold = self.hang_seconds if spec is not None and spec.busy else 0.0
        if spec is not None and not spec.processed:
            return self._reply(UNKNOWN), hang
        try:
            document = json.loads(body)
        except ValueError:
            return self._reply(INCORRECT_PARAMETER), hang
        if not isinstance(document, dict):
            return self._reply(INCORRECT_PARAMETER), hang
        if method == "authorize":
            username = document.get("Username")
            account = self.accounts.get(username) if isinstance(username, str) else None
            if account is None:
                return self._authorize(document), hang
            reply = await self._one_at_a_time(account, lambda: self._authorize(document), hold)
            return reply, hang
        username = self._session_user(document.get("SessionId"))
        if username is None:
            return self._reply(SESSION_EXPIRED), hang
        method_work = self._methods[method]

        def work() -> dict[str, Any]:
            return self._scripted(method) or method_work(username, document)

        return await self._one_at_a_time(self.accounts[username], work, hold), hang

    async def _one_at_a_time(
        self, account: Account, work: Callable[[], dict[str, Any]], hold: float
    ) -> dict[str, Any]:
        """000 L79: the server takes one request at a time per account (104 otherwise)."""
        if account.busy:
            return self._reply(ACCESS_DENIED)
        account.busy = True
        try:
            if self.processing_seconds:
                await self.clock.sleep(self.processing_seconds)
            reply = work()
            if hold:
                await self.clock.sleep(hold)
            return reply
        finally:
            account.busy = False

    def _reply(self, code: int, **fields: Any) -> dict[str, Any]:
        self.answers[code] += 1
        return {"StatusCode": code, "Status": REQUEST_NAMES[code], **fields}

    def _session_user(self, session_id: Any) -> str | None:
        if not isinstance(session_id, str) or session_id not in self.sessions:
            return None
        username, last_request = self.sessions[session_id]
        now = self.clock.monotonic()
        if now - last_request > self.session_idle_seconds:  # 000 L123
            del self.sessions[session_id]
            return None
        self.sessions[session_id] = (username, now)
        return username

    def _authorize(self, document: dict[str, Any]) -> dict[str, Any]:
        username, password = document.get("Username"), document.get("Password")
        if not isinstance(username, str) or not isinstance(password, str):
            return self._reply(INCORRECT_PARAMETER)
        account = self.accounts.get(username)
        if account is None:
            return self._reply(INCORRECT_USERNAME_OR_PASSWORD)
        if account.failed_logins >= self.lock_after_failed_logins:
            return self._reply(USER_LOCKED)
        if account.blocked:
            return self._reply(USER_BLOCKED)
        if password != account.password:
            account.failed_logins += 1
            if account.failed_logins >= self.lock_after_failed_logins:
                return self._reply(USER_LOCKED)
            return self._reply(INCORRECT_USERNAME_OR_PASSWORD)
        account.failed_logins = 0
        session_id = str(uuid.uuid4())
        self.sessions[session_id] = (username, self.clock.monotonic())
        return self._reply(SUCCESS, SessionId=session_id)

    def _scripted(self, method: str) -> dict[str, Any] | None:
        failures = self._failures.get(method)
        return self._reply(failures.pop(0)) if failures else None

    def _send(self, username: str, document: dict[str, Any]) -> dict[str, Any]:
        return self._price_or_send(username, document, send=True)

    def _calculate(self, username: str, document: dict[str, Any]) -> dict[str, Any]:
        return self._price_or_send(username, document, send=False)

    def _price_or_send(
        self, username: str, document: dict[str, Any], *, send: bool
    ) -> dict[str, Any]:
        account = self.accounts[username]
        sender, messages = document.get("Sender"), document.get("Messages")
        if not isinstance(sender, str) or not isinstance(messages, list):
            return self._reply(INCORRECT_PARAMETER)
        if len(messages) > MAX_MESSAGES:
            return self._reply(MESSAGE_COUNT_OVERFLOW)
        if not all(_is_message(m) for m in messages):
            return self._reply(INCORRECT_PARAMETER)
        try:
            hold_until = _scheduled(document.get("ScheduledDate"))
        except ValueError:
            return self._reply(INCORRECT_PARAMETER)
        if not _valid_options(document):
            return self._reply(INCORRECT_PARAMETER)
        if account.currency is None:
            return self._reply(CURRENCY_NOT_DEFINED)
        now = self.clock.monotonic()
        batch = [
            SimMessage(
                username=username,
                reference=m.get("Reference"),
                recipient=m["Recipient"],
                body=m["Body"],
                sender=sender,
                parts=count_parts(m["Body"]) if m["Body"] else 0,
                accepted_at=now,
                final_code=0,
                refused=False,
                hold_until=hold_until,
            )
            for m in messages
        ]
        for message in batch:
            refusal = self._refusal(account, message)
            message.refused = refusal is not None
            message.final_code = refusal or self.outcomes.get(message.recipient, DELIVERED)
        accepted = [m for m in batch if not m.refused]
        parts = sum(m.parts for m in accepted)
        total = self.price_per_part * parts
        if send and total > account.available:
            return self._reply(OUT_OF_BALANCE)
        if send:
            account.balance -= total
            self.sent.extend(batch)
            for message in batch:
                if message.reference is not None:
                    self.messages[(username, message.reference)] = message
        average = (total / len(accepted)).quantize(Decimal("0.01")) if accepted else Decimal(0)
        return self._reply(
            SUCCESS,
            MessageCount=len(accepted),
            PartCount=parts,
            AveragePrice=float(average),
            TotalPrice=float(total),
        )

    def _refusal(self, account: Account, message: SimMessage) -> int | None:
        """The message status (000 L375-381) a message is refused with, if any."""
        if not _RECIPIENT.fullmatch(message.recipient):
            return INVALID_MOBILE
        if not message.body or len(message.body) > MAX_BODY_LENGTH:
            return INVALID_BODY
        if account.senders is not None and message.sender not in account.senders:
            return INVALID_SENDER
        if message.recipient.startswith(self.closed_prefixes):
            return INVALID_ROUTE
        if message.recipient in self.blocked_numbers:
            return BLOCKED_MOBILE
        return None

    def _query_messages(self, username: str, document: dict[str, Any]) -> dict[str, Any]:
        references = document.get("References")
        if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
            return self._reply(INCORRECT_PARAMETER)
        statuses = []
        for reference in references:
            message = self.messages.get((username, reference))
            if message is not None:
                code = self.status_of(message)
                statuses.append(
                    {"Reference": reference, "StatusCode": code, "Status": MESSAGE_NAMES[code]}
                )
        return self._reply(SUCCESS, MessageStatuses=statuses)

    def _query_balance(self, username: str, document: dict[str, Any]) -> dict[str, Any]:
        account = self.accounts[username]
        # 000 L360-366: the example sends the amounts as strings.
        return self._reply(
            SUCCESS,
            Balance=str(account.balance),
            BalanceNegativeLimit=str(account.negative_limit),
            AvailableFund=str(account.available),
        )


SIM_KEY: Final = web.AppKey("mobipace_sim", MobipaceSim)


def build_app(sim: MobipaceSim | None = None, **options: Any) -> web.Application:
    """The fake's aiohttp application, serving /v3/<method>; `options` are `MobipaceSim`'s
    keyword arguments."""
    state = sim if sim is not None else MobipaceSim(**options)
    app = web.Application()
    app[SIM_KEY] = state

    def endpoint(method: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            reply, hang = await state.handle(method, await request.read())
            if hang:
                await state.clock.sleep(state.hang_seconds)
            return web.json_response(reply)

        return handler

    for method in METHODS:
        app.router.add_post(f"/v3/{method}", endpoint(method))
    return app


def _is_message(item: Any) -> bool:
    # 000 L191-194: Recipient and Body are required strings, Reference an optional string.
    return (
        isinstance(item, dict)
        and isinstance(item.get("Recipient"), str)
        and isinstance(item.get("Body"), str)
        and isinstance(item.get("Reference", ""), str)
    )


def _valid_options(document: dict[str, Any]) -> bool:
    within = document.get("SendWithinHours", 0)
    wap_push = document.get("IsWapPush", "false")
    return (
        isinstance(within, int)
        and not isinstance(within, bool)
        and 0 <= within <= MAX_SEND_WITHIN_HOURS
        # 000 L185: the strings "true"/"false"; a JSON boolean is tolerated (spec §1.13 M4).
        and (isinstance(wap_push, bool) or str(wap_push).strip().lower() in ("true", "false"))
    )


def _scheduled(value: Any) -> float | None:
    """ScheduledDate as a wall time (UTC, the account's default zone, 000 L85-89), or None.

    Raises ValueError when it is there but unreadable.
    """
    if value is None:
        return None
    for pattern in _SCHEDULED_FORMATS:
        try:
            return datetime.strptime(str(value).strip(), pattern).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise ValueError("unreadable ScheduledDate")
