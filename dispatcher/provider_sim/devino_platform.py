"""The account side of a fake Devino platform, shared by the REST and SOAP fakes.

One `DevinoPlatform` holds what both APIs see (they are one platform at Devino): accounts and
their sessions, the balance, the messages with one id per segment, and each segment's state
over time (queued -> sent to the network -> final); the Viber messages (`viber_lifecycle`) and
the incoming SMS that `Sms/In` and GetIncomingMessages list (`receive_mo` puts one there; the
push to a client's handler is `devino_mo_push`). Tests seed and inspect it; staging runs it
with the seeded failures below.

Rules follow seed `004_80a28bca441860d4.txt` (REST chapters 1-2, SOAP chapters 7-8) and the
spec `devino-smpp-http-soap.md`; where the seed is silent the fake picks one reading and says so.
Its tables are written out here rather than imported from the client, so that a mistake in the
client's tables shows up as a failing test instead of being mirrored.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dispatcher.clock import Clock, SystemClock
from dispatcher.provider_sim import viber_lifecycle as viber_states
from dispatcher.provider_sim.viber_lifecycle import SimViber, ViberLifecycle, ViberView

# seed L147, L3533-3534: a session id lives 120 minutes.
SESSION_LIFETIME_SECONDS = 120 * 60
# seed L687-688: older than 48 hours, a message answers 255.
STATUS_WINDOW_SECONDS = 48 * 3600
# seed L238, L3809: at most 2000 characters of text.
MAX_DATA_CHARS = 2000
# seed L301-302, L3729: one SMS is 70 Cyrillic or 160 Latin characters.
SINGLE_LATIN, SINGLE_OTHER = 160, 70
# [Inference] a concatenation header takes 7 septets / 3 UCS-2 characters of each part.
PART_LATIN, PART_OTHER = 153, 67
# Our choice: how long a new segment stays queued (-2), then sent (-1), before its final state.
DEFAULT_QUEUED_SECONDS = 2.0
DEFAULT_SENT_SECONDS = 5.0
# Our choice: how long a send asked to hang holds its answer (or until shutdown).
DEFAULT_HANG_SECONDS = 300.0
# seed L980-982: a Viber text has at most 1000 characters; L986: Validity 1..1440 minutes
# (spec A18: the examples' 86400 can be allowed with `viber_max_validity_minutes`).
MAX_VIBER_CHARS = 1000
VIBER_MAX_VALIDITY_MINUTES = 1440
# seed L815-818: Sms/In looks at most a year back.
INCOMING_MAX_LOOKBACK_SECONDS = 365 * 86400
# seed L841: incoming message ids look like 539187174.
FIRST_INCOMING_ID = 539187174
# seed L860-867: the answer to Sms/In without one of its dates.
_MISSING_DATE = (
    "The parameters dictionary contains a null entry for parameter '{name}' of non-nullable "
    "type 'DateTime' for method 'System.Web.Mvc.ActionResult In(System.String, DateTime, "
    "DateTime)' in 'RestService.Controllers.SmsController'. An optional parameter must be a "
    "reference type, a nullable type, or be declared as an optional parameter. Parameter "
    "name: parameters"
)

# Error codes of REST Table 17 (seed L1386-1397); the SOAP fake reports them as fault texts.
ERR_NULL_ARGUMENT = 1
ERR_INVALID_ARGUMENT = 2
ERR_INVALID_SESSION = 3
ERR_UNAUTHORIZED = 4
ERR_NO_CREDITS = 5
ERR_INVALID_OPERATION = 6
ERR_FORBIDDEN = 7
ERR_GATEWAY = 8
ERR_INTERNAL = 9

# States of REST Table 18 (seed L1399-1414) with their descriptions, as `Sms/State` says them.
STATE_TEXTS: dict[int, str] = {
    -1: "Отправлено (передано в мобильную сеть)",
    -2: "В очереди",
    47: "Удалено",
    -98: "Остановлено",
    0: "Доставлено абоненту",
    10: "Неверно введен адрес отправителя",
    11: "Неверно введен адрес получателя",
    41: "Недопустимый адрес получателя",
    42: "Отклонено смс-центром",
    46: "Просрочено (истек срок жизни сообщения)",
    48: "Отклонено Платформой",
    69: "Отклонено",
    99: "Неизвестный",
    255: "Неизвестный",  # seed L745 example
}
QUEUED, SENT, DELIVERED, EXPIRED, UNKNOWN_OR_OLD = -2, -1, 0, 46, 255
# The SMS state codes of a Viber message's SMS re-send; one that was not delivered is
# "rejected by the SMSC" (42), our pick from Table 18.
RESENT_SMS_STATES: dict[str, int] = {
    viber_states.ENQUEUED: QUEUED,
    viber_states.SENT: SENT,
    viber_states.DELIVERED: DELIVERED,
    viber_states.UNDELIVERED: 42,
}

# Staging numbers that end badly or are refused (every other valid number is delivered).
SEEDED_FINAL_STATES: dict[str, int] = {
    "79990000011": 11,
    "79990000041": 41,
    "79990000042": 42,
    "79990000046": 46,
    "79990000047": 47,
    "79990000048": 48,
    "79990000069": 69,
    "79990000099": 99,
}
SEEDED_INVALID_NUMBERS = frozenset({"79990000000"})  # refused at send: code 6
SEEDED_GATEWAY_ERROR_NUMBERS = frozenset({"79990000008"})  # refused at send: code 8

# seed L241-243: "не более 11 латинских символов или 15 цифр".
_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ._-]{1,11}|[0-9]{1,15}")
# seed L983: a Viber sender, "До 11 латинских или цифровых символов".
_VIBER_SENDER = re.compile(r"[A-Za-z0-9 ._-]{1,11}")
# seed L977-979: a Viber number as 79031234567 or +79031234567 (spec A29: no 8-prefix).
_VIBER_NUMBER = re.compile(r"\+?([0-9]{11,15})")
# seed L229-236: international format, "79031234567; +79031234567; 89031234567".
_NUMBER = re.compile(r"[0-9]{11,15}")


class PlatformError(Exception):
    """An error answer: a REST `{Code, Desc}` or the text of a SOAP fault."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


