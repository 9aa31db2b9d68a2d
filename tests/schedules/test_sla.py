"""SLA clocks: deadlines, pauses, priority changes, reminders and escalations in order, quiet hours, restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.subjects import Subject
from bot.tickets import Priority, Status
from schedules.providers import deadline_sweep
from storage.db import create_engine
from storage.store import SqlStore
from tests.harness import Harness

SH = ZoneInfo("Asia/Shanghai")


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH).astimezone(UTC)


async def _p2_ticket(store, clock) -> Harness:
    """A normal customer's ticket, P2, assigned to Alice by round-robin, opened Fri 10:00 Shanghai."""
    bot = Harness(store, clock)
    await bot.say("wang-store", "页面打不开")
    return bot


async def test_deadlines_follow_the_policy_and_business_hours(store, clock):
    bot = await _p2_ticket(store, clock)
    ticket = await bot.ticket()
    assert ticket.respond_by == sh(2026, 11, 20, 14, 0)   # 4 business hours
    assert ticket.resolve_by == sh(2026, 11, 25, 10, 0)   # 3 business days of 9 h
    assert ticket.next_due_at == clock.now()


async def test_p1_runs_around_the_clock_and_vip_is_tighter(store, clock):
    bot = Harness(store, clock)
    await bot.say("alice", "/ticket new Checkout down p1", bot.channel())
    await bot.say("acme-buyer", "系统很慢")  # VIP: raised to P1, VIP override 30 min / 8 h
    normal, vip = await bot.ticket(1), await bot.ticket(2)
    assert (normal.respond_by, normal.resolve_by) == (clock.now() + timedelta(hours=1), clock.now() + timedelta(hours=24))
    assert vip.priority is Priority.P1
    assert (vip.respond_by, vip.resolve_by) == (clock.now() + timedelta(minutes=30), clock.now() + timedelta(hours=8))


async def test_first_reply_stops_the_response_clock(store, clock):
    bot = await _p2_ticket(store, clock)
    clock.advance(minutes=20)
    await bot.say("alice", "/ticket reply T-000001 我们在查", bot.channel())
    ticket = await bot.ticket()
    assert ticket.first_response_at == clock.now() and ticket.respond_by is None
    assert ticket.resolve_by == sh(2026, 11, 25, 10, 0)


async def test_waiting_on_customer_pauses_and_their_answer_resumes(store, clock):
    bot = await _p2_ticket(store, clock)
    before = (await bot.ticket()).resolve_by
    clock.set(sh(2026, 11, 20, 11, 0))
    await bot.say("alice", "/ticket wait T-000001 customer", bot.channel())
    paused = await bot.ticket()
    assert paused.status is Status.WAITING_CUSTOMER and paused.sla_paused_at == clock.now()
    assert paused.next_due_at is None, "nothing fires while the clock stands still"
    clock.set(sh(2026, 11, 23, 10, 0))  # the customer answers Monday 10:00
    await bot.say("wang-store", "我清了缓存，还是不行")
    resumed = await bot.ticket()
    assert resumed.status is Status.IN_PROGRESS and resumed.sla_paused_at is None
    assert resumed.sla_pauses == [(sh(2026, 11, 20, 11, 0), sh(2026, 11, 23, 10, 0))]
    # Paused for Fri 11–18 and Mon 9–10: eight business hours later than promised before.
    assert resumed.resolve_by == bot.sla.default_calendar.add(before, timedelta(hours=8))


async def test_priority_change_recomputes_deadlines(store, clock):
    bot = await _p2_ticket(store, clock)
    clock.advance(minutes=10)
    await bot.say("alice", "/ticket priority T-000001 P1", bot.channel())
    ticket = await bot.ticket()
    assert ticket.respond_by == ticket.created_at + timedelta(hours=1)
    assert ticket.resolve_by == ticket.created_at + timedelta(hours=24)


