"""Cross-department requests on the console: ask, the colleague's card, accept, answer, the ticket back in progress."""

from __future__ import annotations

from datetime import timedelta

from bot.requests import RequestStatus
from bot.tickets import Status, TimelineKind
from tests.harness import Harness


async def _ticket_for_alice(bot: Harness) -> None:
    await bot.say("wang-store", "我的订单页面打不开")
    assert (await bot.ticket()).assignee == "alice"


async def _request(bot: Harness, request_id: int = 1):
    async with bot.store.unit() as uow:
        return await uow.get_request(request_id)


async def test_asking_finance_reaches_its_contact_and_the_ticket_waits(store, clock):
    bot = Harness(store, clock)
    await _ticket_for_alice(bot)
    await bot.say("alice", "/ticket ask T-000001 @finance 请核对发票金额 截止 明天18:00", bot.channel())
    request = await _request(bot)
    assert (request.asked_person, request.asked_department, request.status) == ("zhao", "finance", RequestStatus.OPEN)
    # Asked on Friday 10:00 in Shanghai: "明天18:00" is Saturday 18:00 there, 10:00 UTC.
    assert request.deadline == clock.now() + timedelta(days=1, hours=8)
    assert (await bot.ticket()).status is Status.WAITING_COLLEAGUE
    [card] = bot.cards("zhao")
    assert card.card.title.startswith("R-000001")
    assert any(f.value == "请核对发票金额" for f in card.card.fields)
    assert "R-000001" in bot.last_text("triage", visible_to="alice")
    entry = [e for e in await bot.timeline() if e.kind == TimelineKind.REQUEST][-1]
    assert (entry.after, entry.text, entry.detail["event"], entry.detail["to"]) == (
        "R-000001", "请核对发票金额", "asked", "zhao")


async def test_the_answer_lands_on_the_ticket_and_brings_it_back_in_progress(store, clock):
    bot = Harness(store, clock)
    await _ticket_for_alice(bot)
    await bot.say("alice", "/ticket ask T-000001 @赵会计 please confirm the refund by Fri 17:00", bot.channel())
    [card] = bot.cards("zhao")
    await bot.press("zhao", card, "accept")
    assert (await _request(bot)).status is RequestStatus.ACCEPTED
    assert "is on R-000001" in bot.last_text("triage")
    # Zhao answers under the card, in their DM: the answer is an internal entry; Alice hears where she asked.
    await bot.say("zhao", "金额无误，可以退款", bot.dm("zhao").thread(card.ref))
    request = await _request(bot)
    assert (request.status, request.answer, request.answered_by) == (RequestStatus.ANSWERED, "金额无误，可以退款", "zhao")
    ticket = await bot.ticket()
    assert ticket.status is Status.IN_PROGRESS
    assert "金额无误，可以退款" in bot.last_text("triage")
    assert any("back in progress" in text for text in bot.texts("alice")), "the assignee is told"
    assert "金额无误" not in " ".join(bot.texts("wang-store")), "the customer never sees the answer by itself"
    answered = [e for e in await bot.timeline() if e.kind == TimelineKind.REQUEST][-1]
    assert (answered.detail["event"], answered.text, answered.visibility.value) == ("answered", "金额无误，可以退款",
                                                                                    "internal")


async def test_the_ticket_waits_until_its_last_request_is_settled(store, clock):
    bot = Harness(store, clock)
    await _ticket_for_alice(bot)
    await bot.say("alice", "/ticket ask T-000001 @finance invoice amount?", bot.channel())
    await bot.say("alice", "/ticket ask T-000001 @rnd is the bug fixed?", bot.channel())
    await bot.say("zhao", "/ticket answer R-000001 the amount is right", bot.dm("zhao"))
    assert (await bot.ticket()).status is Status.WAITING_COLLEAGUE, "R-000002 is still open"
    await bot.say("chen", "/ticket answer R-000002 fixed in 2.3", bot.dm("chen"))
    assert (await bot.ticket()).status is Status.IN_PROGRESS


async def test_an_unreadable_deadline_creates_nothing(store, clock):
    bot = Harness(store, clock)
    await _ticket_for_alice(bot)
    await bot.say("alice", "/ticket ask T-000001 @finance check the invoice 截止 someday", bot.channel())
    assert await _request(bot) is None
    assert "明天18:00" in bot.last_text("triage", visible_to="alice"), "the answer gives examples"
    assert (await bot.ticket()).status is not Status.WAITING_COLLEAGUE


async def test_a_customer_cannot_ask_and_a_colleague_cannot_resolve(store, clock):
    bot = Harness(store, clock)
    await _ticket_for_alice(bot)
    await bot.say("wang-store", "/ticket ask T-000001 @finance refund?")
    assert await _request(bot) is None
    await bot.say("alice", "/ticket ask T-000001 @finance refund?", bot.channel())
    await bot.say("zhao", "/ticket resolve T-000001 done", bot.dm("zhao"))
    assert (await bot.ticket()).status is Status.WAITING_COLLEAGUE


