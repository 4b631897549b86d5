"""What the simulator saw, for tests to assert on.

Times are `Clock.monotonic()` readings (clock seconds). No record holds a password.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from pdu.constants import CommandStatus

BindMode = Literal["tx", "rx", "trx"]
DeliverKind = Literal["receipt", "mo"]


@dataclass(frozen=True, slots=True)
class ConnectionAttempt:
    time: float
    session_id: int
    peer: str
    accepted: bool  # False while `faults.refuse_connections` is set


@dataclass(frozen=True, slots=True)
class BindAttempt:
    time: float
    session_id: int
    system_id: str
    mode: BindMode
    command_status: int

    @property
    def ok(self) -> bool:
        return self.command_status == CommandStatus.ESME_ROK


@dataclass(frozen=True, slots=True)
class SubmitRecord:
    """One submit_sm (or data_sm / submit_multi) as received, with the answer it got."""

    time: float
    session_id: int
    system_id: str
    command: str  # "submit_sm", "data_sm" or "submit_multi"
    sequence_number: int
    source_addr_ton: int
    source_addr_npi: int
    source_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    destination_addr: str  # the first destination of a submit_multi
    esm_class: int
    registered_delivery: int
    data_coding: int
    validity_period: str
    short_message: bytes
    tlvs: dict[int, bytes]
    command_status: int
    message_id: str  # "" when refused


@dataclass(frozen=True, slots=True)
class EnquireLinkRecord:
    time: float
    session_id: int
    # Clock seconds since the simulator last wrote a PDU to that connection (seed
    # 004_80a28bca441860d4.txt L2936-2937: a client should only ask after 60 s of silence).
    idle_seconds: float
    answered: bool


@dataclass(slots=True)
class SessionRecord:
    """One TCP connection, kept after it closes."""

    session_id: int
    peer: str
    opened: float
    closed: float | None = None
    system_id: str | None = None
    mode: BindMode | None = None
    pdus_received: int = 0
    # The window as measured here: submits received and not yet answered, at most.
    max_outstanding: int = 0


@dataclass(slots=True)
class DeliverRecord:
    """A deliver_sm the simulator sent (a receipt or an MO part) and how it was acknowledged."""

    time: float
    session_id: int
    sequence_number: int
    kind: DeliverKind
    # A receipt's message as its submit_sm_resp named it (the receipt itself may write the id in
    # the other base, see SimConfig.receipt_id_base); None for MO.
    message_id: str | None
    ack_status: int | None = None  # deliver_sm_resp command_status, None until answered


@dataclass(slots=True)
class ReceivedMessage:
    """A whole message as a handset would show it: single part, or re-joined from its parts."""

    source: str
    destination: str
    text: str
    parts: int
    times_seen: int = 1


@dataclass(slots=True)
class Recording:
    connections: list[ConnectionAttempt] = field(default_factory=list)
    binds: list[BindAttempt] = field(default_factory=list)
    sessions: list[SessionRecord] = field(default_factory=list)
    max_concurrent_binds: dict[str, int] = field(default_factory=dict)  # per system_id
    submits: list[SubmitRecord] = field(default_factory=list)
    enquire_links: list[EnquireLinkRecord] = field(default_factory=list)
    delivers: list[DeliverRecord] = field(default_factory=list)
    # Whole accepted messages, one entry per (source, destination, text).
    messages: list[ReceivedMessage] = field(default_factory=list)
    # (destination, text) -> how many times the whole message was accepted.
    accepted_counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Client behaviour that breaks SMPP 3.4 or a provider rule, each with its reason.
    violations: list[str] = field(default_factory=list)
    _messages_by_key: dict[tuple[str, str, str], ReceivedMessage] = field(
        default_factory=dict, repr=False
    )

    def add_message(self, source: str, destination: str, text: str, parts: int) -> None:
        key = (source, destination, text)
        known = self._messages_by_key.get(key)
        if known is None:
            known = ReceivedMessage(source, destination, text, parts, times_seen=0)
            self._messages_by_key[key] = known
            self.messages.append(known)
        known.times_seen += 1
        self.accepted_counts[(destination, text)] += 1

    def max_outstanding(self, system_id: str | None = None) -> int:
        """The largest window any session (of `system_id`, if given) used."""
        return max(
            (
                s.max_outstanding
                for s in self.sessions
                if system_id is None or s.system_id == system_id
            ),
            default=0,
        )

    def accepted(self) -> list[SubmitRecord]:
        return [s for s in self.submits if s.command_status == CommandStatus.ESME_ROK]
