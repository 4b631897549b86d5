"""One message on its way through the pool: its parts, their states and the message's verdict.

A message's parts go out in order on one session (seed 004_80a28bca441860d4.txt L2955-2957).
Once a part comes back with anything but success, no further part of that message is sent;
when the parts already in flight have come back, the message has a verdict: accepted, final
(rejected, in doubt) or to be tried again (throttled, queue full, transient, or lost before it
was written). A retry sends only the parts not yet accepted, encoded once at admission.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Final, Protocol

from dispatcher.smpp.outcome import OutcomeKind, PartResult, SubmitOutcome, SubmitRequest
from dispatcher.smpp.session_info import SessionInfo
from dispatcher.smpp.settings import AccountSettings
from pdu.fast_tuple import new_record
from pdu.smpp_time import format_relative
from pdu.submit_sm import encode_submit_sm

if TYPE_CHECKING:
    import asyncio

    from dispatcher.smpp.session import SmppSession

# SMPP 3.4 §5.2: source_addr/destination_addr are C-octet strings of at most 21 octets with
# the NUL, and sm_length is one octet (at most 254 octets of short_message are allowed).
MAX_ADDRESS_LENGTH: Final = 20
MAX_SHORT_MESSAGE: Final = 254


# PartState and Verdict are plain int constants, not Enums: an Enum member lookup costs
# 0.2-0.5 µs on Python 3.11 and the hot path makes a dozen of them per message.


class PartState:
    PENDING: Final = 0  # not sent in this attempt (never, or to be sent again)
    IN_FLIGHT: Final = 1
    ACCEPTED: Final = 2
    FAILED: Final = 3  # a permanent status
    IN_DOUBT: Final = 4  # written, never answered


class Verdict:
    """Why a message stopped; when several parts disagree the highest value wins."""

    NONE: Final = 0  # still going
    REQUEUE: Final = 1  # a part was not written (the connection closed first): send it again
    THROTTLED: Final = 2  # seed L2962-2963
    TRANSIENT: Final = 3
    QUEUE_FULL: Final = 4  # seed L2965-2969
    IN_DOUBT: Final = 5
    REJECTED: Final = 6


class JobOwner(Protocol):
    """What a part's response is reported to (the pool)."""

    def part_answered(
        self, ticket: PartTicket, session: SmppSession, command_status: int, frame: bytes
    ) -> None: ...

    def part_lost(
        self, ticket: PartTicket, session: SmppSession, written: bool, reason: str
    ) -> None: ...


class PartTicket:
    """One part: its encoded frame, its state, and what the SMSC last said about it. It is also
    what a session carries in its window (see `dispatcher.smpp.session.Ticket`)."""

    __slots__ = (
        "command_status",
        "frame",
        "index",
        "job",
        "message_id",
        "sent_at",
        "session",
        "state",
    )

    def __init__(self, job: Job, index: int, frame: bytes) -> None:
        self.job = job
        self.index = index  # 0-based position in job.tickets
        self.frame = frame
        self.sent_at = 0.0
        self.state = PartState.PENDING
        self.message_id: str | None = None  # the SMSC's id once accepted
        self.command_status: int | None = None  # the last response's status
        self.session: SessionInfo | None = None  # the session of the last attempt

    def on_response(self, session: SmppSession, command_status: int, frame: bytes) -> None:
        self.job.owner.part_answered(self, session, command_status, frame)

    def on_lost(self, session: SmppSession, written: bool, reason: str) -> None:
        self.job.owner.part_lost(self, session, written, reason)


