"""Scheduled digests with an injectable clock: cron in the time zone, holidays and 调休, exactly once, catch-up."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.config import AppConfig
from bot.events import Platform
from schedules.digests import DigestRunner
from tests.harness import EXAMPLE_CONFIG, Harness

SH = ZoneInfo("Asia/Shanghai")
DAILY = {"name": "daily-sla", "to": ["director", "alice"], "channels": {"console": "managers"},
         "schedule": "0 9 * * mon-fri", "period": "yesterday", "scope": {"department": "support"},
         "skip_holidays": True}


def _config(**digest) -> AppConfig:
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    data["digests"] = [{**DAILY, **digest}]
    return AppConfig.model_validate(data)


def sh(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH).astimezone(UTC)


def _runner(bot: Harness) -> DigestRunner:
    return DigestRunner(store=bot.store, config=bot.config, directory=bot.directory, clock=bot.clock,
                        platforms={Platform.CONSOLE: bot.messenger}, wake=None)


def _digest_cards(bot: Harness) -> list:
    return [m for m in bot.messenger.sent if m.card is not None and m.card.title.startswith(("数据简报", "Digest"))]


async def test_the_cron_fires_in_the_digest_time_zone(store, clock):
    runner = _runner(Harness(store, clock, _config()))
    trigger = runner.trigger(runner.config.digests[0])
    # From Friday 2026-11-20 10:00 in Shanghai the next fire is Saturday 09:00 there (01:00 UTC): skip_holidays
    # leaves the weekday to the business calendar, which the run checks (test below).
    assert trigger.get_next_fire_time(None, sh(2026, 11, 20, 10)) == sh(2026, 11, 21)
    london = _runner(Harness(store, clock, _config(timezone="Europe/London", skip_holidays=False)))
    assert london.trigger(london.config.digests[0]).get_next_fire_time(None, sh(2026, 11, 20, 10)) == datetime(
        2026, 11, 20, 9, 0, tzinfo=UTC)


async def test_each_recipient_gets_the_card_with_its_chart_in_their_language_once(store, clock):
    bot = Harness(store, clock, _config())
    runner = _runner(bot)
    clock.set(sh(2026, 11, 20))
    digest = bot.config.digests[0]
    run = await runner.fire(digest, clock.now())
    await bot.dispatcher.drain()
    cards = {m.target.id: m.card for m in _digest_cards(bot)}
    assert set(cards) == {"zhou", "alice", "managers"}
    assert cards["zhou"].title == "数据简报“daily-sla” · 2026-11-19" and cards["zhou"].subtitle == "部门：客服"
    assert cards["alice"].title == "Digest “daily-sla” · 2026-11-19" and cards["alice"].subtitle == "Department: Support"
    assert all(card.image is not None and card.image.ref for card in cards.values())
    # Drawn once per run and uploaded once per platform: the three copies show the one reference.
    assert len(bot.messenger.uploads) == 1 and bot.messenger.uploads[0][1].data[:8] == b"\x89PNG\r\n\x1a\n"
    assert {card.image.ref for card in cards.values()} == {"img1"}
    # Fired again (a second tick of an every-minute cron, a restart): the same period is not sent again.
    assert run is not None and await runner.fire(digest, clock.advance(minutes=1)) is None
    await bot.dispatcher.drain()
    assert len(_digest_cards(bot)) == 3


async def test_two_replicas_firing_together_send_once(store, clock):
    bot = Harness(store, clock, _config())
    clock.set(sh(2026, 11, 20))
    first, second = _runner(bot), _runner(bot)
    digest = bot.config.digests[0]
    runs = await asyncio.gather(first.send(digest, first.period_of(digest, clock.now())),
                                second.send(digest, second.period_of(digest, clock.now())))
    await bot.dispatcher.drain()
    assert sorted(run is None for run in runs) == [False, True]
    assert len(_digest_cards(bot)) == 3


async def test_no_digest_on_national_day_and_one_on_the_adjusted_saturday(store, clock):
    bot = Harness(store, clock, _config())
    runner = _runner(bot)
    digest = bot.config.digests[0]
    assert await runner.fire(digest, sh(2026, 10, 1)) is None  # 国庆
    assert await runner.fire(digest, sh(2026, 10, 3)) is None  # an ordinary Saturday of the holiday
    assert await runner.fire(digest, sh(2026, 10, 10)) is not None  # 调休: Saturday 10th is a workday
    await bot.dispatcher.drain()
    assert {c.card.title for c in _digest_cards(bot)} == {"数据简报“daily-sla” · 2026-10-09",
                                                          "Digest “daily-sla” · 2026-10-09"}
    without = _runner(Harness(store, clock, _config(name="every-day", skip_holidays=False)))
    assert await without.fire(without.config.digests[0], sh(2026, 10, 1)) is not None, "skip_holidays is off by default"


async def test_a_missed_run_is_sent_once_at_start_up_within_the_grace_window(store, clock):
    bot = Harness(store, clock, _config())
    async with store.unit() as uow:  # it ran on Friday, so Monday's readers wait for theirs
        await uow.digests().claim(name="daily-sla", period="2026-11-19", at=clock.now(), status="sent")
    clock.set(sh(2026, 11, 23, 11))  # Monday 11:00: the 09:00 run was missed while the bot was down
    assert len(await _runner(bot).catch_up()) == 1
    assert await _runner(bot).catch_up() == [], "the next start finds it claimed"
    await bot.dispatcher.drain()
    assert {c.card.title for c in _digest_cards(bot)} == {"数据简报“daily-sla” · 2026-11-22",
                                                          "Digest “daily-sla” · 2026-11-22"}


async def test_a_run_missed_past_the_grace_window_is_skipped_with_a_log_line(store, clock, caplog):
    bot = Harness(store, clock, _config())
    async with store.unit() as uow:  # it ran before (on Friday), so a missed run is news
        await uow.digests().claim(name="daily-sla", period="2026-11-19", at=clock.now(), status="sent")
    clock.set(sh(2026, 11, 23, 16))  # seven hours late
    with caplog.at_level(logging.WARNING, logger="schedules.digests"):
        assert await _runner(bot).catch_up() == []
        assert await _runner(bot).catch_up() == []
    assert [r.getMessage() for r in caplog.records] == [
        "digest daily-sla: the run of 2026-11-23T09:00:00+08:00 was missed by more than 6h; skipped"]
    await bot.dispatcher.drain()
    assert _digest_cards(bot) == []


@pytest.mark.parametrize("hour", [11, 16], ids=["within-grace", "past-grace"])
async def test_a_fresh_install_skips_the_run_it_never_had_quietly(store, clock, caplog, hour):
    bot = Harness(store, clock, _config())
    clock.set(sh(2026, 11, 23, hour))
    # INFO too: `ticketbot serve` on a fresh install prints its banner first, whatever the hour of the first start.
    with caplog.at_level(logging.INFO, logger="schedules.digests"):
        assert await _runner(bot).catch_up() == []
    assert caplog.records == [], "nobody waited for a digest the bot never sent"
    await bot.dispatcher.drain()
    assert _digest_cards(bot) == []
    async with store.snapshot() as reads:  # claimed, so the next start does not look at it again
        assert await reads.digests().claimed("daily-sla", "2026-11-22")


@pytest.mark.parametrize(("digest", "problem"), [
    ({"schedule": "0 9 * *"}, "five cron fields"),
    ({"to": ["nobody"]}, "unknown person 'nobody'"),
    ({"period": "fortnight"}, "period 'fortnight'"),
    ({"scope": {"department": "sales"}}, "unknown department 'sales'"),
    ({"timezone": "Asia/Shangai"}, "Asia/Shanghai"),
])
def test_the_config_section_is_checked(digest, problem):
    with pytest.raises(Exception, match=problem):
        _config(**digest)