async def test_someone_else_cannot_answer_and_the_asker_can_cancel(store, clock):
    bot = Harness(store, clock)
    await _ticket_for_alice(bot)
    await bot.say("alice", "/ticket ask T-000001 @finance refund?", bot.channel())
    await bot.say("chen", "/ticket answer R-000001 sure", bot.dm("chen"))
    assert (await _request(bot)).status is RequestStatus.OPEN
    assert "询问的是其他人" in bot.last_text("chen", visible_to="chen"), "in his own language"
    await bot.say("alice", "/ticket cancel R-000001", bot.channel())
    assert (await _request(bot)).status is RequestStatus.CANCELLED
    assert (await bot.ticket()).status is Status.IN_PROGRESS
    assert any("撤回了" in text and "R-000001" in text for text in bot.texts("zhao"))


async def test_a_colleague_mentioned_in_a_ticket_thread_is_asked(store, clock):
    bot = Harness(store, clock)
    await _ticket_for_alice(bot)
    triage = bot.cards("triage")[0]
    await bot.say("alice", "@赵会计 请核对发票金额 截止 2h", bot.channel().thread(triage.ref))
    request = await _request(bot)
    assert request is not None and request.asked_person == "zhao"
    assert request.deadline == clock.now() + timedelta(hours=2)


async def test_lists_show_the_most_urgent_first(store, clock):
    bot = Harness(store, clock)
    await _ticket_for_alice(bot)
    await bot.say("alice", "/ticket ask T-000001 @finance later one by 12-20 10:00", bot.channel())
    await bot.say("alice", "/ticket ask T-000001 @finance urgent one 截止 30分钟", bot.channel())
    await bot.say("zhao", "/ticket requests", bot.dm("zhao"))
    listing = bot.last_text("zhao", visible_to="zhao")
    assert listing.index("R-000002") < listing.index("R-000001"), listing
    await bot.say("alice", "/ticket requests mine", bot.channel())
    assert "R-000001" in bot.last_text("triage", visible_to="alice")


async def test_reminders_overdue_and_escalation_fire_once_in_order(store, clock):
    bot = Harness(store, clock)
    await _ticket_for_alice(bot)
    # Friday 10:00 in Shanghai; due in 2 hours: reminded at 50 % (11:00) and 1 h before (also 11:00: one message).
    await bot.say("alice", "/ticket ask T-000001 @finance invoice amount? 截止 2h", bot.channel())
    zhao_before = len(bot.texts("zhao"))
    assert await bot.tick() == 0
    clock.advance(minutes=59)
    assert await bot.tick() == 0, "nothing before 50 %"
    clock.advance(minutes=1)
    assert await bot.tick() == 2, "50 % and 1 hour before fall together"
    reminders = bot.texts("zhao")[zhao_before:]
    assert len(reminders) == 1 and "R-000001" in reminders[0] and "invoice amount?" in reminders[0]
    assert await bot.tick() == 0, "fired once"
    clock.advance(hours=1)
    await bot.tick()  # (the ticket's own SLA reminder falls due now too)
    overdue = [text for text in bot.texts("triage") if "R-000001" in text and "overdue" in text]
    assert len(overdue) == 1, "the asker hears it once, where they asked"
    await bot.tick()
    assert len([text for text in bot.texts("triage") if "R-000001" in text and "overdue" in text]) == 1
    clock.advance(hours=2)  # escalate_after 2h: Finance's head, who is Zhao himself: nobody else
    await bot.tick()
    assert not any("仍未答复" in text for text in bot.texts("zhao")), "the head is the one asked: not told twice"


async def test_a_one_minute_request_still_reminds_before_it_is_due(store, clock):
    bot = Harness(store, clock)
    await _ticket_for_alice(bot)
    await bot.say("alice", "/ticket ask T-000001 @finance quick one 截止 1分钟", bot.channel())
    before = len(bot.texts("zhao"))
    clock.advance(seconds=30)
    assert await bot.tick() == 1
    assert len(bot.texts("zhao")) == before + 1


async def test_a_night_reminder_for_a_p3_question_waits_for_the_morning(store, clock):
    bot = Harness(store, clock)
    await _ticket_for_alice(bot)
    await bot.say("alice", "/ticket priority T-000001 P3", bot.channel())
    clock.advance(hours=10)  # Friday 20:00 in Shanghai
    await bot.say("alice", "/ticket ask T-000001 @finance check this 截止 周一 12:00", bot.channel())
    before = len(bot.texts("zhao"))
    clock.advance(hours=26)  # Saturday 22:00 — 50 % of the way, but Finance is closed
    await bot.tick()
    assert len(bot.texts("zhao")) == before, "no weekend nudge for a P3 question"
    clock.advance(hours=35)  # Monday 09:00, the calendar opens
    await bot.tick()
    assert len(bot.texts("zhao")) == before + 1


