"""Business-time arithmetic: weekends, lunch breaks, 国庆 with its 调休 workdays, time zones."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.business_hours import ALWAYS_OPEN, build_calendar, parse_weekdays

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
OFFICE = build_calendar()  # 09:00–18:00 Mon–Fri, Asia/Shanghai, China's holidays
LUNCH = build_calendar(lunch="12:00-13:00")


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.mark.parametrize(
    ("calendar", "start", "hours", "expected"),
    [
        (OFFICE, sh(2026, 11, 20, 17, 30), 2, sh(2026, 11, 23, 10, 30)),  # Fri 17:30 + 2h → Mon 10:30
        (OFFICE, sh(2026, 11, 20, 10, 0), 4, sh(2026, 11, 20, 14, 0)),
        (OFFICE, sh(2026, 11, 21, 11, 0), 1, sh(2026, 11, 23, 10, 0)),   # from a Saturday
        (OFFICE, sh(2026, 11, 19, 7, 0), 9, sh(2026, 11, 19, 18, 0)),    # before opening, a whole day
        (OFFICE, sh(2026, 11, 19, 18, 0), 0.5, sh(2026, 11, 20, 9, 30)),  # at closing time
        (LUNCH, sh(2026, 11, 20, 11, 30), 1, sh(2026, 11, 20, 13, 30)),   # across the lunch break
        (LUNCH, sh(2026, 11, 20, 12, 15), 1, sh(2026, 11, 20, 14, 0)),    # from inside the lunch break
        # 国庆 2025: Oct 1–8 off; Sun Sep 28 and Sat Oct 11 are adjusted workdays (调休).
        (OFFICE, sh(2025, 9, 30, 17, 0), 2, sh(2025, 10, 9, 10, 0)),
        (OFFICE, sh(2025, 9, 26, 17, 0), 2, sh(2025, 9, 28, 10, 0)),      # Fri → the 调休 Sunday
        (OFFICE, sh(2025, 10, 10, 17, 0), 2, sh(2025, 10, 11, 10, 0)),    # Fri → the 调休 Saturday
    ],
)
def test_add_business_hours(calendar, start, hours, expected):
    assert calendar.add(start, timedelta(hours=hours)) == expected.astimezone(UTC)


def test_adjusted_workday_is_open_and_holiday_closed():
    assert OFFICE.is_open(sh(2025, 10, 11, 10, 0)), "Sat 2025-10-11 is a 调休 workday"
    assert not OFFICE.is_open(sh(2025, 10, 8, 10, 0)), "Wed 2025-10-08 is part of the National Day break"
    assert OFFICE.next_open(sh(2025, 10, 1, 9, 0)) == sh(2025, 10, 9, 9, 0).astimezone(UTC)


def test_company_days_off_and_extra_workdays_from_config():
    calendar = build_calendar(extra_holidays=["2026-11-23"], extra_workdays=["2026-11-22"])
    assert calendar.is_open(sh(2026, 11, 22, 10, 0))
    assert calendar.add(sh(2026, 11, 20, 17, 0), timedelta(hours=2)) == sh(2026, 11, 22, 10, 0).astimezone(UTC)
    assert not calendar.is_open(sh(2026, 11, 23, 10, 0))


def test_time_zone_boundaries():
    new_york = build_calendar(timezone="America/New_York", country="US")
    # DST starts Sun 2026-03-08: Friday 17:00 + 2 business hours is Monday 10:00 local, 14:00 UTC.
    result = new_york.add(datetime(2026, 3, 6, 17, 0, tzinfo=NY), timedelta(hours=2))
    assert result == datetime(2026, 3, 9, 10, 0, tzinfo=NY).astimezone(UTC) == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    # A UTC instant on Thursday 23:00 is already Friday 07:00 in Shanghai: the clock starts at 09:00 there.
    assert OFFICE.add(datetime(2026, 11, 19, 23, 0, tzinfo=UTC), timedelta(hours=1)) == sh(2026, 11, 20, 10, 0)


def test_elapsed_skips_nights_weekends_and_lunch():
    assert OFFICE.elapsed(sh(2026, 11, 20, 17, 0), sh(2026, 11, 23, 10, 0)) == timedelta(hours=2)
    assert LUNCH.elapsed(sh(2026, 11, 20, 11, 0), sh(2026, 11, 20, 14, 0)) == timedelta(hours=2)
    assert OFFICE.elapsed(sh(2026, 11, 23, 10, 0), sh(2026, 11, 20, 17, 0)) == timedelta(0)


def test_business_days_and_always_open():
    assert OFFICE.add_business_days(sh(2026, 11, 20, 10, 0), 3) == sh(2026, 11, 25, 10, 0).astimezone(UTC)
    start = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
    assert ALWAYS_OPEN.add(start, timedelta(minutes=15)) == start + timedelta(minutes=15)
    assert ALWAYS_OPEN.is_open(start)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        OFFICE.add(datetime(2026, 11, 20, 10, 0), timedelta(hours=1))


@pytest.mark.parametrize(("text", "days"), [("mon-fri", [0, 1, 2, 3, 4]), ("sat,sun", [5, 6]), ("fri-mon", [0, 4, 5, 6])])
def test_weekdays(text, days):
    assert parse_weekdays(text) == days


def test_add_and_elapsed_round_trip():
    rng = random.Random(7)
    for calendar in (OFFICE, LUNCH):
        for _ in range(300):
            start = sh(2025, 9, 1) + timedelta(minutes=rng.randrange(0, 60 * 24 * 120))
            duration = timedelta(minutes=rng.randrange(1, 60 * 40))
            end = calendar.add(start, duration)
            assert calendar.elapsed(start, end) == duration
            assert calendar.is_open(end - timedelta(seconds=1))
