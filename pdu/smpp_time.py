"""SMPP 3.4 §7.1.1 time format, used by schedule_delivery_time and validity_period.

Absolute: "YYMMDDhhmmsstnnp": t = tenths of a second, nn = the offset from UTC in quarter hours
(00-48), p = "+" or "-". Relative: "YYMMDDhhmmss000R", a period from now.
Two-digit years are 2000-2099 (never year 24 AD, specs/smpp-anchors.md §1.7 #12) and offsets
are quarter hours of either sign.

Relative years and months have no fixed length; this module counts a year as 365 days and a
month as 30, and writes periods under 100 days in the days field alone so that an SMSC's own
reading of months cannot matter for them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

_QUARTER_HOUR: Final = timedelta(minutes=15)
# §7.1.1.1: nn is 00-48 (up to 12 hours either side of UTC).
_MAX_OFFSET_QUARTERS: Final = 48
_DAYS_PER_YEAR: Final = 365
_DAYS_PER_MONTH: Final = 30
# Below this many days a relative period is written as days alone (the field has two digits).
_DAYS_FIELD_LIMIT: Final = 100
_MAX_RELATIVE: Final = timedelta(
    days=99 * _DAYS_PER_YEAR + 11 * _DAYS_PER_MONTH + 29, hours=23, minutes=59, seconds=59
)
_SMPP_TIME: Final = re.compile(r"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d)(\d{2})([-+Rr])")


def format_absolute(moment: datetime) -> str:
    """An aware datetime as "YYMMDDhhmmsstnn+" / "-". The datetime's own offset is kept when it
    is a whole number of quarter hours within 12 hours of UTC; otherwise the time is written in
    UTC. Raises ValueError for a naive datetime or a year outside 2000-2099.
    """
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("an SMPP absolute time needs an aware datetime (with tzinfo)")
    quarters, remainder = divmod(offset, _QUARTER_HOUR)
    if remainder or abs(quarters) > _MAX_OFFSET_QUARTERS:
        moment, quarters = moment.astimezone(UTC), 0
    if not 2000 <= moment.year <= 2099:
        raise ValueError(f"year {moment.year} cannot be written in SMPP time (2000-2099)")
    sign = "-" if quarters < 0 else "+"
    return f"{moment:%y%m%d%H%M%S}{moment.microsecond // 100_000}{abs(quarters):02d}{sign}"


def format_relative(period: timedelta) -> str:
    """A period as "YYMMDDhhmmss000R" (fractions of a second dropped). Raises ValueError for a
    negative period or one longer than the format holds (99 years 11 months 29 days ...)."""
    if period < timedelta(0) or period > _MAX_RELATIVE:
        raise ValueError(f"relative SMPP time must be within 0..{_MAX_RELATIVE}, not {period}")
    days, seconds = period.days, period.seconds
    years = months = 0
    if days >= _DAYS_FIELD_LIMIT:
        years, days = divmod(days, _DAYS_PER_YEAR)
        months, days = divmod(days, _DAYS_PER_MONTH)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{years:02d}{months:02d}{days:02d}{hours:02d}{minutes:02d}{seconds:02d}000R"


def parse_smpp_time(text: str, now: datetime | None = None) -> datetime | timedelta | None:
    """Read an SMPP time. Absolute -> an aware datetime in the written offset. Relative -> a
    timedelta, or `now` + that period when `now` is given. None for an empty field (SMPP's
    "immediately" / "SMSC default") and for anything that is not SMPP time: this never raises,
    so a bad field in an incoming PDU only loses that field.
    """
    match = _SMPP_TIME.fullmatch(text.strip(" \x00"))
    if match is None:
        return None
    yy, mo, dd, hh, mi, ss, tenths, nn = (int(group) for group in match.groups()[:8])
    if match.group(9) in "Rr":
        if hh > 23 or mi > 59 or ss > 59:
            return None
        period = timedelta(
            days=yy * _DAYS_PER_YEAR + mo * _DAYS_PER_MONTH + dd,
            hours=hh,
            minutes=mi,
            seconds=ss,
        )
        if now is None:
            return period
        try:
            return now + period
        except OverflowError:
            return None
    quarters = -nn if match.group(9) == "-" else nn
    try:
        return datetime(
            2000 + yy,
            mo,
            dd,
            hh,
            mi,
            ss,
            tenths * 100_000,
            tzinfo=timezone(quarters * _QUARTER_HOUR),
        )
    except ValueError:
        return None
