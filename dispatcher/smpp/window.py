"""The window of one session: requests written and not yet answered.

Correlation is a dict keyed by sequence_number (O(1)). Expiry needs no scan: every windowed
request gets the same response timeout, so deadlines are in the order the requests were
written and a deque of `(deadline, seq, ticket)` keeps them sorted; answered requests are
dropped from its head as the responses come, so it stays about as long as the window.
"""

from __future__ import annotations

from collections import deque
from typing import Final, Generic, TypeVar

# SMPP 3.4 §5.1.4: sequence numbers run 0x00000001..0x7FFFFFFF; we wrap back to 1.
FIRST_SEQUENCE: Final = 1
LAST_SEQUENCE: Final = 0x7FFFFFFF

# What the session keeps for each request (dispatcher.smpp.session.Ticket); the window only
# holds it.
TicketT = TypeVar("TicketT")


class Window(Generic[TicketT]):
    __slots__ = ("_deadlines", "_next", "_tickets", "size", "timeout")

    def __init__(self, size: int, timeout: float, first_sequence: int = FIRST_SEQUENCE) -> None:
        if not FIRST_SEQUENCE <= first_sequence <= LAST_SEQUENCE:
            raise ValueError("first_sequence must be within 1..0x7FFFFFFF")
        self.size = size
        self.timeout = timeout
        self._tickets: dict[int, TicketT] = {}
        self._deadlines: deque[tuple[float, int, TicketT]] = deque()
        self._next = first_sequence

    def __len__(self) -> int:
        return len(self._tickets)

    def next_sequence(self) -> int:
        """The next free sequence number (skips one still waiting after a wrap)."""
        seq = self._next
        while seq in self._tickets:
            seq = FIRST_SEQUENCE if seq >= LAST_SEQUENCE else seq + 1
        self._next = FIRST_SEQUENCE if seq >= LAST_SEQUENCE else seq + 1
        return seq

    def add(self, seq: int, ticket: TicketT, now: float) -> None:
        """A request written at `now`, answered within `timeout` or expired."""
        self._tickets[seq] = ticket
        self._deadlines.append((now + self.timeout, seq, ticket))

    def add_untimed(self, seq: int, ticket: TicketT) -> None:
        """A request whose timeout the caller keeps itself (bind, enquire_link, unbind)."""
        self._tickets[seq] = ticket

    def pop(self, seq: int) -> TicketT | None:
        tickets = self._tickets
        ticket = tickets.pop(seq, None)
        deadlines = self._deadlines
        while deadlines:
            _, head_seq, head_ticket = deadlines[0]
            if tickets.get(head_seq) is head_ticket:
                break
            deadlines.popleft()  # answered already
        return ticket

    def next_deadline(self) -> float | None:
        return self._deadlines[0][0] if self._deadlines else None

    def expire(self, now: float) -> list[TicketT]:
        """Remove and return the requests whose deadline is at or before `now`."""
        expired: list[TicketT] = []
        deadlines = self._deadlines
        tickets = self._tickets
        while deadlines and deadlines[0][0] <= now:
            _, seq, ticket = deadlines.popleft()
            if tickets.get(seq) is ticket:
                del tickets[seq]
                expired.append(ticket)
        while deadlines and tickets.get(deadlines[0][1]) is not deadlines[0][2]:
            deadlines.popleft()
        return expired

    def take_all(self) -> list[tuple[int, TicketT]]:
        """Empty the window (the connection is gone)."""
        taken = list(self._tickets.items())
        self._tickets.clear()
        self._deadlines.clear()
        return taken
