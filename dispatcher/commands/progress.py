"""A status line for long commands: rewritten in place on a terminal, plain lines elsewhere.

On a terminal the line is redrawn at most every `tty_interval` seconds (cut to the terminal's
width, so it never wraps and `\\r` can redraw it). When the stream is a file or a pipe, carriage
returns would only garble it: the line is then written as an ordinary line every
`plain_interval` seconds, or not at all when that is None (a progress bar is of no use in a
log).
"""

from __future__ import annotations

import shutil
from typing import TextIO

from dispatcher.clock import Clock, SystemClock

_CLEAR_TO_END_OF_LINE = "\x1b[K"


class LiveLine:
    def __init__(
        self,
        stream: TextIO,
        *,
        tty_interval: float = 0.2,
        plain_interval: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._stream = stream
        self._clock = clock or SystemClock()
        self.in_place = _is_terminal(stream)
        self._interval = tty_interval if self.in_place else plain_interval
        self._started_at = self._clock.monotonic()
        self._shown_at: float | None = None
        self._drawn = False

    @property
    def elapsed(self) -> float:
        """Seconds since the line was created (for rates)."""
        return self._clock.monotonic() - self._started_at

    def show(self, text: str, *, force: bool = False) -> None:
        """Draw `text` unless the last drawing is too recent (`force` draws anyway)."""
        if self._interval is None:
            return
        now = self._clock.monotonic()
        if not force and self._shown_at is not None and now - self._shown_at < self._interval:
            return
        self._shown_at = now
        if self.in_place:
            width = max(shutil.get_terminal_size().columns - 1, 20)
            self._stream.write(f"\r{text[:width]}{_CLEAR_TO_END_OF_LINE}")
            self._drawn = True
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def finish(self, text: str | None = None) -> None:
        """Draw the last state (if given) and end the line, so later output starts clean."""
        if text is not None:
            self.show(text, force=True)
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False


def bar(fraction: float, width: int = 30) -> str:
    """[#########.....................] for a fraction between 0 and 1."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return "[" + "#" * filled + "." * (width - filled) + "]"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream is not a terminal
        return False
