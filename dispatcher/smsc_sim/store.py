"""Accepted messages and their state over time, for query_sm, cancel_sm, replace_sm and receipts.

A message is ENROUTE until its final time (submit time + receipt delay), then in the final
state drawn for it when it was accepted; cancel_sm makes it DELETED. The state is worked out
when asked, so no timer runs per message.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class StoredMessage:
    number: int
    message_id: str
    system_id: str
    source_addr_ton: int
    source_addr_npi: int
    source_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    destination_addr: str
    data_coding: int
    esm_class: int
    short_message: bytes  # the text octets, UDH removed (the receipt quotes them)
    submitted_at: float  # clock monotonic
    submitted_wall: float  # Unix time
    final_at: float  # clock monotonic time the final state applies from
    final_state: str  # receipt stat: DELIVRD, UNDELIV, EXPIRED, ...
    receipt_requested: bool
    deleted_at: float | None = None
    deleted_wall: float | None = None

    def state_at(self, now: float) -> str:
        if self.deleted_at is not None and self.deleted_at <= now:
            return "DELETED"
        return self.final_state if now >= self.final_at else "ENROUTE"

    def is_final_at(self, now: float) -> bool:
        return self.state_at(now) != "ENROUTE"

    def final_wall(self) -> float:
        """Unix time the message reached its final state (valid once it is final)."""
        if self.deleted_wall is not None:
            return self.deleted_wall
        return self.submitted_wall + (self.final_at - self.submitted_at)

    def delete(self, now: float, wall: float) -> None:
        self.deleted_at, self.deleted_wall = now, wall


class MessageStore:
    def __init__(self) -> None:
        self._by_id: dict[str, StoredMessage] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def add(self, message: StoredMessage) -> None:
        self._by_id[message.message_id] = message

    def by_id(self, message_id: str) -> StoredMessage | None:
        return self._by_id.get(message_id)

    def get(self, message_id: str, system_id: str) -> StoredMessage | None:
        """The message, if this account submitted it (one account cannot see another's)."""
        message = self._by_id.get(message_id)
        if message is None or message.system_id != system_id:
            return None
        return message
