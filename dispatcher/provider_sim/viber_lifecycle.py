"""How a simulated Viber message lives, for the fake Viber HTTP API (`devino_viber`) and the
Viber calls of the fake REST and SOAP services (`devino_platform`).

A message is queued, then sent, then reaches its outcome (the Viber states of seed 004
L6651-6659). When Viber does not deliver and an SMS re-send was asked for, an SMS leg starts
at that moment: one SMS id per segment (L6634-6643), queued, sent, then delivered or not
(L6627-6630). Times are clock seconds after the send; the outcome depends on the number, so
tests and staging can pick it (`SEEDED_OUTCOMES`). The fake's tables are written out here, not
imported from the clients, so that a mistake in a client's table shows up as a failing test.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Final

from dispatcher.clock import Clock

ENQUEUED, SENT, DELIVERED, READ, VISITED = "enqueued", "sent", "delivered", "read", "visited"
UNDELIVERED, FAILED, CANCELLED, VP_EXPIRED = "undelivered", "failed", "cancelled", "vp_expired"
NOT_DELIVERED: Final = frozenset({UNDELIVERED, FAILED, CANCELLED, VP_EXPIRED})
# seed L6748-6753: the states a status callback reports.
CALLBACK_STATES: Final = frozenset({DELIVERED, READ, VISITED, UNDELIVERED, FAILED, VP_EXPIRED})

# Staging numbers and their Viber outcome with its error code (seed L6675-6676). Every other
# valid number is delivered, then read.
SEEDED_OUTCOMES: Final[dict[str, tuple[str, str | None]]] = {
    "79990000101": (UNDELIVERED, "not-viber-user"),
    "79990000102": (UNDELIVERED, "user-blocked"),
    "79990000103": (FAILED, None),
    "79990000104": (VP_EXPIRED, None),
    "79990000105": (UNDELIVERED, "not-viber-user"),  # and its SMS re-send is not delivered
    "79990000106": (DELIVERED, None),  # delivered, never read
    "79990000108": (VISITED, None),  # read, and the link followed
}
SEEDED_SMS_UNDELIVERED: Final = frozenset({"79990000105"})

# Our choices: clock seconds from the send to "sent", to the outcome, from delivery to "read";
# and for the SMS leg, from its start to "sent" and to its outcome.
DEFAULT_SENT_SECONDS: Final = 1.0
DEFAULT_FINAL_SECONDS: Final = 3.0
DEFAULT_READ_SECONDS: Final = 2.0
DEFAULT_SMS_SENT_SECONDS: Final = 1.0
DEFAULT_SMS_FINAL_SECONDS: Final = 3.0
# seed L6306: provider ids are 64-bit, e.g. 3158611117333282816 (beyond a double's 2^53).
FIRST_PROVIDER_ID: Final = 3158611117333282816
FIRST_SMS_ID: Final = 583465579822710784  # seed L6530


@dataclass
class SimViber:
    provider_id: int
    login: str
    number: str
    subject: str
    text: str
    created: float  # clock seconds
    created_wall: float
    validity_seconds: float
    resend: bool
    sms_ids: tuple[int, ...]  # one per segment of the re-send's text
    outcome: str
    error_code: str | None
    sms_delivered: bool


@dataclass(frozen=True)
class ViberView:
    state: str
    changed_wall: float  # Unix time the message entered `state`
    error_code: str | None
    sms: tuple[tuple[int, str], ...]  # (SMS id, state) per segment; empty without a re-send
    sms_changed_wall: float | None


@dataclass
class ViberLifecycle:
    clock: Clock
    sent_seconds: float = DEFAULT_SENT_SECONDS
    final_seconds: float = DEFAULT_FINAL_SECONDS
    read_seconds: float = DEFAULT_READ_SECONDS
    sms_sent_seconds: float = DEFAULT_SMS_SENT_SECONDS
    sms_final_seconds: float = DEFAULT_SMS_FINAL_SECONDS
    outcomes: dict[str, tuple[str, str | None]] = field(
        default_factory=lambda: dict(SEEDED_OUTCOMES)
    )
    sms_undelivered: set[str] = field(default_factory=lambda: set(SEEDED_SMS_UNDELIVERED))
    messages: dict[int, SimViber] = field(default_factory=dict, repr=False)
    _ids: itertools.count[int] = field(
        default_factory=lambda: itertools.count(FIRST_PROVIDER_ID), repr=False
    )
    _sms_ids: itertools.count[int] = field(
        default_factory=lambda: itertools.count(FIRST_SMS_ID), repr=False
    )

    def create(
        self,
        login: str,
        number: str,
        subject: str,
        text: str,
        validity_seconds: float,
        *,
        resend: bool,
        sms_segments: int = 1,
    ) -> SimViber:
        outcome, error_code = self.outcomes.get(number, (READ, None))
        if validity_seconds < self.final_seconds and outcome not in NOT_DELIVERED:
            outcome, error_code = VP_EXPIRED, None  # no final status within the validity
        message = SimViber(
            provider_id=next(self._ids),
            login=login,
            number=number,
            subject=subject,
            text=text,
            created=self.clock.monotonic(),
            created_wall=self.clock.wall(),
            validity_seconds=validity_seconds,
            resend=resend,
            sms_ids=tuple(next(self._sms_ids) for _ in range(max(1, sms_segments))),
            outcome=outcome,
            error_code=error_code,
            sms_delivered=number not in self.sms_undelivered,
        )
        self.messages[message.provider_id] = message
        return message

    def history(self, message: SimViber) -> list[tuple[str, float]]:
        """Every Viber state reached so far, with the Unix time it was reached."""
        age = self.clock.monotonic() - message.created
        final_at = self._final_at(message)
        steps = [(ENQUEUED, 0.0), (SENT, self.sent_seconds), (None, final_at)]
        reached: list[tuple[str, float]] = []
        for state, offset in steps:
            if age < offset:
                break
            if state is not None:
                reached.append((state, message.created_wall + offset))
                continue
            if message.outcome in (READ, VISITED):
                reached.append((DELIVERED, message.created_wall + offset))
                read_at = offset + self.read_seconds
                if age >= read_at:
                    reached.append((message.outcome, message.created_wall + read_at))
            else:
                reached.append((message.outcome, message.created_wall + offset))
        return reached

    def view(self, message: SimViber) -> ViberView:
        state, changed = self.history(message)[-1]
        error = message.error_code if state == UNDELIVERED else None
        sms: tuple[tuple[int, str], ...] = ()
        sms_changed = None
        final_at = self._final_at(message)
        age = self.clock.monotonic() - message.created
        if message.resend and message.outcome in NOT_DELIVERED and age >= final_at:
            sms_age = age - final_at
            if sms_age < self.sms_sent_seconds:
                sms_state, offset = ENQUEUED, 0.0
            elif sms_age < self.sms_final_seconds:
                sms_state, offset = SENT, self.sms_sent_seconds
            else:
                sms_state = DELIVERED if message.sms_delivered else UNDELIVERED
                offset = self.sms_final_seconds
            sms = tuple((sms_id, sms_state) for sms_id in message.sms_ids)
            sms_changed = message.created_wall + final_at + offset
        return ViberView(state, changed, error, sms, sms_changed)

    def _final_at(self, message: SimViber) -> float:
        return min(self.final_seconds, message.validity_seconds)
