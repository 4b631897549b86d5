"""The window's bookkeeping without I/O: sequence numbers and expiry order."""

from __future__ import annotations

from dispatcher.smpp.window import LAST_SEQUENCE, Window


class Request:
    """The window only holds what the session gives it: any object will do."""


def test_sequence_numbers_wrap_to_one_and_skip_those_in_use() -> None:
    window: Window[Request] = Window(size=10, timeout=5.0, first_sequence=LAST_SEQUENCE - 1)
    waiting = Request()
    first = window.next_sequence()
    window.add(first, waiting, now=0.0)
    assert first == LAST_SEQUENCE - 1
    assert [window.next_sequence() for _ in range(3)] == [LAST_SEQUENCE, 1, 2]
    # after a full turn the number still waiting is not handed out again
    window = Window(size=10, timeout=5.0, first_sequence=LAST_SEQUENCE)
    window.add(1, waiting, now=0.0)
    assert [window.next_sequence() for _ in range(2)] == [LAST_SEQUENCE, 2]


def test_expiry_returns_only_unanswered_requests_past_their_deadline() -> None:
    window: Window[Request] = Window(size=10, timeout=5.0)
    requests = [Request() for _ in range(4)]
    for i, r in enumerate(requests):
        window.add(window.next_sequence(), r, now=float(i))
    assert window.pop(1) is requests[0]
    assert window.pop(3) is requests[2]
    assert window.next_deadline() == 6.0  # request 2, sent at 1.0
    assert window.expire(now=7.5) == [requests[1]]
    assert window.expire(now=100.0) == [requests[3]]
    assert len(window) == 0 and window.next_deadline() is None


def test_answered_requests_leave_the_deadline_queue() -> None:
    window: Window[Request] = Window(size=100, timeout=5.0)
    for i in range(10_000):
        seq = window.next_sequence()
        window.add(seq, Request(), now=float(i))
        window.pop(seq)
    assert window.next_deadline() is None
    assert window.pop(12345) is None  # a late or unknown response matches nothing
