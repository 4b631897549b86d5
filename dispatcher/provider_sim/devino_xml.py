"""A fake Devino XML API (Send.ashx, Statistics.ashx) for tests and staging.

It follows seed 004_80a28bca441860d4.txt chapter 6 (L3225-3456) and spec
devino-smpp-http-soap.md §3: credentials in the `package` tag of every request, per-message
result codes in request order, statuses by gateway `sms_id` or client `id` (at most 1000 per
request, for 3 days), the document-level errors 200-202 and the message-level errors 200-207.

Where the seed is silent the fake picks one reading and says so: a repeated client id is
accepted again as a new message (nothing in the seed dedupes), an unknown id is answered ERR_ID
(201), and a status answer goes `1` (the seed's undocumented in-progress value) → ENROUTE →
the final status on a clock-driven timeline.

`build_app(**options)` returns the aiohttp application; `app[SIM_KEY]` is the `DevinoXmlSim`
that tests seed and inspect (accounts, credit, scripted outcomes, hung or failed requests).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web

from dispatcher.clock import Clock, SystemClock
from dispatcher.fallback.http import parse_xml
from pdu.segmentation import count_parts

SEND: Final = "send.ashx"  # seed 004 L3252 (IIS matches handler names case-insensitively)
STATISTICS: Final = "statistics.ashx"  # seed 004 L3346

# seed 004 L3350: at most 1000 ids per status request, for the last 3 calendar days.
MAX_IDS_PER_STATUS_REQUEST: Final = 1000
STATUS_WINDOW_SECONDS: Final = 3 * 24 * 3600
# seed 004 L3415-3418: document-level codes.
ERR_UNKNOWN_DOCUMENT: Final = "200"
ERR_FORMAT: Final = "201"
ERR_AUTHORIZATION: Final = "202"
# seed 004 L3448-3456: message-level codes.
ERR_UNKNOWN: Final = "200"
ERR_ID: Final = "201"
ERR_SENDER: Final = "202"
ERR_RECIPIENT: Final = "203"
ERR_LENGTH: Final = "204"
ERR_USER_DISABLE: Final = "205"
ERR_BILLING: Final = "206"
ERR_OVERLIMIT: Final = "207"
# seed 004 L3324, L3393: the undocumented value the examples answer for a message in progress.
IN_PROGRESS: Final = "1"
ENROUTE: Final = "101"  # seed 004 L3436
DELIVERED: Final = "102"  # seed 004 L3437
FINAL_STATUSES: Final = frozenset({"102", "103", "104", "105", "107", "108", "109"})

# seed 004 L3293: "79031234567, +79031234567", varchar(21).
_RECIPIENT: Final = re.compile(r"\+?[0-9]{10,15}")
MAX_SENDER_LENGTH: Final = 11  # seed 004 L3294: varchar(11)
MESSAGE_TYPES: Final = frozenset({"0", "1", "2"})  # seed 004 L3308
WAP_PUSH: Final = "2"
# The seed gives no text limit for ERR_LENGTH (L3453); the REST API's 2000 characters are used.
MAX_TEXT_LENGTH: Final = 2000

# Staging numbers that end badly (the default outcome is DELIVERED): a few seeded failures.
SEEDED_OUTCOMES: Final[dict[str, str]] = {
    "79990000103": "103",  # EXPIRED
    "79990000105": "105",  # UNDELIVERABLE
    "79990000107": "107",  # UNKNOWN
    "79990000108": "108",  # REJECTED
}


@dataclass
class SimMessage:
    sms_id: int  # 0 when refused at send
    login: str
    client_id: str | None
    recipient: str
    sender: str
    text: str
    parts: int
    accepted_at: float  # clock.monotonic()
    accepted_wall: float
    final_code: str  # where its timeline ends (or the error code it was refused with)
    refused: bool = False
    date_end: str | None = None


@dataclass
class Account:
    password: str = field(repr=False)
    disabled: bool = False  # ERR_USER_DISABLE (205)
    credit: int | None = None  # SMS parts it can still pay for; None: unlimited (ERR_BILLING)
    message_limit: int | None = None  # messages it may still send; None: unlimited (207)


class DevinoXmlSim:
    """The provider's state: accounts, messages, and the faults scripted for the next requests."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        accounts: dict[str, str] | None = None,
        enroute_after: float = 1.0,
        final_after: float = 5.0,
        hang_seconds: float = 120.0,
        outcomes: dict[str, str] | None = None,
        refusals: dict[str, str] | None = None,
        status_window_seconds: float = STATUS_WINDOW_SECONDS,
    ) -> None:
        self.clock = clock or SystemClock()
        self.accounts = {
            login: Account(password)
            for login, password in (accounts if accounts is not None else {"demo": "demo"}).items()
        }
        self.enroute_after = enroute_after
        self.final_after = final_after
        self.hang_seconds = hang_seconds
        # recipient -> the final status its timeline reaches (default DELIVERED)
        self.outcomes = dict(SEEDED_OUTCOMES if outcomes is None else outcomes)
        # recipient -> the message-level error code its send is refused with
        self.refusals = dict(refusals or {})
        self.status_window_seconds = status_window_seconds
        self.messages: dict[int, SimMessage] = {}  # accepted, by sms_id
        self.sent: list[SimMessage] = []  # every <msg> answered, accepted or refused
        self.requests: Counter[str] = Counter()  # handler name -> requests received
        self.status_request_sizes: list[int] = []
        self._hangs: dict[str, list[bool]] = {}  # handler -> "processed?" of each hang to come
        self._document_errors: dict[str, list[str]] = {}
        self._next_sms_id = 1_000_001

    def hang_next(self, handler: str, count: int = 1, *, processed: bool = True) -> None:
        """The next `count` requests to `handler` are answered only after `hang_seconds`, so
        the client's timeout fires first. `processed`: whether the provider did the work
        (accepted the messages) before going silent, or lost the request unprocessed."""
        self._hangs.setdefault(handler.lower(), []).extend([processed] * count)

    def fail_next(self, handler: str, code: str) -> None:
        """The next request to `handler` gets the document-level error `code`, unprocessed."""
        self._document_errors.setdefault(handler.lower(), []).append(code)

    def accepted(self, login: str, client_id: str) -> list[SimMessage]:
        """Every accepted message of `login` with this client id (a duplicate send shows here)."""
        return [m for m in self.messages.values() if m.login == login and m.client_id == client_id]

    def status_code(self, message: SimMessage) -> str:
        if message.refused:
            return message.final_code
        elapsed = self.clock.monotonic() - message.accepted_at
        if elapsed >= self.final_after:
            return message.final_code
        return ENROUTE if elapsed >= self.enroute_after else IN_PROGRESS

    async def handle(self, handler: str, body: bytes) -> tuple[ET.Element, bool]:
        """The answer to one request, and whether to hang before sending it."""
        self.requests[handler] += 1
        hangs = self._hangs.get(handler)
        hang, processed = (True, hangs.pop(0)) if hangs else (False, True)
        if not processed:
            return _error_document(ERR_UNKNOWN_DOCUMENT), hang
        scripted = self._document_errors.get(handler)
        if scripted:
            return _error_document(scripted.pop(0)), hang
        try:
            package = parse_xml(body)
        except (ET.ParseError, ValueError):
            return _error_document(ERR_FORMAT), hang
        if package.tag != "package":
            return _error_document(ERR_FORMAT), hang
        login = package.get("login", "")
        account = self.accounts.get(login)
        if account is None or package.get("password") != account.password:
            return _error_document(ERR_AUTHORIZATION), hang
        if handler == SEND:
            return self._send(login, account, package), hang
        return self._statistics(login, package), hang

    def _send(self, login: str, account: Account, package: ET.Element) -> ET.Element:
        section = package.find("message")
        if section is None:
            return _error_document(ERR_FORMAT)
        default = section.find("default")
        defaults = dict(default.attrib) if default is not None else {}
        answer, answer_section = _answer_document("message")
        for msg in section.iterfind("msg"):
            attributes = {**defaults, **msg.attrib}  # L3285-3287: the msg's own attribute wins
            message = self._accept(login, account, attributes, msg.text or "")
            echo = {"id": message.client_id} if message.client_id is not None else {}
            ET.SubElement(
                answer_section,
                "msg",
                {**echo, "sms_id": str(message.sms_id), "sms_count": str(message.parts)},
            ).text = message.final_code if message.refused else IN_PROGRESS
        return answer

    def _accept(
        self, login: str, account: Account, attributes: dict[str, str], text: str
    ) -> SimMessage:
        recipient = attributes.get("recipient", "")
        parts = count_parts(text) if text else 0
        error = self.refusals.get(recipient.lstrip("+")) or _refusal(
            account, attributes, text, parts
        )
        message = SimMessage(
            sms_id=0 if error else self._next_sms_id,
            login=login,
            client_id=attributes.get("id"),
            recipient=recipient,
            sender=attributes.get("sender", ""),
            text=text,
            date_end=attributes.get("date_end"),
            parts=parts,
            accepted_at=self.clock.monotonic(),
            accepted_wall=self.clock.wall(),
            final_code=error or self.outcomes.get(recipient.lstrip("+"), DELIVERED),
            refused=error is not None,
        )
        self.sent.append(message)
        if error is None:
            self._next_sms_id += 1
            self.messages[message.sms_id] = message
            if account.credit is not None:
                account.credit -= parts
            if account.message_limit is not None:
                account.message_limit -= 1
        return message

    def _statistics(self, login: str, package: ET.Element) -> ET.Element:
        section = package.find("status")
        if section is None:
            return _error_document(ERR_FORMAT)
        asked = section.findall("msg")
        self.status_request_sizes.append(len(asked))
        if len(asked) > MAX_IDS_PER_STATUS_REQUEST:  # seed 004 L3350
            return _error_document(ERR_FORMAT)
        answer, answer_section = _answer_document("status")
        for msg in asked:
            client_id, sms_id = msg.get("id"), msg.get("sms_id")
            message = self._find(login, client_id, sms_id)
            attributes = {"id": client_id} if client_id is not None else {}
            if message is None:
                attributes |= {"sms_id": sms_id or "0", "sms_count": "0"}
                ET.SubElement(answer_section, "msg", attributes).text = ERR_ID
                continue
            code = self.status_code(message)
            attributes |= {"sms_id": str(message.sms_id), "sms_count": str(message.parts)}
            if code in FINAL_STATUSES:
                completed = message.accepted_wall + self.final_after
                attributes["date_completed"] = datetime.fromtimestamp(
                    completed, tz=UTC
                ).strftime("%Y-%m-%dT%H:%M:%S")
            ET.SubElement(answer_section, "msg", attributes).text = code
        return answer

    def _find(self, login: str, client_id: str | None, sms_id: str | None) -> SimMessage | None:
        now = self.clock.monotonic()
        candidates: list[SimMessage] = []
        if sms_id is not None and sms_id.isdigit():
            found = self.messages.get(int(sms_id))
            candidates = [found] if found is not None else []
        elif client_id is not None:
            # The latest message with this id, refused ones included: asking by client id after
            # a lost answer must learn that the message was refused (e.g. ERR_RECIPIENT).
            candidates = [m for m in reversed(self.sent) if m.client_id == client_id]
        for message in candidates:
            # seed 004 L3349-3350: statuses are kept for 3 calendar days.
            if message.login == login and now - message.accepted_at <= self.status_window_seconds:
                return message
        return None


