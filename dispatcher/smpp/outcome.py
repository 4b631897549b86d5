"""What the layer above hands the pool (`SubmitRequest`) and what it gets back (`SubmitOutcome`)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from enum import StrEnum
from typing import NamedTuple

from dispatcher.smpp.session_info import SessionInfo
from pdu.constants import status_name
from pdu.segmentation import MessagePart


class SubmitRequest(NamedTuple):
    """One message: every part goes out on one session, in order (seed L2955-2957). Its parts
    are encoded when the pool admits it. A NamedTuple, like the results below: one is built
    per message."""

    key: Hashable  # the caller's id for the message (e.g. the outbox row id), echoed back
    source: str
    destination: str  # international digits without "+"
    parts: Sequence[MessagePart]  # from pdu.segmentation.split_text
    validity_seconds: int | None = None  # None: the SMSC's default; else clamped to >= 60 s
    source_ton: int | None = None  # None: the account's default
    source_npi: int | None = None
    dest_ton: int | None = None
    dest_npi: int | None = None
    registered_delivery: int | None = None


class OutcomeKind(StrEnum):
    ACCEPTED = "accepted"  # every part has an SMSC message_id
    REJECTED = "rejected"  # permanent (e.g. ESME_RINVDSTADR): final, never resend anywhere
    FAILED_RETRYABLE = "failed_retryable"  # retries used up; another route may take it
    IN_DOUBT = "in_doubt"  # written to the SMSC, no answer came: it may have been accepted
    NOT_SENT = "not_sent"  # the remaining parts never went out: safe to send again


# The results are NamedTuples: immutable, and several times cheaper to build than frozen
# dataclasses, which matters at tens of thousands of outcomes a second.


class PartResult(NamedTuple):
    number: int  # the part's number, 1-based (MessagePart.number)
    message_id: str | None = None  # the SMSC's id once accepted (receipts refer to it)
    command_status: int | None = None  # the last response's status; None when none came
    session: SessionInfo | None = None  # the session that carried the last attempt

    @property
    def accepted(self) -> bool:
        return self.message_id is not None


class SubmitOutcome(NamedTuple):
    kind: OutcomeKind
    key: Hashable
    parts: tuple[PartResult, ...]
    command_status: int | None = None  # the status that decided the outcome
    session: SessionInfo | None = None  # the session that carried the deciding attempt
    attempts: int = 0  # how many times the message (its remaining parts) was sent
    reason: str = ""

    @property
    def status_name(self) -> str | None:
        return None if self.command_status is None else status_name(self.command_status)

    @property
    def message_ids(self) -> tuple[str, ...]:
        """The ids of the accepted parts, in part order."""
        return tuple(p.message_id for p in self.parts if p.message_id is not None)
