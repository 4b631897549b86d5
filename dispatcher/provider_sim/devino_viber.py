"""A fake Devino Viber HTTP API (viber.devinotele.com:444, seed 004 chapter 12) for tests and
staging.

It serves `POST /send` and `POST /status` with HTTP Basic authentication (seed L6101-6107),
validates every message as the field tables say (L6183-6296, L6392-6447) and answers with the
return codes of L6845-6940. Messages live as `viber_lifecycle` says, with an SMS re-send when
Viber does not deliver. With a `callback_url`, it POSTs status events there (L6686-6774)
every `callback_interval`, an event counting as received on a 200 answer and tried at most
`callback_attempts` times; with an `incoming_url`, `reply(...)` POSTs an incoming Viber
message there (L6776-6843).

The seed's readings: `commonData` fills in what a message leaves out, `content` merged field by
field (L6450-6496); `resendSms` may be a boolean or the string the examples send (amb. 2); the
`sms*` fields are required exactly when resendSms is on (amb. 1). Messages re-sent by SMS are
reported with their `smsStates` only, as the example shows (L6524-6541).
`print_like_seed=True` prints `/send` answers without the comma after `"status"`, as the seed
does (L6300-6310).

`build_app(**options)` returns the application; `app[SIM_KEY]` is the `ViberApiSim`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import itertools
import json
import re
from collections import Counter, deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp
from aiohttp import web

from dispatcher.clock import Clock, SystemClock
from dispatcher.provider_sim.devino_platform import segment_count
from dispatcher.provider_sim.viber_lifecycle import (
    CALLBACK_STATES,
    SimViber,
    ViberLifecycle,
)
from dispatcher.tasks import cancel_and_wait

MAX_MESSAGES: Final = 100  # seed L6099
MAX_STATUS_IDS: Final = 100  # seed L6503
STATUS_WINDOW_SECONDS: Final = 5 * 86400  # seed L6503-6504
MAX_SUBJECT_CHARS: Final = 11  # seed L6214-6215
PRIORITIES: Final = frozenset({"low", "normal", "high", "realtime"})  # seed L6225-6228
VALIDITY_RANGE: Final = (30, 86400)  # seed L6235
SMS_VALIDITY_RANGE: Final = (60, 86400)  # seed L6290
CONTENT_TYPES: Final = frozenset({"text", "image", "button"})  # seed L6245-6247
MAX_TEXT_CHARS: Final = 1000  # seed L6403
MAX_CAPTION_CHARS: Final = 30  # seed L6404
SMS_FIELDS: Final = ("smsText", "smsSrcAddress", "smsValidityPeriodSec")
# seed L6277-6280: an SMS sender of at most 11 Latin characters or digits.
_SMS_SENDER: Final = re.compile(r"[A-Za-z0-9 ._-]{1,11}")
_ADDRESS: Final = re.compile(r"[0-9]{10,15}")  # seed L6264-6270: E.164 digits
# Our choices for the callback emitter.
DEFAULT_CALLBACK_INTERVAL: Final = 1.0
DEFAULT_CALLBACK_ATTEMPTS: Final = 5
CALLBACK_TIMEOUT_SECONDS: Final = 10.0
FIRST_INCOMING_ID: Final = 1  # seed L6800-6801: small ids in the example
# Staging numbers the provider refuses to send to at all.
SEEDED_SYSTEM_ERROR_NUMBERS: Final = frozenset({"79990000008"})


class ViberApiSim:
    """The provider's state: accounts, messages, callbacks, and scripted faults."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        accounts: dict[str, str] | None = None,
        subjects: set[str] | None = None,
        locked: set[str] | None = None,
        lifecycle: ViberLifecycle | None = None,
        callback_url: str | None = None,
        incoming_url: str | None = None,
        callback_interval: float = DEFAULT_CALLBACK_INTERVAL,
        callback_attempts: int = DEFAULT_CALLBACK_ATTEMPTS,
        print_like_seed: bool = False,
        sms_state_key: str = "state",
    ) -> None:
        self.clock = clock or SystemClock()
        self.accounts = accounts if accounts is not None else {"test": "test"}
        self.subjects = subjects  # None: any well-formed subject is registered
        self.locked = locked or set()
        self.lifecycle = lifecycle or ViberLifecycle(self.clock)
        self.callback_url = callback_url
        self.incoming_url = incoming_url
        self.callback_interval = callback_interval
        self.callback_attempts = callback_attempts
        self.print_like_seed = print_like_seed
        self.sms_state_key = sms_state_key  # seed L6531 "state", L6559 "status"
        self.system_error_numbers = set(SEEDED_SYSTEM_ERROR_NUMBERS)
        self.requests: list[tuple[str, int]] = []  # (path, messages or ids in it)
        self.documents: list[Any] = []  # every /send document, as it came
        self.callbacks: list[list[dict[str, Any]]] = []  # every status callback body POSTed
        self.incoming_posts: list[list[dict[str, Any]]] = []
        self.acknowledged: set[tuple[int, str]] = set()
        self.hang_requests = 0  # the next this many requests are processed, then not answered
        self._forced_codes: deque[str] = deque()
        self._forced_statuses: deque[str] = deque()
        self._attempts: Counter[tuple[int, str]] = Counter()
        self._incoming_ids = itertools.count(FIRST_INCOMING_ID)
        self._release = asyncio.Event()

    def __repr__(self) -> str:
        return f"ViberApiSim(messages={len(self.lifecycle.messages)})"

    # --- scripted faults ----------------------------------------------------------------------

    def fail_next_message(self, code: str) -> None:
        """Answer the next message sent with this per-message `code`."""
        self._forced_codes.append(code)

    def fail_next_request(self, status: str) -> None:
        """Answer the next request with this request-level `status`."""
        self._forced_statuses.append(status)

    # --- the API ------------------------------------------------------------------------------

    def login(self, authorization: str | None) -> str | None:
        """The account of a `Basic` header (seed L6101-6107), None if it is not one."""
        if not authorization or not authorization.startswith("Basic "):
            return None
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        login, _, password = decoded.partition(":")
        return login if self.accounts.get(login) == password else None

    def send(self, login: str, document: Any) -> dict[str, Any]:
        messages = document.get("messages") if isinstance(document, dict) else None
        if not isinstance(messages, list) or not messages or len(messages) > MAX_MESSAGES:
            return {"status": "error-syntax"}
        self.requests.append(("send", len(messages)))
        self.documents.append(document)
        refusal = self._request_refusal(login)
        if refusal:
            return {"status": refusal}
        resend = str(document.get("resendSms", False)).lower() == "true"
        common = document.get("commonData")
        common = common if isinstance(common, dict) else {}
        answers = [self._send_one(login, _merged(common, m), resend) for m in messages]
        return {"status": "ok", "messages": answers}

    def status(self, login: str, document: Any) -> dict[str, Any]:
        ids = document.get("messages") if isinstance(document, dict) else None
        if not isinstance(ids, list) or not ids or len(ids) > MAX_STATUS_IDS:
            return {"status": "error-syntax"}
        self.requests.append(("status", len(ids)))
        refusal = self._request_refusal(login)
        if refusal:
            return {"status": refusal}
        seen: set[int] = set()
        answers = []
        for raw in ids:
            answers.append(self._status_one(login, raw, seen))
        return {"status": "ok", "messages": answers}

    # --- callbacks and incoming messages -------------------------------------------------------

    async def push_callbacks(self) -> int:
        """POST every status event not yet received (at most `callback_attempts` tries each)
        to `callback_url`; how many events were POSTed."""
        if self.callback_url is None:
            return 0
        events, keys = [], []
        for message in self.lifecycle.messages.values():
            for state, reached_wall in self.lifecycle.history(message):
                key = (message.provider_id, state)
                if state not in CALLBACK_STATES or key in self.acknowledged:
                    continue
                if self._attempts[key] >= self.callback_attempts:
                    continue
                events.append(_callback_event(message, state, reached_wall))
                keys.append(key)
        if not events:
            return 0
        self.callbacks.append(events)
        self._attempts.update(keys)
        if await self._post(self.callback_url, events) == 200:
            self.acknowledged.update(keys)
        return len(events)

    async def run_callbacks(self) -> None:
        while True:
            await self.clock.sleep(self.callback_interval)
            await self.push_callbacks()

    async def reply(self, parent_id: int, text: str) -> bool:
        """The subscriber of message `parent_id` answers `text`: POST it to `incoming_url`
        (seed L6794-6810), tried up to `callback_attempts` times; True once it was taken."""
        parent = self.lifecycle.messages[parent_id]
        if self.incoming_url is None:
            raise ValueError("no incoming_url configured")
        record = {
            "id": next(self._incoming_ids),
            "parentId": parent.provider_id,
            "receivedAt": _timestamp(self.clock.wall()),
            "subject": parent.subject,
            "address": parent.number,
            "contentType": "text",
            "content": text,
        }
        for attempt in range(self.callback_attempts):
            self.incoming_posts.append([record])
            if await self._post(self.incoming_url, [record]) == 200:
                return True
            if attempt + 1 < self.callback_attempts:
                await self.clock.sleep(self.callback_interval)
        return False

    async def hang_if_asked(self) -> None:
        if self.hang_requests > 0:
            self.hang_requests -= 1
            with contextlib.suppress(TimeoutError):
                await self.clock.wait_for(self._release.wait(), 300.0)

    def release_hung(self) -> None:
        self._release.set()

    # --- internals ----------------------------------------------------------------------------

    def _request_refusal(self, login: str) -> str | None:
        if self._forced_statuses:
            return self._forced_statuses.popleft()
        if login in self.locked:
            return "error-account-locked"
        return None

    def _send_one(self, login: str, message: Any, resend: bool) -> dict[str, Any]:
        code = self._refusal(message, resend) if isinstance(message, dict) else "error-syntax"
        if code is None and self._forced_codes:
            code = self._forced_codes.popleft()
        if code is not None:
            return {"code": code}
        assert isinstance(message, dict)
        content = message["content"]
        text = content.get("text", "") if isinstance(content, dict) else ""
        sim = self.lifecycle.create(
            login,
            message["address"],
            message["subject"],
            text,
            float(message["validityPeriodSec"]),
            resend=resend,
            sms_segments=segment_count(str(message.get("smsText", text)) or "x"),
        )
        return {"providerId": sim.provider_id, "code": "ok"}

    def _refusal(self, message: dict[str, Any], resend: bool) -> str | None:
        """The first per-message return code that applies (seed L6867-6940), or None."""
        subject = message.get("subject")
        if not subject:
            return "error-subject-not-specified"
        if not isinstance(subject, str) or len(subject) > MAX_SUBJECT_CHARS:
            return "error-subject-format"
        if self.subjects is not None and subject not in self.subjects:
            return "error-subject-unknown"
        address = message.get("address")
        if not address:
            return "error-address-not-specified"
        if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
            return "error-address-format"
        if message.get("priority") not in PRIORITIES:
            return "error-priority-format"
        comment = message.get("comment")
        if comment is not None and not isinstance(comment, str):
            return "error-comment-format"
        validity = message.get("validityPeriodSec")
        if not _in_range(validity, VALIDITY_RANGE):
            return "error-validity-period-seconds-format"
        if not message.get("type"):
            return "error-instant-message-type-not-specified"
        if message.get("type") != "viber":
            return "error-instant-message-type-format"
        content_problem = _content_refusal(message.get("contentType"), message.get("content"))
        if content_problem is not None:
            return content_problem
        sms_problem = self._sms_refusal(message, resend)
        if sms_problem is not None:
            return sms_problem
        if address in self.system_error_numbers:
            return "error-system"
        return None

    def _sms_refusal(self, message: dict[str, Any], resend: bool) -> str | None:
        given = [name for name in SMS_FIELDS if name in message]
        if not resend:
            return "error-resend-sms-error" if given else None
        if message.get("contentType") == "image":
            return "error-content-type-format"  # seed L6416-6418: an image cannot be re-sent
        text, source = message.get("smsText"), message.get("smsSrcAddress")
        if not isinstance(text, str) or not text:
            return "error-resend-sms-error"
        if not isinstance(source, str) or not _SMS_SENDER.fullmatch(source):
            return "error-resend-sms-error"
        validity = message.get("smsValidityPeriodSec")
        if validity is not None and not _in_range(validity, SMS_VALIDITY_RANGE):
            return "error-resend-sms-validity-period-error"
        return None

    def _status_one(self, login: str, raw: Any, seen: set[int]) -> dict[str, Any]:
        if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
            return {"providerId": raw, "code": "error-instant-message-provider-id-format"}
        provider_id = int(raw)
        if provider_id in seen:
            duplicate = "error-instant-message-provider-id-duplicate"
            return {"providerId": provider_id, "code": duplicate}
        seen.add(provider_id)
        message = self.lifecycle.messages.get(provider_id)
        too_old = (
            message is not None
            and self.clock.monotonic() - message.created >= STATUS_WINDOW_SECONDS
        )
        if message is None or message.login != login or too_old:
            return {"providerId": provider_id, "code": "error-instant-message-provider-id-unknown"}
        view = self.lifecycle.view(message)
        answer: dict[str, Any] = {"providerId": provider_id, "code": "ok"}
        if view.sms:
            answer["smsStates"] = [
                {"id": sms_id, self.sms_state_key: state} for sms_id, state in view.sms
            ]
            return answer
        answer["status"] = view.state
        answer["statusAt"] = _timestamp(view.changed_wall)
        if view.error_code:
            answer["errorCode"] = view.error_code
        return answer

    async def _post(self, url: str, records: list[dict[str, Any]]) -> int | None:
        timeout = aiohttp.ClientTimeout(total=self.clock.real_seconds(CALLBACK_TIMEOUT_SECONDS))
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.post(
                    url,
                    data=json.dumps(records, ensure_ascii=False).encode("utf-8"),
                    headers={"Content-Type": "application/json; charset=utf-8"},
                ) as response,
            ):
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return None