class Job:
    __slots__ = (
        "attempts",
        "cursor",
        "finished",
        "future",
        "in_flight",
        "on_outcome",
        "owner",
        "pinned_slot",
        "queue_full_count",
        "reason",
        "request",
        "tickets",
        "transient_count",
        "verdict",
        "verdict_part",
    )

    def __init__(
        self,
        request: SubmitRequest,
        frames: list[bytes],
        owner: JobOwner,
        future: asyncio.Future[SubmitOutcome] | None = None,
        on_outcome: Callable[[SubmitOutcome], None] | None = None,
    ) -> None:
        self.request = request
        self.owner = owner
        self.future = future  # the outcome goes to the future, or to the callback
        self.on_outcome = on_outcome
        self.tickets = (
            [PartTicket(self, 0, frames[0])]  # most messages: no comprehension for them
            if len(frames) == 1
            else [PartTicket(self, i, frame) for i, frame in enumerate(frames)]
        )
        self.cursor = 0  # the next part to send in this attempt
        self.in_flight = 0
        self.verdict = Verdict.NONE
        self.verdict_part = -1  # the part whose answer decided the verdict
        self.reason = ""
        self.attempts = 0
        self.queue_full_count = 0
        self.transient_count = 0
        self.pinned_slot: int | None = None  # once a part is accepted: its session's slot
        self.finished = False  # the outcome was given (exactly once)

    # ---- sending -----------------------------------------------------------------------------

    def begin_attempt(self) -> None:
        self.attempts += 1
        self.verdict = Verdict.NONE
        self.verdict_part = -1
        self.reason = ""
        cursor, tickets = 0, self.tickets
        while cursor < len(tickets) and tickets[cursor].state != PartState.PENDING:
            cursor += 1
        self.cursor = cursor

    @property
    def has_unsent(self) -> bool:
        return self.verdict == Verdict.NONE and self.cursor < len(self.tickets)

    def take_part(self) -> PartTicket:
        """The next part to write (call only while `has_unsent`)."""
        tickets = self.tickets
        cursor = self.cursor
        ticket = tickets[cursor]
        ticket.state = PartState.IN_FLIGHT
        self.in_flight += 1
        cursor += 1
        while cursor < len(tickets) and tickets[cursor].state != PartState.PENDING:
            cursor += 1
        self.cursor = cursor
        return ticket

    # ---- answers -----------------------------------------------------------------------------

    def accepted(self, ticket: PartTicket, info: SessionInfo, message_id: str) -> bool:
        """A part accepted; True when that settles the message (see `settled`)."""
        self.in_flight -= 1
        ticket.state = PartState.ACCEPTED
        ticket.message_id = message_id
        ticket.command_status = 0
        ticket.session = info
        self.pinned_slot = info.slot
        return not self.in_flight and (  # `settled`, without a second call per answer
            self.verdict != Verdict.NONE or self.cursor >= len(self.tickets)
        )

    def refused(
        self, ticket: PartTicket, info: SessionInfo, command_status: int, verdict: int
    ) -> None:
        """A non-zero status: REJECTED fails the part; the others leave it to send again."""
        self.in_flight -= 1
        ticket.state = PartState.FAILED if verdict == Verdict.REJECTED else PartState.PENDING
        ticket.command_status = command_status
        ticket.session = info
        self._stop(verdict, ticket.index, "")

    def lost(self, ticket: PartTicket, info: SessionInfo, written: bool, reason: str) -> None:
        self.in_flight -= 1
        ticket.session = info
        if written:
            ticket.state = PartState.IN_DOUBT
            self._stop(Verdict.IN_DOUBT, ticket.index, reason)
        else:
            ticket.state = PartState.PENDING
            self._stop(Verdict.REQUEUE, ticket.index, reason)

    def halt(self, verdict: int, reason: str) -> None:
        """Stop sending parts for a reason that is not a part's answer (session or pool closed)."""
        self._stop(verdict, -1, reason)

    def _stop(self, verdict: int, index: int, reason: str) -> None:
        if verdict > self.verdict:
            self.verdict = verdict
            self.verdict_part = index
            self.reason = reason

    @property
    def settled(self) -> bool:
        """Nothing in flight, and either stopped or every part accepted."""
        if self.in_flight:
            return False
        return self.verdict != Verdict.NONE or self.cursor >= len(self.tickets)

    @property
    def decisive_status(self) -> int | None:
        tickets = self.tickets
        return tickets[self.verdict_part].command_status if tickets else None

    # ---- the result --------------------------------------------------------------------------

    def outcome(self, kind: OutcomeKind, reason: str = "") -> SubmitOutcome:
        tickets = self.tickets
        if len(tickets) == 1:  # most messages: no generator for them
            t = tickets[0]
            parts: tuple[PartResult, ...] = (
                new_record(PartResult, (1, t.message_id, t.command_status, t.session)),
            )
        else:
            parts = tuple(
                [
                    PartResult(t.index + 1, t.message_id, t.command_status, t.session)
                    for t in tickets
                ]
            )
        decisive = tickets[self.verdict_part] if tickets else None
        return new_record(SubmitOutcome, (
            kind,
            self.request.key,
            parts,
            None if decisive is None else decisive.command_status,
            None if decisive is None else decisive.session,
            self.attempts,
            reason or self.reason,
        ))