@dataclass
class Segment:
    id: str
    login: str
    source: str
    destination: str
    text: str
    created: float  # platform clock (monotonic) seconds
    created_wall: float  # Unix time
    done_after: float  # seconds after `created` at which the final state is reached
    final_state: int
    price: float


@dataclass(frozen=True)
class SegmentState:
    code: int
    description: str
    created_wall: float | None
    submitted_wall: float | None
    reported_wall: float | None
    price: float | None


@dataclass(frozen=True)
class IncomingSim:
    """An SMS a subscriber sent to one of the account's numbers (seed L5964-5968)."""

    id: int
    login: str
    source: str  # the subscriber
    destination: str  # the account's number
    text: str
    prefix: str  # the keyword prefix configured for the number (seed L6066)
    created_wall: float  # Unix time


@dataclass(frozen=True)
class Request:
    time: float  # platform clock seconds at arrival
    api: str  # "rest" or "soap"
    operation: str  # REST: auth, balance, send, state, statistics; SOAP: lower-cased operation


@dataclass
class DevinoPlatform:
    """What tests seed and inspect; every option is a constructor keyword (`build_app`)."""

    clock: Clock = field(default_factory=SystemClock)
    accounts: dict[str, str] = field(default_factory=lambda: {"test": "test"}, repr=False)
    balance: float = 1000.0
    price_per_segment: float = 1.0
    session_lifetime_seconds: float = SESSION_LIFETIME_SECONDS
    queued_seconds: float = DEFAULT_QUEUED_SECONDS
    sent_seconds: float = DEFAULT_SENT_SECONDS
    final_states: dict[str, int] = field(default_factory=lambda: dict(SEEDED_FINAL_STATES))
    invalid_numbers: set[str] = field(default_factory=lambda: set(SEEDED_INVALID_NUMBERS))
    gateway_error_numbers: set[str] = field(
        default_factory=lambda: set(SEEDED_GATEWAY_ERROR_NUMBERS)
    )
    forbidden_logins: set[str] = field(default_factory=set)
    hang_seconds: float = DEFAULT_HANG_SECONDS
    viber: ViberLifecycle | None = None  # None: one on this platform's clock
    viber_max_validity_minutes: int = VIBER_MAX_VALIDITY_MINUTES

    # session id -> (login, issued at)
    sessions: dict[str, tuple[str, float]] = field(default_factory=dict, repr=False)
    segments: dict[str, Segment] = field(default_factory=dict, repr=False)
    viber_messages: dict[str, SimViber] = field(default_factory=dict, repr=False)
    resent_sms: dict[str, SimViber] = field(default_factory=dict, repr=False)  # SMS id -> Viber
    incoming: list[IncomingSim] = field(default_factory=list, repr=False)
    requests: list[Request] = field(default_factory=list, repr=False)
    logins: int = 0  # sessions opened
    hang_sends: int = 0  # the next this many sends are processed, then answered late
    rate_limited: int = 0  # requests the SOAP fake refused for exceeding 10 per second
    _injected: dict[str, deque[PlatformError]] = field(default_factory=dict, repr=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)
    _release: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _incoming_ids: itertools.count[int] = field(
        default_factory=lambda: itertools.count(FIRST_INCOMING_ID), repr=False
    )

    def __post_init__(self) -> None:
        if self.viber is None:
            self.viber = ViberLifecycle(self.clock)

    # --- seeding and inspection ---------------------------------------------------------------

    def inject(self, operation: str, code: int, description: str) -> None:
        """Answer the next `operation` ("auth", "balance", "send", "state", "statistics") with
        this error instead of doing it."""
        self._injected.setdefault(operation, deque()).append(PlatformError(code, description))

    def expire_sessions(self) -> None:
        """Age every open session past its lifetime."""
        for session_id, (login, _) in self.sessions.items():
            self.sessions[session_id] = (login, float("-inf"))

    def requests_for(self, api: str, operation: str | None = None) -> list[Request]:
        return [
            r
            for r in self.requests
            if r.api == api and (operation is None or r.operation == operation)
        ]

    # --- what the API layers call -------------------------------------------------------------

    def record(self, api: str, operation: str) -> float:
        now = self.clock.monotonic()
        self.requests.append(Request(now, api, operation))
        return now

    def take_injected(self, operation: str) -> None:
        queue = self._injected.get(operation)
        if queue:
            raise queue.popleft()

    def open_session(self, login: str, password: str) -> str:
        self.check_credentials(login, password)
        self.logins += 1
        # seed L128: 36 upper-case letters and digits, e.g. Z5CYSZEKDL1DPICU37WEHQVOYKP0T1GSLHX1
        session_id = f"SIM{next(self._ids):033d}"
        self.sessions[session_id] = (login, self.clock.monotonic())
        return session_id

    def session_login(self, session_id: str) -> str:
        entry = self.sessions.get(session_id)
        if entry is None:
            raise PlatformError(ERR_INVALID_SESSION, "Invalid session id")
        login, issued = entry
        if self.clock.monotonic() - issued >= self.session_lifetime_seconds:
            # seed L196-200: an expired session is answered Code 4 "SessionID expired".
            raise PlatformError(ERR_UNAUTHORIZED, "SessionID expired")
        return login

    def check_credentials(self, login: str, password: str) -> None:
        if self.accounts.get(login) != password:
            # seed L141-145, L3523-3524
            raise PlatformError(ERR_UNAUTHORIZED, "Invalid user login or password")
        if login in self.forbidden_logins:
            raise PlatformError(ERR_FORBIDDEN, "Forbidden")

    def submit(
        self,
        login: str,
        source: str,
        destinations: list[str],
        text: str,
        validity_minutes: int | None,
        *,
        numeric_ids: bool,
    ) -> list[str]:
        """Accept one text for every destination, or refuse them all (seed L1872-1873), after
        the checks in the seed's order (L1862-1876): balance, numbers, sender, length."""
        segments = segment_count(text)
        cost = segments * self.price_per_segment * len(destinations)
        if cost > self.balance:
            raise PlatformError(ERR_NO_CREDITS, "Not enough credits")
        numbers: list[str] = []
        for raw in destinations:
            number = normalise_number(raw)
            if number is None or number in self.invalid_numbers:
                raise PlatformError(ERR_INVALID_OPERATION, f"Invalid destination address {raw}")
            numbers.append(number)
        if not _SENDER.fullmatch(source):
            raise PlatformError(ERR_INVALID_OPERATION, "Invalid source address")  # seed L318-322
        if not text or len(text) > MAX_DATA_CHARS:
            raise PlatformError(ERR_INVALID_ARGUMENT, "Invalid message length")
        for number in numbers:
            if number in self.gateway_error_numbers:
                raise PlatformError(ERR_GATEWAY, "Gateway error")
        self.balance -= cost
        ids: list[str] = []
        now, wall = self.clock.monotonic(), self.clock.wall()
        for number in numbers:
            final, done_after = self._outcome(number, validity_minutes)
            for segment_id in self._segment_ids(number, segments, numeric=numeric_ids):
                self.segments[segment_id] = Segment(
                    segment_id,
                    login,
                    source,
                    number,
                    text,
                    now,
                    wall,
                    done_after,
                    final,
                    self.price_per_segment,
                )
                ids.append(segment_id)
        return ids

    def state(self, login: str, segment_id: str) -> SegmentState:
        """A segment's state now; unknown or older than 48 h answers 255 (seed L687-688)."""
        segment = self.segments.get(segment_id)
        if segment is None and segment_id in self.resent_sms:
            return self._resent_state(login, segment_id)
        age = None if segment is None else self.clock.monotonic() - segment.created
        if segment is None or segment.login != login or age is None or age >= STATUS_WINDOW_SECONDS:
            return SegmentState(UNKNOWN_OR_OLD, STATE_TEXTS[UNKNOWN_OR_OLD], None, None, None, None)
        code = self._code_at(segment, age)
        submitted = segment.created_wall + self.queued_seconds if code != QUEUED else None
        reported = segment.created_wall + segment.done_after if code not in (QUEUED, SENT) else None
        return SegmentState(
            code,
            STATE_TEXTS.get(code, "Неизвестный"),
            segment.created_wall,
            submitted,
            reported,
            segment.price,
        )

    def _resent_state(self, login: str, sms_id: str) -> SegmentState:
        """The state of one SMS segment of a Viber message's re-send."""
        message = self.resent_sms[sms_id]
        view = self.viber_lifecycle.view(message)
        states = dict(view.sms)
        if message.login != login or int(sms_id) not in states:
            return SegmentState(UNKNOWN_OR_OLD, STATE_TEXTS[UNKNOWN_OR_OLD], None, None, None, None)
        code = RESENT_SMS_STATES[states[int(sms_id)]]
        reported = view.sms_changed_wall if code not in (QUEUED, SENT) else None
        return SegmentState(
            code, STATE_TEXTS[code], message.created_wall, view.sms_changed_wall, reported, 1.0
        )

    def statistics(self, login: str, start: datetime, end: datetime) -> dict[str, int]:
        """Counters over the segments created in [start, end] (seed L918-930). The seed does
        not define the buckets; the fake puts -1 in Sent, -2 in InProcess, 0 in Delivered, 46
        in Expired, refusals in Rejected and every other final state in Errors."""
        low, high = _unix(start), _unix(end)
        counts = dict.fromkeys(
            ("Sent", "Delivered", "Errors", "InProcess", "Expired", "Rejected"), 0
        )
        for segment in self.segments.values():
            if segment.login != login or not low <= segment.created_wall <= high:
                continue
            code = self._code_at(segment, self.clock.monotonic() - segment.created)
            bucket = {SENT: "Sent", QUEUED: "InProcess", DELIVERED: "Delivered", EXPIRED: "Expired"}
            if code in bucket:
                counts[bucket[code]] += 1
            elif code in (10, 11, 41, 42, 48, 69, -98):
                counts["Rejected"] += 1
            else:
                counts["Errors"] += 1
        return counts

    def submit_viber(
        self,
        login: str,
        source: str,
        destinations: list[str],
        text: str,
        validity_minutes: int | None,
        *,
        resend: bool,
    ) -> list[str]:
        """Accept one Viber text for every destination, or refuse them all (seed L1084-1085),
        after the checks of seed L988-1004: balance, numbers, sender, length. A refusal's
        Desc is a return code of Table 20 with Code 1, as every example shows (L1035-1038)."""
        cost = self.price_per_segment * len(destinations)
        if cost > self.balance:
            raise PlatformError(ERR_NO_CREDITS, "Not enough credits")
        numbers: list[str] = []
        for raw in destinations:
            match = _VIBER_NUMBER.fullmatch(raw.strip())
            if match is None or match.group(1) in self.invalid_numbers:
                raise PlatformError(ERR_NULL_ARGUMENT, "error-address-format")
            numbers.append(match.group(1))
        if not _VIBER_SENDER.fullmatch(source):
            raise PlatformError(ERR_NULL_ARGUMENT, "error-subject-format")
        if not text:
            raise PlatformError(ERR_NULL_ARGUMENT, "error-content-not-specified")
        if len(text) > MAX_VIBER_CHARS:
            raise PlatformError(ERR_NULL_ARGUMENT, "error-content-type-format")
        if validity_minutes is not None and not (
            1 <= validity_minutes <= self.viber_max_validity_minutes
        ):
            raise PlatformError(ERR_NULL_ARGUMENT, "error-validity-period-seconds-format")
        for number in numbers:
            if number in self.gateway_error_numbers:
                raise PlatformError(ERR_GATEWAY, "error-system")
        self.balance -= cost
        lifecycle = self.viber_lifecycle
        ids = []
        for number in numbers:
            message = lifecycle.create(
                login,
                number,
                source,
                text,
                (validity_minutes or VIBER_MAX_VALIDITY_MINUTES) * 60.0,
                resend=resend,
                sms_segments=segment_count(text),
            )
            viber_id = f"GW{message.provider_id % 16**10:010X}"  # seed L1023: "GW0261BBD6B3"
            self.viber_messages[viber_id] = message
            self.resent_sms.update((str(sms_id), message) for sms_id in message.sms_ids)
            ids.append(viber_id)
        return ids

    def viber_state(self, login: str, message_id: str) -> ViberView | None:
        """A Viber message's state now; None when it is not this account's."""
        message = self.viber_messages.get(message_id)
        if message is None or message.login != login:
            return None
        return self.viber_lifecycle.view(message)

    @property
    def viber_lifecycle(self) -> ViberLifecycle:
        assert self.viber is not None  # set in __post_init__
        return self.viber

    def receive_mo(
        self,
        source: str,
        destination: str,
        text: str,
        *,
        login: str | None = None,
        prefix: str = "",
        created_wall: float | None = None,
    ) -> IncomingSim:
        """A subscriber writes to an account's number (the first account unless named)."""
        message = IncomingSim(
            id=next(self._incoming_ids),
            login=login if login is not None else next(iter(self.accounts)),
            source=source,
            destination=destination,
            text=text,
            prefix=prefix,
            created_wall=self.clock.wall() if created_wall is None else created_wall,
        )
        self.incoming.append(message)
        return message

    def incoming_between(
        self, login: str, start: datetime | None, end: datetime | None
    ) -> list[IncomingSim]:
        """The account's incoming SMS created in [start, end], after the checks of seed
        L809-818; a missing date is the server's binding error (L860-867)."""
        for name, value in (("maxDateUtc", end), ("minDateUtc", start)):
            if value is None:
                raise PlatformError(ERR_INTERNAL, _MISSING_DATE.format(name=name))
        assert start is not None and end is not None
        low, high = _unix(start), _unix(end)
        if self.clock.wall() - low > INCOMING_MAX_LOOKBACK_SECONDS:
            raise PlatformError(ERR_INVALID_ARGUMENT, "Invalid argument minDateUTC")
        if high <= low:
            raise PlatformError(ERR_INVALID_ARGUMENT, "Invalid argument maxDateUTC")
        return [m for m in self.incoming if m.login == login and low <= m.created_wall <= high]

    async def hang_if_asked(self) -> None:
        """Hold a send's answer `hang_seconds` (or until shutdown) when a test asked for it."""
        if self.hang_sends > 0:
            self.hang_sends -= 1
            with contextlib.suppress(TimeoutError):
                await self.clock.wait_for(self._release.wait(), self.hang_seconds)

    def release_hung(self) -> None:
        self._release.set()

    # --- internals ----------------------------------------------------------------------------

    def _outcome(self, number: str, validity_minutes: int | None) -> tuple[int, float]:
        done_after = self.queued_seconds + self.sent_seconds
        if validity_minutes is not None and 0 < validity_minutes * 60 < done_after:
            return EXPIRED, validity_minutes * 60.0
        return self.final_states.get(number, DELIVERED), done_after

    def _code_at(self, segment: Segment, age: float) -> int:
        if age < min(self.queued_seconds, segment.done_after):
            return QUEUED
        if age < segment.done_after:
            return SENT
        return segment.final_state

    def _segment_ids(self, number: str, count: int, *, numeric: bool) -> list[str]:
        serial = next(self._ids)
        if count == 1:
            # seed L299 (v1 "579700854169272358"), L1652 (v2 "GW0261BBD6B3")
            return [str(579700854169272358 + serial) if numeric else f"GW{serial:010X}"]
        # seed L1660-1662: "SAR-GW01+79160000000-5f3b1972-2-1"; the `+` must survive encoding.
        return [f"SAR-GW01+{number}-{serial:08x}-{count}-{part}" for part in range(1, count + 1)]


def segment_count(text: str) -> int:
    """Segments the platform bills and reports ids for (seed L301-302)."""
    latin = all(ord(c) < 128 for c in text)
    single, part = (SINGLE_LATIN, PART_LATIN) if latin else (SINGLE_OTHER, PART_OTHER)
    return 1 if len(text) <= single else math.ceil(len(text) / part)


def normalise_number(raw: str) -> str | None:
    """`79031234567` for any of the seed's accepted forms; None when it is not a number."""
    number = raw.strip().removeprefix("+")
    if len(number) == 11 and number.startswith("8"):
        number = "7" + number[1:]  # seed L236: the national 8-prefix is accepted
    return number if _NUMBER.fullmatch(number) else None


def parse_datetime(value: str) -> datetime:
    """A request date: `2011-01-28T16:00:00`, or with a space (seed L878); ValueError if not."""
    return datetime.fromisoformat(value.strip().replace(" ", "T"))


def _unix(moment: datetime) -> float:
    """Request dates carry no offset and are UTC (seed L4101-4106)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