async def test_reminders_then_escalations_in_order_each_once_with_quiet_hours(store, clock):
    bot = await _p2_ticket(store, clock)
    await bot.tick()
    timeline = []
    for hour, minute in ((11, 59), (12, 0), (13, 12), (14, 0), (14, 30), (16, 0), (17, 59), (18, 0)):
        clock.set(sh(2026, 11, 20, hour, minute))
        fired = await bot.tick()
        await bot.tick()  # a second sweep at the same instant sends nothing more
        timeline.append((f"{hour}:{minute:02d}", fired))
    assert timeline == [("11:59", 0), ("12:00", 1), ("13:12", 1), ("14:00", 1), ("14:30", 1), ("16:00", 1),
                        ("17:59", 0), ("18:00", 0)], "the 4 h level of a P2 waits for Monday morning"
    alice, lead = bot.texts("alice"), bot.texts("linfang")
    reminders = [t for t in alice if t.startswith("⏰")]
    assert len(reminders) == 2 and "T-000001" in reminders[0]
    assert any(t.startswith("🚨 Escalation level 1") for t in alice)
    escalations = [t for t in lead if t.startswith("🚨")]
    assert len(escalations) == 2
    assert escalations[0].startswith("🚨 第 2 级升级：T-000001") and escalations[1].startswith("🚨 第 3 级升级：T-000001")
    assert len([m for m in bot.messenger.sent if m.target.id == "escalations" and m.text]) == 3
    clock.set(sh(2026, 11, 23, 9, 0))
    assert await bot.tick() == 1
    assert any(t.startswith("🚨 第 4 级升级") for t in bot.texts("zhou")), "the manager hears on Monday"


async def test_p1_is_not_quiet_at_night(store, clock):
    bot = Harness(store, clock)
    clock.set(sh(2026, 11, 20, 22, 0))
    await bot.say("alice", "/ticket new Payments failing p1", bot.channel())
    clock.set(sh(2026, 11, 20, 23, 0))
    assert await bot.tick() == 1  # level 1 (the 50 % and 80 % reminders are superseded by it)
    assert any(t.startswith("🚨 Escalation level 1") for t in bot.texts("alice"))


async def test_restart_catch_up_fires_missed_notifications_once(store, clock):
    bot = await _p2_ticket(store, clock)
    clock.set(sh(2026, 11, 20, 14, 45))  # the bot was down since 10:00
    assert await bot.tick() == 2, "escalation levels 1 and 2; the old reminders are superseded"
    assert not [t for t in bot.texts("alice") if t.startswith("⏰")]
    restarted = deadline_sweep(store=store, policy=bot.sla, directory=bot.directory, config=bot.config, clock=clock)
    assert await restarted.tick() == 0


async def test_im_on_it_stops_the_next_level(store, clock):
    bot = await _p2_ticket(store, clock)
    clock.set(sh(2026, 11, 20, 14, 5))
    await bot.tick()
    card = [m for m in bot.cards("escalations")][-1]
    assert "Respond" not in card.card.badge.text and card.card.badge.tone == "breached"
    assert "我来处理" in [c.label for c in card.card.actions]
    await bot.press("alice", card, "ack")
    assert "我来处理" not in [c.label for c in card.card.actions], "the refreshed card drops the button"
    assert (await bot.ticket()).escalation_acked is not None
    clock.set(sh(2026, 11, 20, 16, 30))
    assert await bot.tick() == 0, "levels 2 and 3 are not sent"
    assert not [t for t in bot.texts("linfang") if t.startswith("🚨")]


async def test_card_badge_shows_the_clock(store, clock):
    bot = await _p2_ticket(store, clock)
    clock.set(sh(2026, 11, 20, 12, 0))
    await bot.tick()
    badge = bot.cards("triage")[0].card.badge
    assert (badge.text, badge.tone) == ("2 小时内需响应", "ok")
    clock.set(sh(2026, 11, 20, 14, 10))
    await bot.tick()
    badge = bot.cards("triage")[0].card.badge
    assert (badge.text, badge.tone) == ("响应已超时 10 分钟", "breached")


async def test_sla_command_and_breaching_list(store, clock):
    bot = await _p2_ticket(store, clock)
    await bot.say("cust-b", "another problem")  # T-000002, P2, same deadlines, assigned to Li
    await bot.say("alice", "/ticket priority T-000002 P1", bot.channel())
    clock.set(sh(2026, 11, 20, 13, 30))
    await bot.say("alice", "/ticket sla T-000001", bot.channel())
    text = bot.last_text("triage")
    assert "Respond" not in text and "first response: due 11-20 14:00, 30 min left" in text
    assert "Next: escalation level 1 for first response at 11-20 14:00" in text
    await bot.say("alice", "/ticket list breaching", bot.channel())
    listing = bot.last_text("triage", visible_to="alice")
    assert listing.index("T-000002") < listing.index("T-000001"), "breached first, then at risk"