@functools.lru_cache(maxsize=64)
def _relative_validity(seconds: int) -> str:
    # a route sends nearly every message with the same validity: formatting it each time was
    # 2 % of the daemon's CPU
    return format_relative(timedelta(seconds=seconds))


class SubmitEncoder:
    """Encodes a request's parts into submit_sm frames (sequence_number 0), once each, with
    `pdu.submit_sm.encode_submit_sm`: the fields go straight to the compiled encoder, no SubmitSm
    is built (building one cost more than encoding it)."""

    __slots__ = ("_settings",)

    def __init__(self, settings: AccountSettings) -> None:
        self._settings = settings

    def encode(self, request: SubmitRequest) -> list[bytes]:
        """ValueError, or PDUError from the codec (a value that does not fit the wire)."""
        settings = self._settings
        # every field in one step (a NamedTuple): this runs for every message
        (_, source, destination, parts, validity_seconds, source_ton, source_npi, dest_ton,
         dest_npi, registered) = request
        if not parts:
            raise ValueError("the message has no parts")
        if not destination:
            raise ValueError("the destination is empty")
        if len(source) > MAX_ADDRESS_LENGTH or len(destination) > MAX_ADDRESS_LENGTH:
            raise ValueError(f"an address is longer than {MAX_ADDRESS_LENGTH} characters")
        if not (source.isascii() and destination.isascii()):
            raise ValueError("an address has characters outside ASCII")
        if source_ton is None:
            numeric_ton = settings.numeric_source_ton
            if numeric_ton is not None and source.isdigit():
                source_ton = numeric_ton
            else:
                source_ton = settings.source_ton
        if source_npi is None:
            source_npi = settings.source_npi
        if dest_ton is None:
            dest_ton = settings.dest_ton
        if dest_npi is None:
            dest_npi = settings.dest_npi
        if registered is None:
            registered = settings.registered_delivery
        validity = ""
        if validity_seconds is not None:
            # seed 004_80a28bca441860d4.txt L2971-2972: never below 60 s.
            validity = _relative_validity(max(settings.min_validity_seconds, validity_seconds))
        frames = []
        for short_message, data_coding, esm_class, tlvs, number, _ in parts:
            if len(short_message) > MAX_SHORT_MESSAGE:
                raise ValueError(
                    f"part {number} has {len(short_message)} octets, "
                    f"short_message allows {MAX_SHORT_MESSAGE}"
                )
            # positional, in encode_submit_sm's order: binding 12 keywords cost 0.2 µs more
            frames.append(encode_submit_sm(
                0, "", source_ton, source_npi, source,  # sequence_number, service_type
                dest_ton, dest_npi, destination, esm_class,
                0, 0, "",  # protocol_id, priority_flag, schedule_delivery_time
                validity, registered,
                0, data_coding, 0,  # replace_if_present_flag, ..., sm_default_msg_id
                short_message, tlvs,
            ))
        return frames
