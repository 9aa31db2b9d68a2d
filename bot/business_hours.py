"""Business calendars: time zone, weekly hours (with a lunch break), holidays and adjusted workdays (调休)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays as holiday_data

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$", re.IGNORECASE)
Interval = tuple[datetime, datetime]
_MAX_DAYS = 3700  # a calendar with no open hours for ten years is a configuration error, not a wait


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("business-time arithmetic needs timezone-aware datetimes")
    return value


class Calendar:
    """Open hours per weekday in one time zone, minus holidays, plus adjusted workdays."""

    def __init__(self, *, name: str = "default", timezone: str = "Asia/Shanghai",
                 weekly_hours: Mapping[int, tuple[tuple[time, time], ...]] | None = None,
                 holidays: Iterable[date] = (), extra_workdays: Iterable[date] = (),
                 country_holidays=None, workday_template: int = 0, always_open: bool = False):
        self.name = name
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self.weekly_hours = dict(weekly_hours or {})
        self.holidays = frozenset(holidays)
        self.extra_workdays = frozenset(extra_workdays)
        # A `holidays` package object: public holidays and (for China) its weekend_workdays, loaded per year.
        self.country_holidays = country_holidays
        self.workday_template = workday_template
        self.always_open = always_open
        self._cache: dict[date, tuple[Interval, ...]] = {}

    # ---- which hours is a given local day open --------------------------------------------------------
    def _hours_of(self, day: date) -> tuple[tuple[time, time], ...]:
        if day in self.holidays:
            return ()
        if day in self.extra_workdays:
            return self.weekly_hours.get(self.workday_template, ())
        country = self.country_holidays
        if country is not None:
            if day in country:  # membership loads that year's data on first use
                return ()
            if day in getattr(country, "weekend_workdays", ()):
                return self.weekly_hours.get(self.workday_template, ())
        return self.weekly_hours.get(day.weekday(), ())

    def intervals(self, day: date) -> tuple[Interval, ...]:
        """The open intervals (UTC) of one local calendar day."""
        cached = self._cache.get(day)
        if cached is None:
            cached = tuple(
                (datetime.combine(day, start, self.zone).astimezone(UTC),
                 datetime.combine(day, end, self.zone).astimezone(UTC))
                for start, end in self._hours_of(day)
            )
            self._cache[day] = cached
        return cached

    def _local_day(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    # ---- arithmetic ----------------------------------------------------------------------------------
    def is_open(self, at: datetime) -> bool:
        """True when `at` falls in open hours."""
        _aware(at)
        if self.always_open:
            return True
        return any(start <= at < end for start, end in self.intervals(self._local_day(at)))

    def next_open(self, at: datetime) -> datetime:
        """`at` itself when open, else the start of the next open interval (UTC)."""
        _aware(at)
        if self.always_open:
            return at.astimezone(UTC)
        day = self._local_day(at)
        for _ in range(_MAX_DAYS):
            for start, end in self.intervals(day):
                if at < end:
                    return max(start, at.astimezone(UTC))
            day += timedelta(days=1)
        raise ValueError(f"calendar {self.name!r} has no open hours")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant `duration` of business time after `start` (UTC)."""
        _aware(start)
        start = start.astimezone(UTC)
        if self.always_open or duration <= timedelta(0):
            return start + max(duration, timedelta(0))
        remaining, cursor, day = duration, start, self._local_day(start)
        for _ in range(_MAX_DAYS):
            for open_at, close_at in self.intervals(day):
                if close_at <= cursor:
                    continue
                begin = max(open_at, cursor)
                span = close_at - begin
                if remaining <= span:
                    return begin + remaining
                remaining -= span
                cursor = close_at
            day += timedelta(days=1)
        raise ValueError(f"calendar {self.name!r} has no open hours")

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two instants (zero when `end` is not after `start`)."""
        _aware(start), _aware(end)
        if end <= start:
            return timedelta(0)
        if self.always_open:
            return end - start
        total, day, last = timedelta(0), self._local_day(start), self._local_day(end)
        while day <= last:
            for open_at, close_at in self.intervals(day):
                overlap = min(close_at, end) - max(open_at, start)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total

    @property
    def business_day(self) -> timedelta:
        """The length of a full business day (the template weekday's hours; 24 h when always open)."""
        if self.always_open:
            return timedelta(days=1)
        hours = self.weekly_hours.get(self.workday_template) or next(iter(self.weekly_hours.values()), ())
        return sum((datetime.combine(date.min, e) - datetime.combine(date.min, s) for s, e in hours), timedelta(0))

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """`days` full business days of open time after `start`."""
        if self.always_open:
            return _aware(start).astimezone(UTC) + timedelta(days=days)
        return self.add(start, self.business_day * days)


ALWAYS_OPEN = Calendar(name="24x7", timezone="UTC", always_open=True)


def parse_hours(text: str) -> tuple[time, time]:
    """'09:00-18:00' → (09:00, 18:00)."""
    start, _, end = text.strip().partition("-")
    try:
        begin, finish = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise ValueError(f"'{text}': use hours like 09:00-18:00") from None
    if finish <= begin:
        raise ValueError(f"'{text}': the end must be after the start")
    return begin, finish


def parse_weekdays(text: str) -> list[int]:
    """'mon-fri' or 'mon,wed,sat' → weekday numbers (0 = Monday)."""
    days: list[int] = []
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValueError(f"'{text}': use day names like mon-fri or mon,wed,sat")
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        days.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return sorted(set(days))


def parse_duration(text: str) -> tuple[int, timedelta]:
    """'3d' → (3, 0); '1h30m' → (0, 1:30:00): whole days apart, since a business day is not 24 hours."""
    match = _DURATION.match(text or "")
    if not match or not any(match.groups()):
        raise ValueError(f"not a duration: {text!r} (use e.g. 15m, 4h, 1h30m, 3d)")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return days, timedelta(hours=hours, minutes=minutes)


def check_time_zone(name: str) -> None:
    """Raise ValueError (naming the closest known zone) unless `name` is a time zone this machine knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # ZoneInfo raises a KeyError subclass, which validation would not report as a problem of the value.
        close = difflib.get_close_matches(name, sorted(available_timezones()), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else " (use an IANA name like Asia/Shanghai)"
        raise ValueError(f"unknown time zone '{name}'{hint}") from None


def check_country(code: str) -> None:
    """Raise ValueError unless the `holidays` package knows the country's public holidays."""
    if code not in holiday_data.list_supported_countries():
        raise ValueError(f"no public holidays known for country '{code}' (use a code like CN, or null)")


def parse_day(value: object) -> date:
    """A day from config: a date (YAML reads 2026-10-01 as one) or the same written as text; nothing else."""
    if isinstance(value, datetime):
        raise ValueError(f"'{value}': give a day like 2026-10-01, without a time")
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"'{value}': give a day like 2026-10-01")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"'{value}': not a day like 2026-10-01") from None


