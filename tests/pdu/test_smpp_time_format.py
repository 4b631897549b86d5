"""SMPP time: absolute with quarter-hour offsets of both signs, relative "R", years 20xx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdu.smpp_time import format_absolute, format_relative, parse_smpp_time

MSK = timezone(timedelta(hours=3))


def test_absolute_with_positive_offset() -> None:
    moment = datetime(2024, 1, 31, 12, 59, 30, 700_000, tzinfo=MSK)
    assert format_absolute(moment) == "240131125930712+"
    assert parse_smpp_time("240131125930712+") == moment


def test_absolute_with_negative_offset() -> None:
    newfoundland = timezone(-timedelta(hours=3, minutes=30))
    moment = datetime(2030, 6, 1, 8, 0, tzinfo=newfoundland)
    assert format_absolute(moment) == "300601080000014-"
    parsed = parse_smpp_time("300601080000014-")
    assert parsed == moment
    assert isinstance(parsed, datetime)
    assert parsed.utcoffset() == -timedelta(hours=3, minutes=30)


def test_two_digit_year_is_20xx_not_year_24() -> None:
    parsed = parse_smpp_time("240101120000016+")
    assert isinstance(parsed, datetime)
    assert parsed.year == 2024
    assert parsed.utcoffset() == timedelta(hours=4)  # 16 quarter hours, not 16 hours


def test_offset_not_in_quarter_hours_is_written_in_utc() -> None:
    odd = timezone(timedelta(minutes=7))
    moment = datetime(2024, 1, 1, 0, 7, tzinfo=odd)
    assert format_absolute(moment) == "240101000000000+"


def test_naive_datetime_and_years_outside_20xx_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_absolute(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="year"):
        format_absolute(datetime(2100, 1, 1, tzinfo=UTC))


def test_relative() -> None:
    assert format_relative(timedelta(minutes=1)) == "000000000100000R"  # Devino's 60 s minimum
    assert format_relative(timedelta(days=2, hours=3, seconds=4)) == "000002030004000R"
    assert parse_smpp_time("000002030004000R") == timedelta(days=2, hours=3, seconds=4)


def test_relative_over_99_days_uses_years_and_months() -> None:
    assert format_relative(timedelta(days=400)) == "010105000000000R"
    assert parse_smpp_time("010105000000000R") == timedelta(days=400)


def test_relative_with_now_is_a_moment() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_smpp_time("000001000000000R", now) == now + timedelta(days=1)


def test_negative_or_huge_relative_periods_are_refused() -> None:
    with pytest.raises(ValueError):
        format_relative(timedelta(seconds=-1))
    with pytest.raises(ValueError):
        format_relative(timedelta(days=365 * 100 + 1))


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "now",
        "2401011200000",  # too short
        "241301120000000+",  # month 13
        "240101250000000+",  # hour 25
        "240101120000099+",  # a 24 h 45 min offset
        "000000250000000R",  # relative hour 25
        "24010112000000x+",
        "240101120000000*",
    ],
)
def test_garbage_is_none(garbage: str) -> None:
    assert parse_smpp_time(garbage) is None


def test_trailing_nul_and_lower_case_r_are_accepted() -> None:
    assert parse_smpp_time("000000000100000r\x00") == timedelta(minutes=1)


@given(
    st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30)),
    st.integers(-48, 48),
)
def test_absolute_round_trip(moment: datetime, quarters: int) -> None:
    aware = moment.replace(
        microsecond=moment.microsecond // 100_000 * 100_000,
        tzinfo=timezone(quarters * timedelta(minutes=15)),
    )
    assert parse_smpp_time(format_absolute(aware)) == aware


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=36_000)))
def test_relative_round_trip(period: timedelta) -> None:
    whole = timedelta(days=period.days, seconds=period.seconds)
    assert parse_smpp_time(format_relative(period)) == whole


@given(st.text(max_size=30))
def test_parse_never_raises(text: str) -> None:
    parse_smpp_time(text, datetime(2024, 1, 1, tzinfo=UTC))
