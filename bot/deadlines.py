"""Deadlines people write, in Chinese and English: absolute (明天18:00, 12-05 10:00, Fri 17:00) or relative (2h,
30分钟, 3 business hours, 2个工作日), turned into an instant on a calendar.

Relative business durations count on the given calendar (the asked colleague's department), so "2 business hours"
written at 17:30 on a Friday falls on Monday morning. Absolute times are read in the writer's time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.business_hours import Calendar

# The words that introduce a deadline at the end of a question: "… by Fri 17:00", "… 截止 明天18:00". After 截止 (or
# "deadline:" / "due:" with a colon) the words must be a deadline; after the others they may be plain words
# ("is the refund by card or by transfer"), and then the whole text is the question.
_MARKER = re.compile(r"(?<![A-Za-z])(deadline|due|before|by)(?![A-Za-z])\s*([:：])?\s*|(截止到|截止)[:：]?\s*",
                     re.IGNORECASE)

_WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2, "thu": 3, "thur": 3,
    "thurs": 3, "thursday": 3, "fri": 4, "friday": 4, "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}
_CN_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_DAY_WORDS = {"today": 0, "今天": 0, "今日": 0, "tomorrow": 1, "明天": 1, "明日": 1, "后天": 2}
_CN_NUMBERS = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
               "半": 0.5}

_CLOCK = r"(?:(?P<ampm>上午|早上|中午|下午|晚上|am|pm)\s*)?(?P<hour>\d{1,2})(?:[:：](?P<minute>\d{2})|点(?P<half>半)?(?:(?P<cnmin>\d{1,2})分?)?)?\s*(?P<ampm2>am|pm)?"
_RELATIVE = re.compile(
    r"^(?P<amount>\d+(?:\.\d+)?|[一两二三四五六七八九十半])\s*(?:个)?\s*"
    r"(?P<business>business\s+|working\s+|工作)?"
    r"(?P<unit>minutes?|mins?|m|分钟|hours?|hrs?|h|小时|钟头|days?|d|天|日)$",
    re.IGNORECASE)
_ABSOLUTE_DAY_WORD = re.compile(rf"^(?P<word>today|tomorrow|今天|今日|明天|明日|后天)\s*(?:{_CLOCK})?$", re.IGNORECASE)
_WEEKDAY = re.compile(rf"^(?:(?P<next>next|下)\s*)?(?:(?P<en>[a-z]+)|(?:周|星期|礼拜)(?P<cn>[一二三四五六日天]))\s*(?:{_CLOCK})?$",
                      re.IGNORECASE)
_DATE = re.compile(rf"^(?:(?P<year>\d{{4}})[-/年])?(?P<month>\d{{1,2}})[-/月](?P<day>\d{{1,2}})[日号]?\s*(?:{_CLOCK})?$")
_TIME_ONLY = re.compile(rf"^{_CLOCK}$", re.IGNORECASE)


class DeadlineError(ValueError):
    """The text names no deadline we can read; the message is a msgid for the writer."""


@dataclass(frozen=True)
class Deadline:
    """A parsed deadline: the instant (UTC) and the words it was read from."""

    at: datetime
    text: str


@dataclass(frozen=True)
class Split:
    """A question and the deadline words written after it (None: none written); `strong` after 截止 / deadline."""

    question: str
    words: str | None = None
    strong: bool = False


def split_deadline(text: str) -> Split:
    """The question and its deadline's words: the last marker ("by", "截止" …) starts the deadline."""
    text = text.strip()
    found = [m for m in _MARKER.finditer(text) if text[m.end():].strip()]
    if not found:
        return Split(text)
    last = found[-1]
    strong = bool(last.group(3) or last.group(2))
    return Split(text[:last.start()].strip(), text[last.end():].strip(), strong)


def parse_deadline(words: str, *, now: datetime, zone: ZoneInfo, calendar: Calendar,
                   end_of_day: time = time(18, 0)) -> Deadline:
    """The instant `words` name, after `now`; DeadlineError when they name none (or one already past)."""
    cleaned = " ".join(words.replace("\u3000", " ").split()).strip().rstrip("。.!！")
    for suffix in ("之前", "以前", "前"):
        if cleaned.endswith(suffix) and len(cleaned) > len(suffix):
            cleaned = cleaned[: -len(suffix)].strip()
    if not cleaned:
        raise DeadlineError("no deadline given")
    local_now = now.astimezone(zone)
    at = (_relative(cleaned, now, calendar) or _day_word(cleaned, local_now, end_of_day)
          or _weekday(cleaned, local_now, end_of_day) or _date(cleaned, local_now, end_of_day)
          or _time_only(cleaned, local_now))
    if at is None:
        raise DeadlineError(f"cannot read a deadline in {words!r}")
    if at <= now:
        raise DeadlineError(f"{words!r} is already past")
    return Deadline(at.astimezone(ZoneInfo("UTC")), words.strip())


