"""The time stamps Devino's APIs and callbacks carry, read into aware UTC datetimes.

- `\\/Date(1294045911213)\\/`, optionally with an offset `-0000`: Microsoft JSON dates in
  REST answers (seed 004 L842, spec §2.4), milliseconds since the epoch in UTC.
- `"1527861323068"`: epoch milliseconds as a string (Viber status callback, seed 004 L6704).
- `yyyy-MM-dd HH:mm:ss` (Viber API, seed 004 L6123-6125: printed `yyyy-MMdd`, a typo) and ISO
  `2011-01-28T16:00:00` (SOAP dateTime): naive, read in the zone the caller names (UTC unless
  the API says otherwise).

Anything else is None: a bad time stamp never fails the record that carries it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

_MS_DATE = re.compile(r"\\?/Date\((-?\d+)([+-]\d{4})?\)\\?/")
_EPOCH_MS = re.compile(r"-?\d{10,16}")
# .NET DateTime.MinValue (spec §2.4): "no value".
_MIN_VALUE_MS = -62135596800000


def parse_provider_time(value: object, *, naive_zone: tzinfo = UTC) -> datetime | None:
    """An aware UTC datetime for any of the forms above; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return _from_ms(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _MS_DATE.fullmatch(text)
    if match is not None:
        return _from_ms(int(match.group(1)))  # the offset names the writer's zone, not UTC's
    if _EPOCH_MS.fullmatch(text):
        return _from_ms(int(text))
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=naive_zone)
    return moment.astimezone(UTC)


def _from_ms(milliseconds: int) -> datetime | None:
    if milliseconds == _MIN_VALUE_MS:
        return None
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=milliseconds)
    except OverflowError:
        return None
