"""One message on its way through the pool: its parts, their states and the message's verdict.

A message's parts go out in order on one session (seed 004_80a28bca441860d4.txt L2955-2957).
Once a part comes back with anything but success, no further part of that message is sent;
when the parts already in flight have come back, the message has a verdict: accepted, final
(rejected, in doubt) or to be tried again (throttled, queue full, transient, or lost before it
was written). A retry sends only the parts not yet accepted, encoded once at admission.
"""

from __future__ import annotations

from datetime import timedelta
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Final

from dispatcher.smpp.outcome import OutcomeKind, PartResult, SubmitOutcome, SubmitRequest
from dispatcher.smpp.session_info import SessionInfo
from dispatcher.smpp.settings import AccountSettings
from pdu import pdus
from pdu.codec import encode
from pdu.smpp_time import format_relative

if TYPE_CHECKING:
    import asyncio

    from dispatcher.smpp.session import SmppSession

# SMPP 3.4 §5.2: source_addr/destination_addr are C-octet strings of at most 21 octets with
# the NUL, and sm_length is one octet (at most 254 octets of short_message are allowed).
MAX_ADDRESS_LENGTH: Final = 20
MAX_SHORT_MESSAGE: Final = 254


class PartState(IntEnum):
    PENDING = 0  # not sent in this attempt (never, or to be sent again)
    IN_FLIGHT = 1
    ACCEPTED = 2
    FAILED = 3  # a permanent status
    IN_DOUBT = 4  # written, never answered


class Verdict(IntEnum):
    """Why a message stopped; when several parts disagree the highest value wins."""

    NONE = 0  # still going
    REQUEUE = 1  # a part was not written (the connection closed first): send it again
    THROTTLED = 2  # seed L2962-2963
    TRANSIENT = 3
    QUEUE_FULL = 4  # seed L2965-2969
    IN_DOUBT = 5
    REJECTED = 6


class JobOwner:
    """What a part's response is reported to (the pool)."""

    def part_answered(
        self, ticket: PartTicket, session: SmppSession, command_status: int, pdu: Any
    ) -> None:
        raise NotImplementedError

    def part_lost(
        self, ticket: PartTicket, session: SmppSession, written: bool, reason: str
    ) -> None:
        raise NotImplementedError


class PartTicket:
    """One part in a session's window (see `dispatcher.smpp.window.Ticket`)."""

    __slots__ = ("frame", "index", "job", "sent_at")

    def __init__(self, job: Job, index: int, frame: bytes) -> None:
        self.job = job
        self.index = index  # 0-based position in job.tickets
        self.frame = frame
        self.sent_at = 0.0

    def on_response(self, session: SmppSession, command_status: int, pdu: Any) -> None:
        self.job.owner.part_answered(self, session, command_status, pdu)

    def on_lost(self, session: SmppSession, written: bool, reason: str) -> None:
        self.job.owner.part_lost(self, session, written, reason)


