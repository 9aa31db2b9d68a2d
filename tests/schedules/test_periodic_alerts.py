"""The periodic alert rules on hand-built weeks of tickets: volume_growth at, below and above its threshold, across
a year boundary (ISO weeks) and a holiday week; backlog; each raised once across restarts and two replicas."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.alerts import complete_weeks
from bot.config import AppConfig
from bot.events import Conversation, ConversationKind, Platform
from bot.tickets import Identity, Ticket
from schedules.alerts import AlertRunner
from storage.db import create_engine
from storage.store import SqlStore
from tests.harness import EXAMPLE_CONFIG, Harness

SH = ZoneInfo("Asia/Shanghai")
DM = Conversation(platform=Platform.CONSOLE, id="c1", kind=ConversationKind.DM)


def _config(**alerts) -> AppConfig:
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    data["alerts"].update(alerts)
    return AppConfig.model_validate(data)


def _runner(bot: Harness) -> AlertRunner:
    return AlertRunner(store=bot.store, config=bot.config, directory=bot.directory, clock=bot.clock,
                       platforms={Platform.CONSOLE: bot.messenger})


def monday(year: int, week: int) -> datetime:
    """Monday 10:00 Shanghai of ISO week `week` of `year` (as stored, UTC)."""
    return datetime.combine(date.fromisocalendar(year, week, 1), datetime.min.time(), SH).replace(hour=10) \
        .astimezone(UTC)


async def _seed(store, weeks: list[tuple[datetime, int]], module: str = "payments") -> None:
    """`count` tickets of `module` on the Tuesday of each week."""
    async with store.unit() as uow:
        for start, count in weeks:
            for n in range(count):
                at = start + timedelta(days=1, minutes=n)
                await uow.add_ticket(Ticket(title=f"{module} {n}", requester=Identity(Platform.CONSOLE, "c1"),
                                            source=DM, product_module=module, customer_name="c", created_at=at,
                                            updated_at=at))


def _alert_cards(bot: Harness, person: str) -> list:
    return [m for m in bot.cards(person) if m.card.subject is not None and m.card.subject.kind == "alert"]


async def _growth(store, clock, counts: list[int], *, year: int = 2026, first_week: int = 44):
    bot = Harness(store, clock)
    await _seed(store, [(monday(year, first_week + i), c) for i, c in enumerate(counts)])
    clock.set(monday(year, first_week + len(counts)) + timedelta(hours=1))  # the Monday after: weeks complete
    raised = await _runner(bot).tick()
    await bot.dispatcher.drain()
    return bot, raised


async def test_growth_above_the_threshold_three_weeks_running_tells_owner_and_quality_lead(store, clock):
    bot, raised = await _growth(store, clock, [5, 7, 9, 11])  # +40 %, +28.6 %, +22.2 %
    assert [a.window for a in raised] == ["2026-W47"]
    [owner] = _alert_cards(bot, "liming")  # li owns payments
    [lead] = _alert_cards(bot, "linfang")  # lin, the quality lead
    assert owner.card.title == "📈 payments：工单量连续 3 周环比增长超过 20%"
    fields = {f.label: f.value for f in lead.card.fields}
    assert fields["每周工单数"] == "2026-W44 5, 2026-W45 7, 2026-W46 9, 2026-W47 11"
    assert fields["按工作日计的增长"] == "+40% → +28.6% → +22.2%" and fields["负责人"] == "李明"
    assert await _runner(bot).tick() == [], "the same week again (the next look, a restart): nothing new"


@pytest.mark.parametrize("counts", [
    [5, 6, 8, 10],   # +20 % exactly in the first week: at the threshold is not *more than* 20 %
    [5, 7, 9, 9],    # the streak breaks in the last week
    [1, 2, 3, 4],    # growing, but the latest week has fewer than min_tickets (5)
])
async def test_growth_at_or_below_the_threshold_is_quiet(store, clock, counts):
    bot, raised = await _growth(store, clock, counts)
    assert raised == [] and _alert_cards(bot, "linfang") == []


async def test_weeks_across_new_year_are_iso_weeks(store, clock):
    # 2026 has 53 ISO weeks; 2026-W53 runs Mon 28 Dec – Sun 3 Jan 2027, and 2027-W01 starts Mon 4 Jan.
    # (1 Jan 2027 is a holiday in China: W53 has four business days, so its rate counts per business day.)
    await _seed(store, [(monday(2026, 51), 5), (monday(2026, 52), 7), (monday(2026, 53), 8),
                        (monday(2027, 1), 14)])
    bot = Harness(store, clock)
    clock.set(monday(2027, 2))
    [alert] = await _runner(bot).tick()
    assert alert.window == "2027-W01"
    assert alert.evidence["weeks"] == [["2026-W51", 5, 5], ["2026-W52", 7, 5], ["2026-W53", 8, 4],
                                       ["2027-W01", 14, 5]]
    assert alert.evidence["growths"] == [40.0, 42.9, 40.0]


@pytest.mark.parametrize(("counts", "alerts"), [
    # Raw 8 → 6 → 6 → 12 looks like a fall, then a +100 % spike; per business day it is 2 → 2 → 2 → 2.4: quiet.
    ([8, 6, 6, 12], 0),
    # Raw 8 → 8 → 10 → 21 is flat at first; per business day 2 → 2.67 → 3.33 → 4.2 grows > 20 % every week.
    ([8, 8, 10, 21], 1),
])
async def test_a_holiday_week_counts_per_business_day(store, clock, counts, alerts):
    # 2026: 中秋 Fri 25 Sep; 国庆 Thu 1 – Wed 7 Oct, with 调休 making Sat 10 Oct a workday. Business days:
    # W39 4 (Mon–Thu), W40 3 (Mon–Wed), W41 3 (Thu, Fri, Sat 10th), W42 5.
    bot = Harness(store, clock)
    await _seed(store, [(monday(2026, 39 + i), c) for i, c in enumerate(counts)])
    weeks = complete_weeks(monday(2026, 43), "Asia/Shanghai", 4, business_days=_runner(bot)._business_day)
    assert [(w.key, w.business_days) for w in weeks] == [("2026-W39", 4), ("2026-W40", 3), ("2026-W41", 3),
                                                         ("2026-W42", 5)]
    clock.set(monday(2026, 43))
    assert len(await _runner(bot).tick()) == alerts


def test_a_week_without_business_days_is_left_out():
    closed = {date(2026, 2, 16) + timedelta(days=n) for n in range(7)}  # 2026-W08 off whole (say, 春节)
    weeks = complete_weeks(monday(2026, 10), "Asia/Shanghai", 3,
                           business_days=lambda d: d not in closed and d.weekday() < 5)
    assert [w.key for w in weeks] == ["2026-W06", "2026-W07", "2026-W09"], "W09 is compared with W07"


async def test_two_replicas_look_at_once_and_raise_once(database_url, clock):
    first_store = SqlStore(create_engine(database_url), clock)
    second_store = SqlStore(create_engine(database_url), clock)
    try:
        await _seed(first_store, [(monday(2026, 44 + i), c) for i, c in enumerate([5, 7, 9, 11])])
        clock.set(monday(2026, 48))
        first, second = Harness(first_store, clock), Harness(second_store, clock)
        results = await asyncio.gather(_runner(first).tick(), _runner(second).tick())
        assert sorted(len(r) for r in results) == [0, 1]
        restarted = Harness(SqlStore(create_engine(database_url), clock), clock)
        try:
            assert await _runner(restarted).tick() == []
        finally:
            await restarted.store.close()
    finally:
        await first_store.close()
        await second_store.close()


async def test_backlog_open_above_the_threshold_once_a_day(store, clock):
    bot = Harness(store, clock, _config(backlog={"open_above": 3, "to": ["lead"]}, volume_growth=None))
    start = clock.now()
    await _seed(store, [(start - timedelta(days=1), 3)])
    assert await _runner(bot).tick() == [], "3 open is at the threshold, not above it"
    await _seed(store, [(start - timedelta(days=1), 1)])
    [alert] = await _runner(bot).tick()
    assert alert.evidence["open"] == 4 and alert.window == "2026-11-20"
    await bot.dispatcher.drain()
    [card] = _alert_cards(bot, "linfang")
    assert card.card.title == "📥 积压：4 个未结工单（超过 3）"
    assert await _runner(bot).tick() == [], "once a day while it lasts"
    clock.advance(days=1)
    assert len(await _runner(bot).tick()) == 1, "the next day, again"


async def test_backlog_unassigned_older_than_lists_the_oldest(store, clock):
    bot = Harness(store, clock, _config(backlog={"unassigned_older_than": "30h", "to": ["director"]},
                                        volume_growth=None))
    await _seed(store, [(clock.now() - timedelta(days=2), 4)])  # _seed adds a day: created 24h ago
    assert await _runner(bot).tick() == [], "nothing unassigned for over 30h yet"
    clock.advance(hours=7)
    [alert] = await _runner(bot).tick()
    await bot.dispatcher.drain()
    assert alert.evidence["unassigned"] == 4 and alert.evidence["tickets"][0] == [1, "payments 0"]
    assert _alert_cards(bot, "zhou")[0].card.title == "📥 积压：4 个工单超过 30h 未分配"
