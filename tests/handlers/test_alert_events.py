"""The event-driven alert rules on hand-built data, at, below and above their thresholds; Acknowledge; `/ticket
alerts`; who may see them; exactly once across retried deliveries, restarts and two replicas."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import yaml

from bot.alerts import NO_WINDOW, Alert, Rule
from bot.config import AppConfig
from bot.events import ButtonPressed
from bot.tickets import Status
from storage.db import create_engine
from storage.store import SqlStore
from tests.harness import EXAMPLE_CONFIG, Harness


def _config(**alerts) -> AppConfig:
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    for rule, value in alerts.items():
        data["alerts"][rule] = value
    return AppConfig.model_validate(data)


def _alert_cards(bot: Harness, person: str) -> list:
    return [m for m in bot.cards(person) if m.card.subject is not None and m.card.subject.kind == "alert"]


async def _open_tickets(bot: Harness, customer: str, count: int, *, days_ago: float = 0) -> None:
    """`count` tickets of `customer`, each closed before the next (so every message opens a new one)."""
    for n in range(count):
        async with bot.store.snapshot() as reads:
            before = len(await reads.list_tickets(_all()))
        await bot.say(customer, f"第{n + 1}个问题 {days_ago}")
        async with bot.store.unit() as uow:
            tickets = await uow.list_tickets(_all())
            assert len(tickets) == before + 1
            newest = max(tickets, key=lambda t: t.id)
            newest.created_at = bot.clock.now() - timedelta(days=days_ago)
            newest.status, newest.closed_at = Status.CLOSED, bot.clock.now()
            await uow.save_ticket(newest)


async def _press_code(bot: Harness, user: str, message, code: str) -> None:
    """Press a control by its code, as a copy drawn earlier still shows it."""
    await bot.router.receive(ButtonPressed(delivery_id=f"p-{user}-{code}", actor=bot.actor(user),
                                           conversation=message.target, action=code, message_ref=message.ref))
    await bot.dispatcher.drain()


def _all():
    from bot.ports import TicketQuery
    return TicketQuery(limit=1000)


async def test_a_p0_tells_the_director_once_as_a_card_to_acknowledge(store, clock):
    bot = Harness(store, clock)
    await bot.say("alice", "/ticket new 支付页面报错 p1", bot.channel())
    assert _alert_cards(bot, "zhou") == [], "below: a P1 is no alert"
    await bot.say("alice", "/ticket priority T-000001 P0", bot.channel())
    [sent] = _alert_cards(bot, "zhou")
    assert sent.card.title == "🔥 P0 T-000001：支付页面报错"  # 周总 reads Chinese (the workspace's language)
    assert [b.label for b in sent.card.actions] == ["确认"]
    await bot.say("alice", "/ticket priority T-000001 P1", bot.channel())
    await bot.say("alice", "/ticket priority T-000001 P0", bot.channel())
    assert len(_alert_cards(bot, "zhou")) == 1, "once per ticket, however often it is raised to P0"

    await bot.press("zhou", sent, "确认")
    assert sent.updates == 1 and sent.card.actions == ()
    assert sent.card.fields[0].label == "确认人" and sent.card.fields[0].value.startswith("周总 · 11-20")
    assert bot.last_text("zhou", visible_to="zhou") == "您已确认预警 A-000001。"
    await _press_code(bot, "alice", sent, "tb:alert:ack:1:1")  # a stale copy pressed later
    assert bot.last_text("zhou", visible_to="alice") == "A-000001 was already acknowledged by 周总."


async def test_the_old_notify_on_p0_key_still_works_and_a_new_p0_alerts_at_once(store, clock):
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    del data["alerts"]["p0_created"]
    data["sla"]["notify_on_p0"] = ["lin"]
    config = AppConfig.model_validate(data)
    assert config.alerts.p0_created.to == ["lin"] and "sla.notify_on_p0 is deprecated" in config.deprecations[0]
    bot = Harness(store, clock, config)
    await bot.say("alice", "/ticket new 全站宕机 p0", bot.channel())
    assert [m.card.title for m in _alert_cards(bot, "linfang")] == ["🔥 P0 T-000001：全站宕机"]


async def test_repeat_customer_below_at_and_above_the_threshold(store, clock):
    bot = Harness(store, clock)  # the sample: 4 or more (more than 3) in 7 days → the account manager (lin)
    await _open_tickets(bot, "acme-buyer", 2, days_ago=8)  # outside the window: never counted
    await _open_tickets(bot, "acme-buyer", 3)
    assert _alert_cards(bot, "linfang") == [], "3 in 7 days is below"
    await _open_tickets(bot, "acme-buyer", 1)
    [sent] = _alert_cards(bot, "linfang")
    assert sent.card.title == "⚠️ 流失风险：ACME 贸易 7 天内提交了 4 个工单"
    fields = {f.label: f.value for f in sent.card.fields}
    assert fields["7 天内工单数"] == "4"
    assert fields["工单"].startswith("T-000006 第1个问题 0, T-000005 第3个问题 0") and "T-000002" not in fields["工单"]
    await _open_tickets(bot, "acme-buyer", 1)
    assert len(_alert_cards(bot, "linfang")) == 1, "above: the same streak is one churn risk, not one per ticket"
    clock.advance(days=8)
    await _open_tickets(bot, "acme-buyer", 4)
    assert len(_alert_cards(bot, "linfang")) == 2, "a new streak after the window is a new alert"


async def test_an_unknown_customer_goes_to_the_otherwise_people(store, clock):
    bot = Harness(store, clock, _config(repeat_customer={"min_tickets": 2, "days": 7, "otherwise": ["director"]}))
    await _open_tickets(bot, "stranger", 2)
    [sent] = _alert_cards(bot, "zhou")
    assert "stranger" in sent.card.title and "2 个工单" in sent.card.title


async def _resolved(bot: Harness, customer: str = "wang-store") -> None:
    await bot.say(customer, "订单页面打不开")
    await bot.say("alice", "/ticket resolve T-000001 已修复", bot.channel())


async def test_low_csat_at_and_above_the_threshold_with_the_comment(store, clock):
    bot = Harness(store, clock)
    await _resolved(bot)
    await bot.say("wang-store", "3")
    assert _alert_cards(bot, "linfang") == [], "3 is above max_score 2"
    clock.advance(minutes=1)
    await bot.say("wang-store", "2")  # changed within the window: now at the threshold
    [sent] = _alert_cards(bot, "linfang")
    assignee = (await bot.ticket()).assignee
    assert sent.card.title == "👎 T-000001 评分 2/5：订单页面打不开"
    assert assignee in {"alice", "li"} and len(_alert_cards(bot, bot.directory.person(assignee).identity_on("console"))) == 1
    assert {f.label: f.value for f in sent.card.fields}["评论"] == "（暂无）"
    await bot.say("wang-store", "客服回复太慢了")
    assert {f.label: f.value for f in sent.card.fields}["评论"] == "客服回复太慢了", "the comment joins the card"
    await bot.say("wang-store", "1")
    assert len(_alert_cards(bot, "linfang")) == 1, "once per survey"


async def test_low_csat_below_the_threshold_in_english_for_an_english_assignee(store, clock):
    bot = Harness(store, clock, _config(low_csat={"max_score": 2, "to": ["assignee"]}))
    await _resolved(bot)
    await bot.force(1, assignee="alice")
    await bot.say("wang-store", "1")
    [sent] = _alert_cards(bot, "alice")
    assert sent.card.title == "👎 Rated 1/5 on T-000001: 订单页面打不开" and sent.card.actions[0].label == "Acknowledge"


async def test_the_open_alerts_are_listed_to_staff_only(store, clock):
    bot = Harness(store, clock)
    await bot.say("alice", "/ticket alerts", bot.channel())
    assert bot.last_text("triage", visible_to="alice") == "No open alerts."
    await bot.say("alice", "/ticket new 全站宕机 p0", bot.channel())
    await bot.say("alice", "/ticket new 数据库宕机 p0", bot.channel())
    await bot.say("zhou", "工单 预警")
    assert bot.last_text("zhou", visible_to="zhou").splitlines() == [
        "未确认的预警（2 条），最新的在前：", "• A-000002 🔥 P0 T-000002：数据库宕机 · 11-20 10:00",
        "• A-000001 🔥 P0 T-000001：全站宕机 · 11-20 10:00"]
    await bot.press("zhou", _alert_cards(bot, "zhou")[0], "确认")
    await bot.say("zhou", "工单 预警")
    assert "A-000001" not in bot.last_text("zhou", visible_to="zhou"), "acknowledged: no longer open"

    await bot.say("wang-store", "工单 预警")
    assert bot.last_text("wang-store", visible_to="wang-store") == "预警仅对内部员工开放。"
    card = _alert_cards(bot, "zhou")[1]
    await _press_code(bot, "wang-store", card, card.card.actions[0].action)
    assert card.card.actions, "a customer's (forged) press acknowledges nothing"
    await bot.say("zhou", "工单 预警 全部")
    assert bot.last_text("zhou", visible_to="zhou").startswith("无法理解“全部”")


async def test_a_retried_delivery_raises_nothing_twice(store, clock):
    bot = Harness(store, clock)
    await bot.say("alice", "/ticket new 全站宕机 p0", bot.channel(), delivery_id="same")
    await bot.say("alice", "/ticket new 全站宕机 p0", bot.channel(), delivery_id="same")
    assert len(_alert_cards(bot, "zhou")) == 1


async def test_two_replicas_raising_one_key_at_once_raise_it_once(database_url, clock):
    """Two stores on one database (two replicas; on PostgreSQL with TEST_DATABASE_URL): one insert wins."""
    stores = [SqlStore(create_engine(database_url), clock) for _ in range(2)]
    try:
        async def raise_on(store):
            async with store.unit() as uow:
                alert = Alert(Rule.LOW_CSAT, "survey:7", NO_WINDOW, clock.now(), {"score": 1}, ["lin"])
                return await uow.alerts().raise_alert(alert)
        results = await asyncio.gather(*(raise_on(store) for store in stores))
        assert sorted(result is None for result in results) == [False, True]
        restarted = SqlStore(create_engine(database_url), clock)  # a restart finds it there
        try:
            assert await raise_on(restarted) is None
        finally:
            await restarted.close()
    finally:
        for store in stores:
            await store.close()