def build_calendar(*, name: str = "default", timezone: str = "Asia/Shanghai", hours: str = "09:00-18:00",
                   weekdays: str = "mon-fri", lunch: str | None = None, country: str | None = "CN",
                   extra_holidays: Iterable[date | str] = (), extra_workdays: Iterable[date | str] = (),
                   always_open: bool = False) -> Calendar:
    """A calendar from config values; public holidays and adjusted workdays come from the `holidays` package."""
    ZoneInfo(timezone)  # fail early on an unknown zone
    day_start, day_end = parse_hours(hours)
    intervals: tuple[tuple[time, time], ...] = ((day_start, day_end),)
    if lunch:
        lunch_start, lunch_end = parse_hours(lunch)
        if not day_start < lunch_start < lunch_end < day_end:
            raise ValueError(f"lunch '{lunch}' must lie inside the hours '{hours}'")
        intervals = ((day_start, lunch_start), (lunch_end, day_end))
    open_days = parse_weekdays(weekdays)
    return Calendar(
        name=name, timezone=timezone, weekly_hours={d: intervals for d in open_days},
        holidays={date.fromisoformat(d) if isinstance(d, str) else d for d in extra_holidays},
        extra_workdays={date.fromisoformat(d) if isinstance(d, str) else d for d in extra_workdays},
        country_holidays=holiday_data.country_holidays(country) if country else None,
        workday_template=open_days[0] if open_days else 0, always_open=always_open,
    )
