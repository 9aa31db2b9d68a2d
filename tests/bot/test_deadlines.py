"""Deadlines as people write them, in Chinese and English, read on a business calendar (Shanghai, 09:00-18:00)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.business_hours import build_calendar
from bot.deadlines import DeadlineError, parse_deadline, split_deadline

SHANGHAI = ZoneInfo("Asia/Shanghai")
FRIDAY_10 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai
CALENDAR = build_calendar(timezone="Asia/Shanghai", hours="09:00-18:00", weekdays="mon-fri", country="CN")


def _local(words: str, now: datetime = FRIDAY_10, zone: ZoneInfo = SHANGHAI) -> str:
    return parse_deadline(words, now=now, zone=zone, calendar=CALENDAR).at.astimezone(zone).strftime("%a %m-%d %H:%M")


@pytest.mark.parametrize(("words", "expected"), [
    ("明天18:00", "Sat 11-21 18:00"),
    ("明天 9点半", "Sat 11-21 09:30"),
    ("今天下午3点", "Fri 11-20 15:00"),
    ("后天", "Sun 11-22 18:00"),  # a day without a time: the end of the working day
    ("12-05 10:00", "Sat 12-05 10:00"),
    ("12月5日10点", "Sat 12-05 10:00"),
    ("2026-12-01", "Tue 12-01 18:00"),
    ("Fri 17:00", "Fri 11-20 17:00"),
    ("friday 9am", "Fri 11-27 09:00"),  # this Friday's 9 am has passed: next Friday
    ("周一 9:30", "Mon 11-23 09:30"),
    ("下周一 10:00", "Mon 11-23 10:00"),  # said on a Friday: the Monday of next week
    ("next fri 17:00", "Fri 11-27 17:00"),
    ("tomorrow", "Sat 11-21 18:00"),
    ("17:00", "Fri 11-20 17:00"),
    ("9:00", "Sat 11-21 09:00"),  # already past today: tomorrow
    ("2h", "Fri 11-20 12:00"),
    ("30分钟", "Fri 11-20 10:30"),
    ("1分钟", "Fri 11-20 10:01"),
    ("半小时", "Fri 11-20 10:30"),
    ("2 hours", "Fri 11-20 12:00"),
    ("3d", "Mon 11-23 10:00"),
    ("3 business hours", "Fri 11-20 13:00"),
    ("10 business hours", "Mon 11-23 11:00"),  # 8 today, then Monday from 09:00
    ("2个工作日", "Tue 11-24 10:00"),
    ("1 business day", "Mon 11-23 10:00"),
    ("明天18:00之前", "Sat 11-21 18:00"),
])
def test_deadlines_people_write(words, expected):
    assert _local(words) == expected


def test_business_time_skips_a_holiday():
    before_national_day = datetime(2026, 9, 30, 8, 0, tzinfo=UTC)  # Wed 16:00, the eve of 国庆
    assert _local("4 business hours", before_national_day) != "Thu 10-01 12:00", "国庆 is no working day"


def test_absolute_times_are_read_in_the_writers_zone():
    assert _local("17:00", zone=ZoneInfo("Europe/Berlin")) == "Fri 11-20 17:00"
    at = parse_deadline("17:00", now=FRIDAY_10, zone=ZoneInfo("Europe/Berlin"), calendar=CALENDAR).at
    assert at == datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize("words", ["someday", "soon", "", "13-45 10:00", "25:00", "周八", "yesterday 10:00"])
def test_what_is_no_deadline_is_refused(words):
    with pytest.raises(DeadlineError):
        parse_deadline(words, now=FRIDAY_10, zone=SHANGHAI, calendar=CALENDAR)


def test_a_deadline_already_past_is_refused():
    with pytest.raises(DeadlineError):
        parse_deadline("2026-11-19 10:00", now=FRIDAY_10, zone=SHANGHAI, calendar=CALENDAR)


@pytest.mark.parametrize(("text", "question", "words", "strong"), [
    ("请核对发票金额 截止 明天18:00", "请核对发票金额", "明天18:00", True),
    ("请核对发票金额截止明天18:00", "请核对发票金额", "明天18:00", True),
    ("please confirm the refund by Fri 17:00", "please confirm the refund", "Fri 17:00", False),
    ("check the invoice, deadline: 2h", "check the invoice,", "2h", True),
    ("is the refund by card or by transfer", "is the refund by card or", "transfer", False),
    ("what is the deadline for refunds", "what is the", "for refunds", False),  # weak: plain words if unreadable
    ("no marker here", "no marker here", None, False),
])
def test_the_deadline_is_split_from_the_question(text, question, words, strong):
    split = split_deadline(text)
    assert (split.question, split.words, split.strong) == (question, words, strong)