async def test_after_the_deadline_the_colleagues_department_head_is_told_once(store, clock):
    from bot.config import PersonConfig, load_config
    from tests.harness import EXAMPLE_CONFIG

    config = load_config(EXAMPLE_CONFIG)
    config.people.append(PersonConfig(key="qian", name="钱出纳", roles=["colleague"], department="finance",
                                      identities={"console": "qian"}))
    next(d for d in config.departments if d.key == "finance").contacts = ["qian"]
    bot = Harness(store, clock, config)
    await _ticket_for_alice(bot)
    await bot.say("alice", "/ticket ask T-000001 @finance refund approved? 截止 30分钟", bot.channel())
    assert (await _request(bot)).asked_person == "qian", "the department's contact, not its head"
    clock.advance(minutes=31)
    await bot.tick()
    assert not any("仍未答复" in text for text in bot.texts("zhao"))
    clock.advance(hours=2)
    await bot.tick()
    await bot.tick()
    escalations = [text for text in bot.texts("zhao") if "R-000001" in text and "仍未答复" in text]
    assert len(escalations) == 1, bot.texts("zhao")


async def test_a_question_with_plain_words_after_by_takes_the_departments_default_deadline(store, clock):
    bot = Harness(store, clock)
    await _ticket_for_alice(bot)
    await bot.say("alice", "/ticket ask T-000001 @finance is the refund by card or by transfer", bot.channel())
    request = await _request(bot)
    assert request.question == "is the refund by card or by transfer"
    # No response_time for Finance in the sample: requests.default_response_time, 4 business hours from Fri 10:00.
    assert request.deadline == clock.now() + timedelta(hours=4)


async def test_the_ticket_card_lists_its_open_requests_and_offers_ask_finance(store, clock):
    from cards.model import Select

    bot = Harness(store, clock)
    await _ticket_for_alice(bot)
    triage = bot.cards("triage")[0]
    assign = next(c for c in triage.card.actions if isinstance(c, Select) and ":assign:" in c.action)
    labels = {o.value: o.label for o in assign.options}
    assert labels["ask:finance"] == "询问 财务…" and "d:support" in labels, "Finance is asked, not a queue"
    await bot.press("linfang", triage, assign.action, "ask:finance")
    hint = bot.last_text("triage", visible_to="linfang")
    assert "工单 协助 T-000001 @finance" in hint and (await bot.ticket()).version == 1, "choosing it changes nothing"
    await bot.say("alice", "/ticket ask T-000001 @finance invoice? 截止 2h", bot.channel())
    asked = next(f.value for f in triage.card.fields if f.label == "询问")
    assert asked.startswith("R-000001 赵会计 · ") and "(Asia/Shanghai)" in asked
    await bot.say("zhao", "/ticket answer R-000001 fine", bot.dm("zhao"))
    assert not [f for f in triage.card.fields if f.label == "询问"], "an answered request leaves the card"


async def test_two_replicas_and_a_restart_fire_each_request_notice_once(database_url, clock):
    import asyncio

    from schedules.providers import deadline_sweep
    from storage.db import create_engine
    from storage.store import SqlStore

    first = Harness(SqlStore(create_engine(database_url), clock), clock)
    second_store = SqlStore(create_engine(database_url), clock)
    second = deadline_sweep(store=second_store, policy=first.sla, directory=first.directory, config=first.config,
                            clock=clock)
    try:
        await _ticket_for_alice(first)
        await first.say("alice", "/ticket ask T-000001 @finance invoice? 截止 2h", first.channel())
        for minutes in (60, 61, 120, 121):  # the two reminders at 11:00, overdue at 12:00
            clock.set(first.clock.now().replace(hour=2, minute=0) + timedelta(minutes=minutes))
            await asyncio.gather(first.sweep.tick(), second.tick())
        # A restart: a fresh sweep over the same database fires nothing already fired.
        restarted = deadline_sweep(store=first.store, policy=first.sla, directory=first.directory,
                                   config=first.config, clock=clock)
        await restarted.tick()
        async with first.store.unit() as uow:
            fired = await uow.fired_notifications((await uow.get_request(1)).subject)
        assert sorted(key.split(":")[0] for key in fired) == ["overdue", "remind", "remind"]
        lines = [line for r in await first.store.outbox_rows() for line in (r.text or "").split("\n")]
        assert len([line for line in lines if "R-000001" in line and "⏰" in line]) == 1, "two reminders, one line"
        assert len([line for line in lines if "R-000001" in line and "overdue" in line]) == 1
    finally:
        await first.store.close()
        await second_store.close()
