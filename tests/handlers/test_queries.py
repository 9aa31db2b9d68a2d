"""list / stats through the router: pages with '… and N more' and the next page's command, in both languages."""

from __future__ import annotations

from bot.events import Conversation, ConversationKind, Platform
from bot.tickets import Identity, Priority, Status, Ticket
from handlers import queries
from tests.harness import Harness

DM = Conversation(platform=Platform.CONSOLE, id="cust", kind=ConversationKind.DM)


async def _seed(store, count: int, **fields) -> None:
    async with store.unit() as uow:
        for n in range(count):
            await uow.add_ticket(Ticket(title=f"problem {n}", requester=Identity(Platform.CONSOLE, "cust"), source=DM,
                                        **fields))


async def test_list_pages_say_how_many_more_and_how_to_see_them(store, clock):
    await _seed(store, 45, priority=Priority.P2)
    await _seed(store, 3, priority=Priority.P1, status=Status.CLOSED)
    bot = Harness(store, clock)
    await bot.say("alice", "/ticket list", bot.channel())
    first = bot.last_text("triage", visible_to="alice").split("\n")
    assert first[0] == "45 tickets:" and len(first) == 22
    assert first[-1] == "… and 25 more. Next page: /ticket list 2"
    await bot.say("alice", "/ticket list open 3", bot.channel())
    third = bot.last_text("triage", visible_to="alice").split("\n")
    assert third[0] == "45 tickets, page 3:" and len(third) == 6, "the last 5, no 'more' line"
    await bot.say("alice", "/ticket list 4", bot.channel())
    assert bot.last_text("triage", visible_to="alice") == "There is no page 4; the list has 3."
    await bot.say("alice", "/ticket list unassigned p1", bot.channel())
    assert bot.last_text("triage", visible_to="alice") == "No tickets here.", "the P1 ones are closed"


async def test_list_in_chinese_and_a_capped_count(store, clock, monkeypatch):
    await _seed(store, 30, priority=Priority.P3)
    monkeypatch.setattr(queries, "COUNT_CAP", 2)  # counting stops at page + 2
    bot = Harness(store, clock)
    await bot.say("liming", "工单 列表 未分配 p3", bot.channel())
    lines = bot.last_text("triage", visible_to="liming").split("\n")
    assert lines[0] == "共 22+ 个工单：" and len(lines) == 22
    assert lines[-1] == "… 还有 2+ 个。下一页：工单 列表 未分配 P3 2"


async def test_bad_list_arguments_get_the_usage(store, clock):
    bot = Harness(store, clock)
    await bot.say("alice", "/ticket list open soon", bot.channel())
    text = bot.last_text("triage", visible_to="alice")
    assert "'soon' is neither a page number nor a priority" in text and "[P0-P3] [page]" in text


async def test_stats_through_the_router(store, clock):
    await _seed(store, 4, priority=Priority.P1)
    await _seed(store, 2, priority=Priority.P0, status=Status.CLOSED)
    await _seed(store, 1, priority=Priority.P2, status=Status.IN_PROGRESS, assignee="alice")
    bot = Harness(store, clock)
    await bot.say("alice", "/ticket stats", bot.channel())
    text = bot.last_text("triage")
    assert "· New: 4" in text and "· Closed: 2" in text and "· In progress: 1" in text
    assert "· P1" in text and "Unassigned open tickets: 4" in text
