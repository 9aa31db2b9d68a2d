"""Assigning to a department keeps an owner: a department without agents is no queue, one with agents picks one."""

from __future__ import annotations

from bot.tickets import Status
from tests.harness import Harness

LEAD = "linfang"


async def _opened(store, clock, config=None) -> Harness:
    bot = Harness(store, clock, config)
    await bot.say("wang-store", "我的订单页面打不开")
    return bot


async def test_a_department_without_agents_is_not_a_queue(store, clock):
    bot = await _opened(store, clock)
    before = await bot.ticket()
    assert before.assignee == "alice"
    await bot.say("alice", "/ticket assign T-000001 @finance", bot.channel())
    answer = bot.last_text("triage", visible_to="alice")
    assert "Finance has no agents" in answer and "/ticket ask T-000001 @finance" in answer and "T-000001" in answer
    after = await bot.ticket()
    assert (after.assignee, after.department, after.version) == ("alice", before.department, before.version)


async def test_the_card_offers_to_ask_a_department_without_agents_instead_of_assigning(store, clock):
    bot = await _opened(store, clock)
    before = await bot.ticket()
    await bot.press(LEAD, bot.cards("triage")[0], "assign", "ask:finance")
    assert "工单 协助 T-000001 @finance" in bot.last_text("triage", visible_to=LEAD)
    assert (await bot.ticket()).version == before.version


async def test_moving_to_a_department_with_agents_picks_an_owner_there(store, clock):
    from bot.config import load_config
    from tests.harness import EXAMPLE_CONFIG

    config = load_config(EXAMPLE_CONFIG)
    rnd = next(p for p in config.people if p.key == "chen")
    rnd.roles = ["agent"]  # R&D gets an agent of its own
    bot = await _opened(store, clock, config)
    await bot.say(LEAD, "/ticket assign T-000001 @rnd", bot.channel())
    ticket = await bot.ticket()
    assert (ticket.department, ticket.assignee) == ("rnd", "chen")
    assert ticket.status is Status.TRIAGED
    assert "陈工" in bot.last_text("triage", visible_to=LEAD)
    assert any("T-000001" in text for text in bot.texts("chen")), "the new owner is told"
    assigned = [e for e in await bot.timeline() if e.kind == "assigned"][-1]
    assert (assigned.before, assigned.after) == ("alice", "chen")


async def test_moving_within_the_own_department_keeps_the_owner(store, clock):
    bot = await _opened(store, clock)
    before = await bot.ticket()
    await bot.say(LEAD, "/ticket assign T-000001 @support", bot.channel())
    assert "T-000001" in bot.last_text("triage", visible_to=LEAD)
    after = await bot.ticket()
    assert (after.assignee, after.version) == ("alice", before.version)


async def test_an_unowned_ticket_moved_to_support_gets_an_agent_round_robin(store, clock):
    bot = Harness(store, clock)
    await bot.say("wang-store", "请帮我开发票")  # routed to Finance, which has no agents: unassigned
    assert (await bot.ticket()).assignee is None
    await bot.say(LEAD, "/ticket assign T-000001 @support", bot.channel())
    ticket = await bot.ticket()
    assert ticket.department == "support" and ticket.assignee in ("alice", "li")