async def test_p0_tells_the_director_at_once(store, clock):
    bot = Harness(store, clock)
    await bot.say("alice", "/ticket new 全站宕机 p0", bot.channel())
    # sla.notify_on_p0 is read as alerts.p0_created.to: an alert card with an Acknowledge button.
    [card] = [m.card for m in bot.cards("zhou")]
    assert card.title.startswith("🔥 P0 T-000001") and card.actions


async def test_two_replicas_fire_each_notification_once(database_url, clock):
    first = await _p2_ticket(SqlStore(create_engine(database_url), clock), clock)
    second_store = SqlStore(create_engine(database_url), clock)
    second = deadline_sweep(store=second_store, policy=first.sla, directory=first.directory, config=first.config,
                      clock=clock)
    try:
        total = 0
        for hour, minute in ((12, 0), (13, 12), (14, 0), (14, 30), (16, 0)):
            clock.set(sh(2026, 11, 20, hour, minute))
            results = await asyncio.gather(first.sweep.tick(), second.tick())
            total += sum(results)
        assert total == 5
        async with first.store.unit() as uow:
            assert len(await uow.fired_notifications(Subject.ticket(1))) == 5
        # Nothing sends here, so the later notices join the one still waiting in the DM: count lines, not rows.
        lines = [line for r in await first.store.outbox_rows() for line in (r.text or "").split("\n")]
        reminders = [line for line in lines if line.startswith("⏰")]
        assert len(reminders) == 2
    finally:
        await first.store.close()
        await second_store.close()


async def test_the_app_runs_the_sweep_from_its_job_table(database_url, monkeypatch, aiohttp_client):
    from bot.app import SERVICES, build_app
    from bot.config import Settings, load_config
    from tests.harness import EXAMPLE_CONFIG

    monkeypatch.setenv("DATABASE_URL", database_url)
    app = await build_app(Settings(), config=load_config(EXAMPLE_CONFIG))
    client = await aiohttp_client(app)
    services = client.app[SERVICES]
    # The sample config's daily digest is a cron job of the same table, and so is the look at the periodic alerts.
    assert sorted(services.scheduler.job_ids) == sorted(["sla-sweep", "db-checkpoint", "state-purge", "delivery-purge",
                                                         "digest:daily-sla", "stats-answers-purge", "alerts"])
    await asyncio.sleep(1.5)
    assert len(services.sweep.tick_ms) >= 2, "the start-up catch-up tick and at least one scheduled tick ran"


async def test_department_calendar_and_unassigned_reminder_to_the_queue(store, clock):
    from bot.config import load_config
    from tests.harness import EXAMPLE_CONFIG

    config = load_config(EXAMPLE_CONFIG)
    # Finance works 10:00–16:00 on its own calendar; its tickets have no agent, so reminders go to the queue.
    config.sla.calendars = {"finance": config.business_hours.model_copy(update={"hours": "10:00-16:00"})}
    config.sla.department_calendars = {"finance": "finance"}
    bot = Harness(store, clock, config)
    clock.set(sh(2026, 11, 20, 15, 0))
    await bot.say("wang-store", "请帮我开发票")
    ticket = await bot.ticket()
    assert (ticket.department, ticket.assignee) == ("finance", None)
    assert ticket.respond_by == sh(2026, 11, 23, 13, 0), "1 h on Friday, then 3 h from Monday 10:00"
    clock.set(sh(2026, 11, 23, 11, 0))  # 50 % of the window
    assert await bot.tick() == 1
    assert any(t.startswith("⏰ T-000001") for t in bot.texts("triage"))


async def test_a_failed_batch_claims_nothing_and_the_next_tick_sends_once(store, clock, monkeypatch):
    from storage.unit import SqlUnitOfWork

    bot = await _p2_ticket(store, clock)
    await bot.tick()
    clock.set(sh(2026, 11, 20, 12, 0))  # the 50 % reminder is due
    real = SqlUnitOfWork.enqueue_many

    async def broken(self, messages):
        raise RuntimeError("outbox write failed")

    monkeypatch.setattr(SqlUnitOfWork, "enqueue_many", broken)
    with pytest.raises(RuntimeError):
        await bot.sweep.tick()
    async with store.unit() as uow:
        assert await uow.fired_notifications(Subject.ticket(1)) == set(), "claims and messages commit together or not at all"
    monkeypatch.setattr(SqlUnitOfWork, "enqueue_many", real)
    assert await bot.tick() == 1 and await bot.tick() == 0
    assert len([t for t in bot.texts("alice") if t.startswith("⏰")]) == 1
    assert bot.sweep.busy_tick_ms and bot.sweep.idle_tick_ms, "busy and idle ticks are timed apart"