def _amount(text: str) -> float:
    return _CN_NUMBERS[text] if text in _CN_NUMBERS else float(text)


def _relative(text: str, now: datetime, calendar: Calendar) -> datetime | None:
    match = _RELATIVE.match(text)
    if not match:
        return None
    amount, unit = _amount(match.group("amount")), match.group("unit").lower()
    business = bool(match.group("business"))
    if unit in ("m", "min", "mins", "minute", "minutes", "分钟"):
        span = timedelta(minutes=amount)
    elif unit in ("h", "hr", "hrs", "hour", "hours", "小时", "钟头"):
        span = timedelta(hours=amount)
    else:  # days
        if business:
            whole, part = int(amount), amount - int(amount)
            end = calendar.add_business_days(now, whole) if whole else now
            return calendar.add(end, calendar.business_day * part) if part else end
        span = timedelta(days=amount)
    return calendar.add(now, span) if business else now + span


def _clock(match: re.Match, default: time | None) -> time | None:
    """The time of day a match names (上午/下午/pm adjust the hour), or `default` when it names none."""
    if match.group("hour") is None:
        return default
    hour = int(match.group("hour"))
    minute = int(match.group("minute") or match.group("cnmin") or 0) + (30 if match.group("half") else 0)
    ampm = (match.group("ampm") or match.group("ampm2") or "").lower()
    if ampm in ("下午", "晚上", "pm") and hour < 12:
        hour += 12
    if ampm == "中午" and hour < 6:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def _at(day: date, clock: time | None, zone) -> datetime | None:
    return datetime.combine(day, clock, tzinfo=zone) if clock is not None else None


def _day_word(text: str, local_now: datetime, end_of_day: time) -> datetime | None:
    match = _ABSOLUTE_DAY_WORD.match(text)
    if not match:
        return None
    day = local_now.date() + timedelta(days=_DAY_WORDS[match.group("word").lower()])
    return _at(day, _clock(match, end_of_day), local_now.tzinfo)


def _weekday(text: str, local_now: datetime, end_of_day: time) -> datetime | None:
    match = _WEEKDAY.match(text)
    if not match:
        return None
    if match.group("en"):
        weekday = _WEEKDAYS.get(match.group("en").lower())
        if weekday is None:
            return None
    else:
        weekday = _CN_WEEKDAYS[match.group("cn")]
    clock = _clock(match, end_of_day)
    if clock is None:
        return None
    if match.group("next"):  # 下周一 / next Monday: that day of the coming calendar week
        ahead = 7 - local_now.weekday() + weekday
    else:
        ahead = (weekday - local_now.weekday()) % 7
    at = _at(local_now.date() + timedelta(days=ahead), clock, local_now.tzinfo)
    if at is not None and at <= local_now:  # "Fri 17:00" said on Friday at 18:00: next Friday
        at += timedelta(days=7)
    return at


def _date(text: str, local_now: datetime, end_of_day: time) -> datetime | None:
    match = _DATE.match(text)
    if not match:
        return None
    year = int(match.group("year") or local_now.year)
    try:
        day = date(year, int(match.group("month")), int(match.group("day")))
    except ValueError:
        return None
    at = _at(day, _clock(match, end_of_day), local_now.tzinfo)
    if at is not None and not match.group("year") and at <= local_now:  # "01-05" written in December
        try:
            at = at.replace(year=year + 1)
        except ValueError:
            return None
    return at


def _time_only(text: str, local_now: datetime) -> datetime | None:
    match = _TIME_ONLY.match(text)
    if not match or (match.group("minute") is None and "点" not in text and not (match.group("ampm") or match.group("ampm2"))):
        return None  # a bare number is not a time
    clock = _clock(match, None)
    at = _at(local_now.date(), clock, local_now.tzinfo)
    if at is not None and at <= local_now:  # "17:00" said after five: tomorrow
        at += timedelta(days=1)
    return at
