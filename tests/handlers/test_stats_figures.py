"""`/ticket stats [period] [@scope]` through the router: a figures card in the reader's language, scoped by role."""

from __future__ import annotations

from datetime import timedelta

from bot.events import Conversation, ConversationKind, Platform
from bot.tickets import Identity, Priority, Status, Ticket
from tests.fakes import START
from tests.harness import Harness

DM = Conversation(platform=Platform.CONSOLE, id="cust", kind=ConversationKind.DM)


async def _seed(store, **fields) -> None:
    async with store.unit() as uow:
        await uow.add_ticket(Ticket(title="打印机坏了", requester=Identity(Platform.CONSOLE, "cust"), source=DM,
                                    created_at=START - timedelta(hours=1), **fields))


def _fields(card) -> dict[str, str]:
    return {f.label: f.value for f in card.fields}


async def test_a_manager_gets_the_week_as_a_card_in_chinese(store, clock):
    await _seed(store, department="support", assignee="alice", category="billing")
    await _seed(store, department="finance", status=Status.RESOLVED, resolved_at=START, category="bug")
    bot = Harness(store, clock)
    await bot.say("zhou", "工单 统计 本周", bot.channel())
    card = bot.cards("triage")[-1].card
    assert card.title == "工单数据 · 2026-11-16..2026-11-20" and card.subtitle == "全部工单"
    figures = _fields(card)
    assert figures["新建"] == "2 (+2)" and figures["已解决"] == "1 (+1)"
    assert figures["期末积压"] == "1 (+1)（0 个未分配）"
    assert figures["客户满意度"] == "—" and figures["首次响应达标"] == "—"
    assert any(note.startswith("分类排行：") for note in card.notes)


async def test_a_department_scope_counts_only_it(store, clock):
    await _seed(store, department="support", assignee="alice")
    await _seed(store, department="finance")
    bot = Harness(store, clock)
    await bot.say("zhou", "工单 统计 本周 @财务", bot.channel())
    card = bot.cards("triage")[-1].card
    assert card.subtitle == "部门：财务" and _fields(card)["新建"] == "1 (+1)"


async def test_an_agent_sees_their_department_but_not_another(store, clock):
    await _seed(store, department="support", assignee="alice", priority=Priority.P1)
    await _seed(store, department="finance")
    bot = Harness(store, clock)
    await bot.say("alice", "/ticket stats week", bot.channel())
    card = bot.cards("triage")[-1].card
    assert card.subtitle == "Department: Support" and _fields(card)["New"] == "1 (+1)"
    await bot.say("alice", "/ticket stats week @Finance", bot.channel())
    assert bot.last_text("triage", visible_to="alice") == (
        "Agents see their own figures and their department's; ask a lead or a manager for the others.")
    assert len(bot.cards("triage")) == 1, "no second card"


async def test_bad_periods_and_scopes_are_answered_and_change_nothing(store, clock):
    bot = Harness(store, clock)
    await bot.say("alice", "/ticket stats fortnight", bot.channel())
    text = bot.last_text("triage", visible_to="alice")
    assert "'fortnight' is neither a period" in text and "Usage:" in text
    await bot.say("alice", "/ticket stats 2026-02-30", bot.channel())
    assert bot.last_text("triage", visible_to="alice") == "'2026-02-30' is not a date."
    await bot.say("zhou", "工单 统计 @销售部", bot.channel())
    assert bot.last_text("triage", visible_to="zhou") == "没有名为“销售部”的部门或客服。"
    await bot.say("wang-store", "/ticket stats week", bot.dm("wang-store"))
    assert bot.last_text("wang-store", visible_to="wang-store") == "Only the support team can do that."
    assert bot.cards("triage") == []


async def test_the_bare_stats_keeps_its_quick_counts(store, clock):
    await _seed(store, priority=Priority.P1)
    bot = Harness(store, clock)
    await bot.say("alice", "/ticket stats", bot.channel())
    assert "Unassigned open tickets: 1" in bot.last_text("triage") and bot.cards("triage") == []


async def test_kept_answers_are_forgotten_after_a_week(store, clock):
    from schedules.digests import DigestRunner

    bot = Harness(store, clock)
    await bot.say("zhou", "工单 统计 本周", bot.channel())
    runner = DigestRunner(store=store, config=bot.config, directory=bot.directory, clock=clock, platforms={})
    assert await runner.purge_answers() == 0
    clock.advance(days=8)
    assert await runner.purge_answers() == 1