class Job:
    __slots__ = (
        "attempts",
        "cursor",
        "finished",
        "future",
        "in_flight",
        "message_ids",
        "owner",
        "pinned_slot",
        "queue_full_count",
        "reason",
        "request",
        "sessions",
        "states",
        "statuses",
        "tickets",
        "transient_count",
        "verdict",
        "verdict_part",
    )

    def __init__(
        self,
        request: SubmitRequest,
        frames: list[bytes],
        future: asyncio.Future[SubmitOutcome],
        owner: JobOwner,
    ) -> None:
        self.request = request
        self.future = future
        self.owner = owner
        self.tickets = [PartTicket(self, i, frame) for i, frame in enumerate(frames)]
        count = len(frames)
        self.states = [PartState.PENDING] * count
        self.message_ids: list[str | None] = [None] * count
        self.statuses: list[int | None] = [None] * count
        self.sessions: list[SessionInfo | None] = [None] * count
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
        self.cursor = 0
        self._skip_done()

    @property
    def has_unsent(self) -> bool:
        return self.verdict is Verdict.NONE and self.cursor < len(self.tickets)

    def take_part(self) -> PartTicket:
        """The next part to write (call only while `has_unsent`)."""
        index = self.cursor
        self.states[index] = PartState.IN_FLIGHT
        self.in_flight += 1
        self.cursor += 1
        self._skip_done()
        return self.tickets[index]

    def _skip_done(self) -> None:
        states = self.states
        while self.cursor < len(states) and states[self.cursor] is not PartState.PENDING:
            self.cursor += 1

    # ---- answers -----------------------------------------------------------------------------

    def accepted(self, index: int, info: SessionInfo, message_id: str) -> None:
        self.in_flight -= 1
        self.states[index] = PartState.ACCEPTED
        self.message_ids[index] = message_id
        self.statuses[index] = 0
        self.sessions[index] = info
        self.pinned_slot = info.slot

    def refused(self, index: int, info: SessionInfo, command_status: int, verdict: Verdict) -> None:
        """A non-zero status: REJECTED fails the part; the others leave it to send again."""
        self.in_flight -= 1
        final = verdict is Verdict.REJECTED
        self.states[index] = PartState.FAILED if final else PartState.PENDING
        self.statuses[index] = command_status
        self.sessions[index] = info
        self._stop(verdict, index, "")

    def lost(self, index: int, info: SessionInfo, written: bool, reason: str) -> None:
        self.in_flight -= 1
        self.sessions[index] = info
        if written:
            self.states[index] = PartState.IN_DOUBT
            self._stop(Verdict.IN_DOUBT, index, reason)
        else:
            self.states[index] = PartState.PENDING
            self._stop(Verdict.REQUEUE, index, reason)

    def halt(self, verdict: Verdict, reason: str) -> None:
        """Stop sending parts for a reason that is not a part's answer (session or pool closed)."""
        self._stop(verdict, -1, reason)

    def _stop(self, verdict: Verdict, index: int, reason: str) -> None:
        if verdict > self.verdict:
            self.verdict = verdict
            self.verdict_part = index
            self.reason = reason

    @property
    def settled(self) -> bool:
        """Nothing in flight, and either stopped or every part accepted."""
        if self.in_flight:
            return False
        return self.verdict is not Verdict.NONE or self.cursor >= len(self.tickets)

    # ---- the result --------------------------------------------------------------------------

    def outcome(self, kind: OutcomeKind, reason: str = "") -> SubmitOutcome:
        parts = tuple(
            PartResult(
                index=i + 1,
                message_id=self.message_ids[i],
                command_status=self.statuses[i],
                session=self.sessions[i],
            )
            for i in range(len(self.tickets))
        )
        decisive = self.verdict_part
        if decisive < 0:
            decisive = len(parts) - 1
        return SubmitOutcome(
            kind=kind,
            key=self.request.key,
            parts=parts,
            command_status=self.statuses[decisive] if parts else None,
            session=self.sessions[decisive] if parts else None,
            attempts=self.attempts,
            reason=reason or self.reason,
        )


def encode_parts(request: SubmitRequest, settings: AccountSettings) -> list[bytes]:
    """The submit_sm frames of a request (sequence_number 0), or ValueError naming the fault."""
    if not request.parts:
        raise ValueError("the message has no parts")
    if not request.destination:
        raise ValueError("the destination is empty")
    for name, address in (("source", request.source), ("destination", request.destination)):
        if len(address) > MAX_ADDRESS_LENGTH:
            raise ValueError(f"the {name} address is longer than {MAX_ADDRESS_LENGTH} characters")
        if not address.isascii() or not address.isprintable():
            raise ValueError(f"the {name} address has characters SMPP cannot carry")
    source_ton = request.source_ton
    if source_ton is None:
        numeric_ton = settings.numeric_source_ton
        use_numeric = numeric_ton is not None and request.source.isdigit()
        source_ton = numeric_ton if use_numeric and numeric_ton is not None else settings.source_ton
    validity = ""
    if request.validity_seconds is not None:
        # seed 004_80a28bca441860d4.txt L2971-2972: never below 60 s.
        seconds = max(settings.min_validity_seconds, request.validity_seconds)
        validity = format_relative(timedelta(seconds=seconds))
    registered = request.registered_delivery
    frames = []
    for part in request.parts:
        if len(part.short_message) > MAX_SHORT_MESSAGE:
            raise ValueError(
                f"part {part.index} has {len(part.short_message)} octets, "
                f"short_message allows {MAX_SHORT_MESSAGE}"
            )
        frames.append(
            encode(
                pdus.SubmitSm(
                    source_addr_ton=source_ton,
                    source_addr_npi=_pick(request.source_npi, settings.source_npi),
                    source_addr=request.source,
                    dest_addr_ton=_pick(request.dest_ton, settings.dest_ton),
                    dest_addr_npi=_pick(request.dest_npi, settings.dest_npi),
                    destination_addr=request.destination,
                    esm_class=part.esm_class,
                    validity_period=validity,
                    registered_delivery=_pick(registered, settings.registered_delivery),
                    data_coding=part.data_coding,
                    short_message=part.short_message,
                    tlvs=dict(part.tlvs),
                )
            )
        )
    return frames


def _pick(value: int | None, default: int) -> int:
    return default if value is None else value
