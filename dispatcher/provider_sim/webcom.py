"""A fake Webcom JSON API (my3.webcom.mobi) for tests and staging.

It follows seed 002_c40e90e0fb817807.txt and spec http-providers.md §2.9: `json/` (also
`json/index.php`), `json/state.php` and `json/balance.php`; a raw JSON body whatever its
content type; login+password or token in every document; the four document-level error texts
and the sixteen per-phone ones, verbatim; `client_id_sms` dedupe (a repeated id returns the
earlier `id_sms` and sends nothing, 002 L173-175); states `send` → `deliver` / `not_deliver` /
`expired` / `partly_deliver` (→ `read` on messengers) on a clock-driven timeline; and the status
callback POSTed to a configured URL, acknowledged only by the ids echoed back, at most 5
attempts per status (002 L298).

Where the seed is silent the fake picks one reading and says so: an unknown `id_sms` at
state.php is answered `{"error": "SMS не найдено"}` (a text outside the documented four), and
parts are counted GSM-7 160/153 or UCS-2 70/67.

`build_app(**options)` returns the aiohttp application; `app[SIM_KEY]` is the `WebcomSim` that
tests seed and inspect. With a `callback_url` the app pushes statuses every `callback_interval`.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Final

import aiohttp
from aiohttp import web

from dispatcher.clock import Clock, SystemClock
from dispatcher.tasks import cancel_and_wait
from pdu.segmentation import count_parts

# 002 L188, L238, L330: document-level errors.
BAD_JSON: Final = "Неправильный формат JSON документа"
ACCOUNT_BLOCKED: Final = "Ваш аккаунт заблокирован"
BAD_LOGIN: Final = "Неправильный логин или пароль"
NO_POST_DATA: Final = "POST данные отсутствуют"
# 002 L202: the per-phone errors this fake produces by itself; any other one (e.g. the
# provider running out of SMS) can be scripted per phone with `refusals`.
NO_SMS_LEFT: Final = "закончились SMS"
NO_PHONE: Final = "укажите номер телефона"
STOP_LISTED: Final = "номер телефона присутствует в стоп-листе"
DIRECTION_CLOSED_FOR_YOU: Final = "данное направление закрыто для вас"
TEXT_REJECTED: Final = "текст SMS отклонен модератором"
NO_SENDER: Final = "нет отправителя"
SENDER_TOO_LONG: Final = (
    "отправитель не должен превышать 15 символов для цифровых номеров и 11 символов для "
    "буквенно-числовых"
)
PHONE_TOO_LONG: Final = "номер телефона должен быть меньше 15 символов"
NO_TEXT: Final = "нет текста сообщения"
UNKNOWN_SENDER: Final = "такого отправителя нет"
SENDER_NOT_MODERATED: Final = "отправитель не прошел модерацию"
# Not in the seed: the fake's answer for an id_sms it does not have.
UNKNOWN_ID: Final = "SMS не найдено"

# 002 L166, L108-162: the channels and the fields that carry sender and text in each.
CHANNEL_FIELDS: Final[dict[str, tuple[str, str]]] = {
    "sms": ("sender", "text"),
    "whatsapp": ("name_clients_whatsapp", "text_whatsapp"),
    "telegram": ("name_clients_telegram", "text_telegram"),
}
MAX_PHONE_LENGTH: Final = 14  # 002 L202: "меньше 15 символов"
MAX_NUMERIC_SENDER: Final = 15  # 002 L202
MAX_ALPHANUMERIC_SENDER: Final = 11  # 002 L202
CALLBACK_ATTEMPTS: Final = 5  # 002 L298
CALLBACK_TIMEOUT_SECONDS: Final = 30.0  # not in the seed: how long the fake waits for the ack
TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"  # 002 L245, L277
MOSCOW: Final = timezone(timedelta(hours=3), "MSK")

# Staging numbers that end badly (the default outcome is "deliver"): seeded failures.
SEEDED_OUTCOMES: Final[dict[str, str]] = {
    "79990000201": "not_deliver",
    "79990000202": "expired",
    "79990000203": "partly_deliver",
}

PATHS: Final[dict[str, str]] = {
    "/json/": "send",
    "/json/index.php": "send",
    "/json/state.php": "state",
    "/json/balance.php": "balance",
}


@dataclass
class Account:
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    blocked: bool = False  # ACCOUNT_BLOCKED
    money: Decimal = Decimal("19023.9")
    currency: str = "RUR"
    sms_left: int | None = None  # None: "Безлимит"; 0: NO_SMS_LEFT
    senders: set[str] | None = None  # registered senders; None: any
    unmoderated_senders: set[str] = field(default_factory=set)


@dataclass
class SimMessage:
    id_sms: int
    login: str
    client_id_sms: str | None
    phone: str
    channel: str
    sender: str
    text: str
    parts: int
    accepted_at: float  # clock.monotonic()
    accepted_wall: float
    final_state: str
    validity_period: str | None = None


@dataclass(frozen=True)
class _Hang:
    processed: bool


class WebcomSim:
    """The provider's state: accounts, messages, callbacks, and scripted faults."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        accounts: dict[str, str] | None = None,
        tokens: dict[str, str] | None = None,
        price_per_part: Decimal = Decimal("10.6"),
        final_after: float = 5.0,
        read_after: float = 10.0,
        hang_seconds: float = 60.0,
        outcomes: dict[str, str] | None = None,
        stop_list: set[str] | None = None,
        closed_prefixes: tuple[str, ...] = (),
        rejected_words: tuple[str, ...] = (),
        refusals: dict[str, str] | None = None,
        callback_url: str | None = None,
        callback_interval: float = 1.0,
    ) -> None:
        self.clock = clock or SystemClock()
        self.accounts = {
            login: Account(password=password)
            for login, password in (accounts if accounts is not None else {"demo": "demo"}).items()
        }
        for token, login in (tokens or {}).items():
            self.accounts.setdefault(login, Account()).token = token
        self.price_per_part = price_per_part
        self.final_after = final_after
        self.read_after = read_after  # messengers only: "deliver" becomes "read"
        self.hang_seconds = hang_seconds
        self.outcomes = dict(SEEDED_OUTCOMES if outcomes is None else outcomes)
        self.stop_list = set(stop_list or ())
        self.closed_prefixes = closed_prefixes
        self.rejected_words = rejected_words
        self.refusals = dict(refusals or {})  # phone -> the per-phone error it always gets
        self.callback_url = callback_url
        self.callback_interval = callback_interval
        self.messages: dict[int, SimMessage] = {}  # by id_sms: what was really sent
        self.by_client_id: dict[tuple[str, str], int] = {}
        self.requests: Counter[str] = Counter()  # "send" / "state" / "balance" -> requests
        self.callbacks: list[list[dict[str, str]]] = []  # every callback body POSTed
        self.acknowledged: set[tuple[int, str]] = set()  # (id_sms, state) echoed back
        self._callback_attempts: Counter[tuple[int, str]] = Counter()
        self._hangs: dict[str, list[_Hang]] = {}
        self._failures: dict[str, list[str]] = {}
        self._next_id = 82216

    def hang_next(self, method: str, count: int = 1, *, processed: bool = True) -> None:
        """The next `count` requests to `method` ("send", "state", "balance") are answered
        only after `hang_seconds`. `processed`: whether the work was done first."""
        self._hangs.setdefault(method, []).extend([_Hang(processed)] * count)

    def fail_next(self, method: str, error: str) -> None:
        """The next request to `method` is answered `{"error": error}`, unprocessed."""
        self._failures.setdefault(method, []).append(error)

    def sent_with_client_id(self, login: str, client_id_sms: str) -> list[SimMessage]:
        return [
            m for m in self.messages.values()
            if m.login == login and m.client_id_sms == client_id_sms
        ]

    def state_of(self, message: SimMessage) -> tuple[str, str]:
        """(state, time of the change): "send" with an empty time until the timeline moves."""
        elapsed = self.clock.monotonic() - message.accepted_at
        if elapsed < self.final_after:
            return "send", ""
        state, changed = message.final_state, self.final_after
        if state == "deliver" and message.channel != "sms" and elapsed >= self.read_after:
            state, changed = "read", self.read_after
        moment = datetime.fromtimestamp(message.accepted_wall + changed, tz=MOSCOW)
        return state, moment.strftime(TIME_FORMAT)

    def handle(self, method: str, body: bytes) -> tuple[dict[str, Any], bool]:
        """The answer to one request, and whether to hang before sending it."""
        self.requests[method] += 1
        hangs = self._hangs.get(method)
        spec = hangs.pop(0) if hangs else None
        hang = spec is not None
        if spec is not None and not spec.processed:
            return {"error": BAD_JSON}, hang  # never seen by the client: it gave up
        failures = self._failures.get(method)
        if failures:
            return {"error": failures.pop(0)}, hang
        if not body.strip():
            return {"error": NO_POST_DATA}, hang
        try:
            document = json.loads(body)
        except ValueError:
            return {"error": BAD_JSON}, hang
        if not isinstance(document, dict):
            return {"error": BAD_JSON}, hang
        login = self._login(document)
        if login is None:
            return {"error": BAD_LOGIN}, hang
        if self.accounts[login].blocked:
            return {"error": ACCOUNT_BLOCKED}, hang
        if method == "send":
            return self._send(login, document), hang
        if method == "state":
            return self._state(login, document), hang
        return self._balance(login), hang

    async def push_callbacks(self) -> int:
        """POST every status change not yet acknowledged (at most 5 attempts each) to
        `callback_url`; how many records were POSTed."""
        if self.callback_url is None:
            return 0
        records, keys = [], []
        for message in self.messages.values():
            state, changed = self.state_of(message)
            key = (message.id_sms, state)
            if state == "send" or key in self.acknowledged:
                continue
            if self._callback_attempts[key] >= CALLBACK_ATTEMPTS:
                continue
            # 002 L276-279: the template shows id_sms as a string.
            records.append({"id_sms": str(message.id_sms), "time": changed, "state": state})
            keys.append(key)
        if not records:
            return 0
        self.callbacks.append(records)
        self._callback_attempts.update(keys)
        echoed = await self._post_callback(self.callback_url, records)
        self.acknowledged.update(key for key in keys if str(key[0]) in echoed)
        return len(records)

    async def run_callbacks(self) -> None:
        while True:
            await self.clock.sleep(self.callback_interval)
            await self.push_callbacks()

    async def _post_callback(self, url: str, records: list[dict[str, str]]) -> set[str]:
        timeout = aiohttp.ClientTimeout(total=self.clock.real_seconds(CALLBACK_TIMEOUT_SECONDS))
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.post(
                    url,
                    data=json.dumps(records, ensure_ascii=False).encode("utf-8"),
                    headers={"Content-Type": "text/json; charset=utf-8"},
                ) as response,
            ):
                answer = json.loads(await response.read())
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return set()  # an attempt that counts, and acknowledges nothing
        if not isinstance(answer, list):
            return set()
        return {
            str(item["id_sms"]) for item in answer if isinstance(item, dict) and "id_sms" in item
        }

    def _login(self, document: dict[str, Any]) -> str | None:
        token = document.get("token")
        for login, account in self.accounts.items():
            if token is not None and account.token is not None and token == account.token:
                return login
            if (
                token is None
                and document.get("login") == login
                and account.password is not None
                and document.get("password") == account.password
            ):
                return login
        return None

    def _send(self, login: str, document: dict[str, Any]) -> dict[str, Any]:
        groups = document.get("message")
        if not isinstance(groups, list) or not all(_is_group(g) for g in groups):
            return {"error": BAD_JSON}
        information = [
            self._send_one(login, group, phone) for group in groups for phone in group["phones"]
        ]
        return {"information": information}

    def _send_one(self, login: str, group: dict[str, Any], entry: Any) -> dict[str, Any]:
        if not isinstance(entry, dict):
            return {"error": NO_PHONE}
        client_id = entry.get("client_id_sms")
        client_key = str(client_id) if client_id is not None else None
        if client_key is not None and (login, client_key) in self.by_client_id:
            # 002 L173-175: not sent again; the number of the earlier SMS is returned.
            return {"state": "send", "id_sms": self.by_client_id[(login, client_key)]}
        channel = group["type_send_1"]
        sender_field, text_field = CHANNEL_FIELDS[channel]
        phone = str(entry.get("phone") or "").strip()
        sender = str(group.get(sender_field) or "").strip()
        text = str(group.get(text_field) or "")
        error = self._refusal(self.accounts[login], phone, sender, text)
        if error is not None:
            return {"error": error}
        account = self.accounts[login]
        if account.sms_left is not None:
            account.sms_left -= 1
        message = SimMessage(
            id_sms=self._next_id,
            login=login,
            client_id_sms=client_key,
            phone=phone,
            channel=channel,
            sender=sender,
            text=text,
            parts=count_parts(text),
            accepted_at=self.clock.monotonic(),
            accepted_wall=self.clock.wall(),
            final_state=self.outcomes.get(phone, "deliver"),
            validity_period=entry.get("validity_period"),
        )
        self._next_id += 1
        self.messages[message.id_sms] = message
        if client_key is not None:
            self.by_client_id[(login, client_key)] = message.id_sms
        return {"state": "send", "id_sms": message.id_sms}

    def _refusal(self, account: Account, phone: str, sender: str, text: str) -> str | None:
        if phone in self.refusals:
            return self.refusals[phone]
        if not phone:
            return NO_PHONE
        if len(phone) > MAX_PHONE_LENGTH:
            return PHONE_TOO_LONG
        if phone in self.stop_list:
            return STOP_LISTED
        if phone.startswith(self.closed_prefixes):
            return DIRECTION_CLOSED_FOR_YOU
        if not sender:
            return NO_SENDER
        limit = MAX_NUMERIC_SENDER if sender.isdigit() else MAX_ALPHANUMERIC_SENDER
        if len(sender) > limit:
            return SENDER_TOO_LONG
        if account.senders is not None and sender not in account.senders:
            return UNKNOWN_SENDER
        if sender in account.unmoderated_senders:
            return SENDER_NOT_MODERATED
        if not text.strip():
            return NO_TEXT
        if any(word.casefold() in text.casefold() for word in self.rejected_words):
            return TEXT_REJECTED
        if account.sms_left is not None and account.sms_left <= 0:
            return NO_SMS_LEFT
        return None

    def _state(self, login: str, document: dict[str, Any]) -> dict[str, Any]:
        raw_id = document.get("id_sms")
        try:
            id_sms = int(str(raw_id).strip())
        except ValueError:
            return {"error": BAD_JSON}
        message = self.messages.get(id_sms)
        if message is None or message.login != login:
            return {"error": UNKNOWN_ID}
        state, changed = self.state_of(message)
        answer: dict[str, Any] = {"id_sms": id_sms, "time_change_state": changed, "state": state}
        if document.get("detail") in (1, "1"):
            answer |= {"num_parts": message.parts, "price": float(self.price_per_part)}
        return answer

    def _balance(self, login: str) -> dict[str, Any]:
        account = self.accounts[login]
        left = "Безлимит" if account.sms_left is None else str(account.sms_left)
        return {
            "money": str(account.money),
            "currency": account.currency,
            "information": [{"type_sms": "sms", "area": "Россия", "num_sms": left}],
        }


SIM_KEY: Final = web.AppKey("webcom_sim", WebcomSim)


def build_app(sim: WebcomSim | None = None, **options: Any) -> web.Application:
    """The fake's aiohttp application; `options` are `WebcomSim`'s keyword arguments."""
    state = sim if sim is not None else WebcomSim(**options)
    app = web.Application()
    app[SIM_KEY] = state

    def endpoint(method: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            answer, hang = state.handle(method, await request.read())
            if hang:
                await state.clock.sleep(state.hang_seconds)
            return web.json_response(answer, dumps=_dumps)

        return handler

    for path, method in PATHS.items():
        app.router.add_post(path, endpoint(method))

    async def callbacks(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(state.run_callbacks()) if state.callback_url else None
        yield
        if task is not None:
            await cancel_and_wait(task)

    app.cleanup_ctx.append(callbacks)
    return app


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _is_group(group: Any) -> bool:
    return (
        isinstance(group, dict)
        and group.get("type_send_1") in CHANNEL_FIELDS
        and isinstance(group.get("phones"), list)
    )
