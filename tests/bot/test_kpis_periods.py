"""Periods in the workspace time zone: words in both languages, ranges, the previous period, bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.kpis import PeriodError, parse_period, percentile_offset

NOW = datetime(2026, 12, 2, 17, 30, tzinfo=UTC)  # Thu 01:30 on Dec 3rd in Shanghai: "today" is already the 3rd
TZ = "Asia/Shanghai"


@pytest.mark.parametrize(("word", "first", "last"), [
    (None, date(2026, 12, 3), date(2026, 12, 3)),
    ("today", date(2026, 12, 3), date(2026, 12, 3)),
    ("昨天", date(2026, 12, 2), date(2026, 12, 2)),
    ("本周", date(2026, 11, 30), date(2026, 12, 3)),
    ("last-week", date(2026, 11, 23), date(2026, 11, 29)),
    ("上月", date(2026, 11, 1), date(2026, 11, 30)),
    ("month", date(2026, 12, 1), date(2026, 12, 3)),
    ("2026-10-01..2026-10-07", date(2026, 10, 1), date(2026, 10, 7)),
    ("2026-10-01", date(2026, 10, 1), date(2026, 10, 1)),
])
def test_words_and_ranges_name_local_days(word, first, last):
    period = parse_period(word, NOW, TZ)
    assert (period.first, period.last) == (first, last)


def test_bounds_are_local_midnights_in_utc_and_the_previous_period_is_as_long():
    period = parse_period("yesterday", NOW, TZ)
    assert (period.start, period.end) == (datetime(2026, 12, 1, 16, tzinfo=UTC), datetime(2026, 12, 2, 16, tzinfo=UTC))
    assert period.previous().key == "2026-12-01"
    assert parse_period("last-month", NOW, TZ).previous().key == "2026-10-01..2026-10-31"
    assert parse_period("2026-10-01..2026-10-07", NOW, TZ).previous().key == "2026-09-24..2026-09-30"


@pytest.mark.parametrize("word", ["fortnight", "2026-13-01", "2026-10-07..2026-10-01", "2025-01-01..2026-12-01"])
def test_what_names_no_period_is_refused(word):
    with pytest.raises(PeriodError):
        parse_period(word, NOW, TZ)


def test_nearest_rank_percentiles():
    assert [percentile_offset(n, 0.5) for n in (1, 2, 3, 4, 10)] == [0, 0, 1, 1, 4]
    assert [percentile_offset(n, 0.9) for n in (1, 4, 10, 11)] == [0, 3, 8, 9]