def _refusal(account: Account, attributes: dict[str, str], text: str, parts: int) -> str | None:
    """The message-level error (seed 004 L3448-3456) a <msg> earns, if any."""
    client_id = attributes.get("id")
    sender = attributes.get("sender", "")
    message_type = attributes.get("type", "0")
    if client_id is not None and not client_id.isdigit():
        return ERR_ID
    if not _RECIPIENT.fullmatch(attributes.get("recipient", "")):
        return ERR_RECIPIENT
    if not sender or len(sender) > MAX_SENDER_LENGTH:
        return ERR_SENDER
    if not text.strip() or len(text) > MAX_TEXT_LENGTH:
        return ERR_LENGTH
    wap_push_without_url = message_type == WAP_PUSH and not attributes.get("url")
    if message_type not in MESSAGE_TYPES or wap_push_without_url:
        return ERR_UNKNOWN
    if account.disabled:
        return ERR_USER_DISABLE
    if account.message_limit is not None and account.message_limit < 1:
        return ERR_OVERLIMIT
    if account.credit is not None and account.credit < parts:
        return ERR_BILLING
    return None


SIM_KEY: Final = web.AppKey("devino_xml_sim", DevinoXmlSim)


def build_app(sim: DevinoXmlSim | None = None, **options: Any) -> web.Application:
    """The fake's aiohttp application; `options` are `DevinoXmlSim`'s keyword arguments."""
    state = sim if sim is not None else DevinoXmlSim(**options)
    app = web.Application()
    app[SIM_KEY] = state

    async def dispatch(request: web.Request) -> web.Response:
        handler = request.match_info["handler"].lower()
        if handler not in (SEND, STATISTICS):
            raise web.HTTPNotFound()
        answer, hang = await state.handle(handler, await request.read())
        if hang:
            await state.clock.sleep(state.hang_seconds)
        return web.Response(
            body=ET.tostring(answer, encoding="utf-8", xml_declaration=True),
            content_type="text/xml",
            charset="utf-8",
        )

    app.router.add_post("/{handler}", dispatch)
    return app


def _answer_document(section: str) -> tuple[ET.Element, ET.Element]:
    package = ET.Element("package")
    return package, ET.SubElement(package, section)


def _error_document(code: str) -> ET.Element:
    # seed 004 L3420-3426: <package><error>201</error></package>.
    package = ET.Element("package")
    ET.SubElement(package, "error").text = code
    return package
