"""The status line: redrawn in place on a terminal, throttled by the clock, plain elsewhere."""

from __future__ import annotations

import io

from dispatcher.clock import Clock
from dispatcher.commands.progress import LiveLine, bar


class SteppedClock(Clock):
    """A clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_line_is_redrawn_in_place_at_most_every_interval() -> None:
    clock, stream = SteppedClock(), Terminal()
    line = LiveLine(stream, tty_interval=0.2, clock=clock)
    line.show("one")
    clock.now = 0.1
    line.show("too soon")
    clock.now = 0.25
    line.show("two")
    line.finish("last")
    assert stream.getvalue() == "\rone\x1b[K\rtwo\x1b[K\rlast\x1b[K\n"


def test_elsewhere_plain_lines_come_only_when_asked_for() -> None:
    clock, silent, logged = SteppedClock(), io.StringIO(), io.StringIO()
    quiet = LiveLine(silent, clock=clock)
    plain = LiveLine(logged, plain_interval=5.0, clock=clock)
    for now in (0.0, 1.0, 5.5, 6.0):
        clock.now = now
        quiet.show(f"at {now}")
        plain.show(f"at {now}")
    quiet.finish()
    plain.finish()
    assert silent.getvalue() == ""
    assert logged.getvalue() == "at 0.0\nat 5.5\n"


def test_bar_fills_with_the_fraction_and_stays_in_bounds() -> None:
    assert bar(0.5, width=10) == "[#####.....]"
    assert bar(-1, width=4) == "[....]"
    assert bar(2, width=4) == "[####]"
