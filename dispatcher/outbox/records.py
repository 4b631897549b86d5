"""The typed values going in and out of the outbox store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from dispatcher.status import MessageStatus

# what a receipt or a status query can say about one part
PART_STATUSES = frozenset(
    {
        MessageStatus.SUBMITTED,  # not final yet (ENROUTE, ACCEPTD, ...)
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERABLE,
        MessageStatus.EXPIRED,
        MessageStatus.REJECTED,
        MessageStatus.FAILED,
        MessageStatus.UNKNOWN,
    }
)


def _check_part_status(status: MessageStatus) -> None:
    if status not in PART_STATUSES:
        raise ValueError(f"{status} is not a status a part can take")


class InDoubtPolicy(StrEnum):
    """What crash recovery does with a row whose message may have reached the provider
    (written to the wire, response never recorded)."""

    RESEND = "resend"  # back to the queue: at-least-once, it may arrive twice
    UNKNOWN = "unknown"  # final `unknown`: at-most-once, it may never have been sent


# The records made once or more per message (claimed, submitted and its parts) are
# NamedTuples, like the SMPP engine's outcomes: immutable, and built in 0.5-0.8 µs where a
# frozen dataclass of the same fields takes 2-3.5 µs (Python 3.11: its __init__ pays an
# object.__setattr__ call per field).


class ClaimedMessage(NamedTuple):
    """An outbox row claimed for sending, exactly as the producer wrote it (validate it
    before use: see dispatcher.outbox.validation). The claim selects the columns named by
    the fields, in this order."""

    id: int
    route: str
    channel: str
    source: str | None
    destination: str | None
    body: str | None
    priority: int
    validity: int | None
    client_ref: str | None
    attempts: int


class SubmittedPart(NamedTuple):
    """One part the provider accepted, with the id its receipt will carry."""

    part_index: int  # 1-based
    account: str
    message_id: str  # normalised (pdu.message_id.normalize_message_id with the account's mode)
    raw_message_id: str  # as the provider returned it


class Submission(NamedTuple):
    """A message accepted by a provider: the row becomes `submitted`."""

    outbox_id: int
    provider: str
    parts: tuple[SubmittedPart, ...]
    # parts billed, when it differs from the parts sent (message_payload: the SMSC splits)
    segments: int | None = None


@dataclass(frozen=True, slots=True)
class FinalResult:
    """A message that ends without a receipt (refused by the provider, out of attempts, ...)."""

    outbox_id: int
    status: MessageStatus
    error_code: str | None = None
    error_text: str | None = None
    provider: str | None = None

    def __post_init__(self) -> None:
        if not self.status.is_final:
            raise ValueError(f"{self.status} is not a final status")

    @classmethod
    def rejected(cls, outbox_id: int, error_text: str) -> FinalResult:
        """A row that failed validation."""
        return cls(outbox_id, MessageStatus.REJECTED, error_text=error_text)


@dataclass(frozen=True, slots=True)
class Release:
    """A claimed row going back to the queue (not sent, or to be tried again later). The
    reason stays visible to the producer in error_code / error_text while it waits."""

    outbox_id: int
    delay_seconds: float = 0.0
    error_code: str | None = None
    error_text: str | None = None


class ReceiptRecord(NamedTuple):
    """A delivery receipt as received, keyed the way its part was recorded (one per receipt:
    a NamedTuple, see above; `check_part_statuses` runs on every batch the store writes)."""

    account: str
    message_id: str  # normalised like SubmittedPart.message_id
    status: MessageStatus  # what it means for the part (see receipt_states.status_for_state)
    received_at: datetime
    state: str | None = None  # the provider's word: DELIVRD, UNDELIV, ...
    error_code: str | None = None
    text: str | None = None


# What the daemon writes to `OutboxStore.record_results` through one writer, in the order
# it came: a receipt then finds its part in the database, or beside it in the same batch.
CorrelationRecord = Submission | ReceiptRecord


def check_part_statuses(receipts: Sequence[ReceiptRecord]) -> None:
    for receipt in receipts:
        _check_part_status(receipt.status)


@dataclass(frozen=True, slots=True)
class PartOutcome:
    """A part's outcome learned by asking the provider (query_sm, an HTTP status call)."""

    outbox_id: int
    part_index: int
    status: MessageStatus
    at: datetime
    state: str | None = None
    error_code: str | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        _check_part_status(self.status)


@dataclass(frozen=True, slots=True)
class ReceiptReport:
    matched: int  # receipts applied to a known part
    pending: int  # receipts kept until their part is recorded
    finalised: int  # messages that reached a final status


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    requeued: int  # nothing was written: back to the queue
    requeued_in_doubt: int  # maybe written, policy "resend": back to the queue
    marked_unknown: int  # maybe written, policy "unknown": final unknown
    failed: int  # out of attempts: final failed


@dataclass(frozen=True, slots=True)
class OverduePart:
    """A submitted part without a final receipt for too long: ask the provider."""

    outbox_id: int
    part_index: int
    account: str
    message_id: str
    raw_message_id: str
    route: str
    source: str | None  # NULL: the route's sender was used
    destination: str | None
    submitted_at: datetime
    query_count: int  # queries issued before this one


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A reassembled incoming (MO) message."""

    account: str
    source: str
    destination: str
    body: str
    received_at: datetime
    dedupe_key: str  # see incoming.dedupe_key
    parts: int = 1
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StatusCount:
    route: str
    status: MessageStatus
    count: int


@dataclass(frozen=True, slots=True)
class RecentError:
    outbox_id: int
    route: str
    status: MessageStatus
    error_code: str | None
    error_text: str | None
    status_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxStats:
    counts: tuple[StatusCount, ...]
    recent_errors: tuple[RecentError, ...]
    pending_receipts: int