SIM_KEY: Final = web.AppKey("devino_viber_api", ViberApiSim)


def build_app(sim: ViberApiSim | None = None, **options: Any) -> web.Application:
    """The fake's application; `options` are `ViberApiSim`'s keyword arguments."""
    state = sim if sim is not None else ViberApiSim(**options)
    app = web.Application()
    app[SIM_KEY] = state

    def endpoint(path: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            login = state.login(request.headers.get("Authorization"))
            if login is None:
                return _answer({"status": "error-auth"}, status=401)
            try:
                document = json.loads(await request.read())
            except ValueError:
                return _answer({"status": "error-syntax"})
            if path == "send":
                answer = state.send(login, document)
            else:
                answer = state.status(login, document)
            await state.hang_if_asked()
            if path == "send" and state.print_like_seed:
                return _answer_like_seed(answer)
            return _answer(answer)

        return handler

    app.router.add_post("/send", endpoint("send"))
    app.router.add_post("/status", endpoint("status"))

    async def background(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(state.run_callbacks()) if state.callback_url else None
        yield
        state.release_hung()
        if task is not None:
            await cancel_and_wait(task)

    async def release(_: web.Application) -> None:
        state.release_hung()

    app.cleanup_ctx.append(background)
    app.on_shutdown.append(release)
    return app


def _merged(common: dict[str, Any], message: Any) -> Any:
    """A message with `commonData` under it; `content` merged field by field (L6450-6496)."""
    if not isinstance(message, dict):
        return message
    merged = {**common, **message}
    if isinstance(common.get("content"), dict) and isinstance(message.get("content"), dict):
        merged["content"] = {**common["content"], **message["content"]}
    return merged


def _content_refusal(content_type: Any, content: Any) -> str | None:
    if content_type not in CONTENT_TYPES:
        return "error-content-type-format"
    if not isinstance(content, dict) or not content:
        return "error-content-not-specified"
    if content_type == "image":
        return None if content.get("imageUrl") else "error-content-not-specified"
    text = content.get("text")
    if not isinstance(text, str) or not text:
        return "error-content-not-specified"
    if content_type == "button":
        caption, action = content.get("caption"), content.get("action")
        if not 2 <= len(text) <= MAX_TEXT_CHARS or not isinstance(action, str) or not action:
            return "error-content-type-format"
        if not isinstance(caption, str) or not 0 < len(caption) <= MAX_CAPTION_CHARS:
            return "error-content-type-format"
    elif len(text) > MAX_TEXT_CHARS:
        return "error-content-type-format"
    return None


def _callback_event(message: SimViber, state: str, reached_wall: float) -> dict[str, Any]:
    # seed L6702-6710: id, receivedAt as epoch milliseconds in a string, STATUS, ERROR_CODE.
    event: dict[str, Any] = {
        "id": message.provider_id,
        "receivedAt": str(round(reached_wall * 1000)),
        "status": state.upper(),
    }
    if state == "undelivered" and message.error_code:
        event["errorCode"] = message.error_code.upper().replace("-", "_")
    return event


def _in_range(value: Any, bounds: tuple[int, int]) -> bool:
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return bounds[0] <= value <= bounds[1]


def _timestamp(unix_seconds: float) -> str:
    # seed L6123-6125, L6663-6665: "yyyy-MM-dd HH:mm:ss" in UTC.
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _answer(document: dict[str, Any], *, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(document, ensure_ascii=False),
        content_type="application/json",
        charset="utf-8",
    )


def _answer_like_seed(document: dict[str, Any]) -> web.Response:
    """The `/send` answer laid out as seed L6300-6310 prints it: no comma after the status."""
    lines = json.dumps(document, ensure_ascii=False, indent=1).splitlines()
    text = "\n".join(
        line.rstrip(",") if line.strip().startswith('"status"') else line for line in lines
    )
    return web.Response(text=text, content_type="application/json", charset="utf-8")
