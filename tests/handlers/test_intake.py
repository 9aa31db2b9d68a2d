"""Customers by message: a ticket is opened or joined, routed, announced; replies reach the customer."""

from __future__ import annotations

from bot.tickets import Priority, Status, Tier
from tests.harness import Harness


async def test_customer_message_opens_ticket_with_card_and_answer(store, clock):
    bot = Harness(store, clock)
    await bot.say("wang-store", "我的订单页面打不开\n从昨天开始就这样")
    ticket = await bot.ticket()
    assert ticket.number == "T-000001" and ticket.title == "我的订单页面打不开"
    assert ticket.customer_name == "王记小店" and ticket.customer_language == "zh-CN"
    assert ticket.status is Status.TRIAGED and ticket.assignee == "alice"  # round-robin starts at the first agent
    assert "T-000001" in bot.last_text("wang-store")
    [card] = bot.cards("triage")
    assert card.card.title.startswith("T-000001")
    assert {"claim", "resolve", "close"} <= {c.action.split(":")[2] for c in card.card.actions}
    customer_card = bot.cards("wang-store")[0].card
    assert customer_card.actions == (), "customers get no agent buttons"
    assert any("T-000001" in text for text in bot.texts("alice")), "the assignee is told"


async def test_customer_in_english_is_answered_in_english(store, clock):
    bot = Harness(store, clock)
    await bot.say("someone-new", "My invoice is missing")
    assert "opened ticket T-000001" in bot.last_text("someone-new")
    ticket = await bot.ticket()
    assert ticket.customer_tier is Tier.NORMAL and ticket.customer_name == "someone-new"


async def test_next_message_joins_open_ticket_and_reaches_agent_thread(store, clock):
    bot = Harness(store, clock)
    await bot.say("wang-store", "页面打不开")
    clock.advance(minutes=10)
    await bot.say("wang-store", "截图在这里")
    async with store.unit() as uow:
        assert len(await uow.list_tickets(__import__("bot.ports", fromlist=["TicketQuery"]).TicketQuery())) == 1
    entries = await bot.timeline()
    assert entries[-1].kind == "customer_message" and entries[-1].text == "截图在这里"
    card = bot.cards("triage")[0]
    thread = [m for m in bot.messenger.sent if m.target.id == "triage" and m.target.thread_id == card.ref]
    assert thread and "截图在这里" in thread[-1].text


async def test_message_after_join_window_opens_new_ticket(store, clock):
    bot = Harness(store, clock)
    await bot.say("wang-store", "页面打不开")
    clock.advance(minutes=bot.config.intake.join_window_minutes + 1)
    await bot.say("wang-store", "另一个问题")
    assert (await bot.ticket(2)).title == "另一个问题"


async def test_routing_rule_sends_invoices_to_finance_and_records_reason(store, clock):
    bot = Harness(store, clock)
    await bot.say("wang-store", "请帮我开发票")
    ticket = await bot.ticket()
    assert (ticket.department, ticket.category) == ("finance", "billing")
    routed = next(e for e in await bot.timeline() if e.kind == "routed")
    assert routed.detail["rule"] == "invoices and contracts to Finance" and routed.detail["department"] == "finance"


async def test_vip_customer_raises_priority_and_tells_account_manager(store, clock):
    bot = Harness(store, clock)
    await bot.say("acme-buyer", "系统很慢")
    ticket = await bot.ticket()
    assert ticket.customer_tier is Tier.VIP and ticket.priority is Priority.P1
    told = bot.texts("linfang")
    assert any("ACME 贸易" in text and "T-000001" in text for text in told)


async def test_round_robin_alternates_agents(store, clock):
    bot = Harness(store, clock)
    for who in ("cust-a", "cust-b", "cust-c"):
        await bot.say(who, "broken")
    assignees = [(await bot.ticket(i)).assignee for i in (1, 2, 3)]
    assert assignees == ["alice", "li", "alice"]
    reason = next(e for e in await bot.timeline(2) if e.kind == "assigned")
    assert reason.detail == {"how": "round-robin", "department": "support"}


async def test_agent_reply_reaches_customer_and_note_does_not(store, clock):
    bot = Harness(store, clock)
    await bot.say("wang-store", "页面打不开")
    await bot.say("alice", "/ticket note T-000001 looks like the CDN", bot.channel())
    await bot.say("alice", "/ticket reply T-000001 请清除缓存后再试", bot.channel())
    customer_texts = bot.texts("wang-store")
    assert any("请清除缓存后再试" in text for text in customer_texts)
    assert not any("CDN" in text for text in customer_texts)
    ticket = await bot.ticket()
    assert ticket.first_response_at is not None


async def test_customer_sees_only_own_tickets(store, clock):
    bot = Harness(store, clock)
    await bot.say("acme-buyer", "系统很慢")
    await bot.say("wang-store", "/ticket show T-000001")
    assert "T-000001" in bot.last_text("wang-store", visible_to="wang-store")
    assert not [c for c in bot.cards("wang-store")], "no card of someone else's ticket"
    await bot.say("wang-store", "/ticket resolve T-000001")
    assert (await bot.ticket()).status is not Status.RESOLVED


async def test_command_new_with_priority_category_and_assignee(store, clock):
    bot = Harness(store, clock)
    await bot.say("alice", "/ticket new Printer on 3F is jammed p1 #bug @liming", bot.channel())
    ticket = await bot.ticket()
    assert (ticket.title, ticket.priority, ticket.category, ticket.assignee) == (
        "Printer on 3F is jammed", Priority.P1, "bug", "li")
    assert bot.cards("triage")


async def test_chinese_command_new(store, clock):
    bot = Harness(store, clock)
    await bot.say("liming", "工单 新建 打印机坏了 p0 #bug", bot.channel())
    ticket = await bot.ticket()
    assert (ticket.title, ticket.priority, ticket.category) == ("打印机坏了", Priority.P0, "bug")


async def test_bad_command_gets_usage_and_changes_nothing(store, clock):
    bot = Harness(store, clock)
    await bot.say("liming", "工单 优先级 T-000001 P9", bot.channel())
    message = bot.last_text("triage", visible_to="liming")
    assert "P0" in message and "优先级" in message
    assert await bot.ticket() is None


async def test_claim_without_number_outside_a_thread_asks_which_ticket(store, clock):
    bot = Harness(store, clock)
    await bot.say("alice", "/ticket claim", bot.channel())
    assert "Which ticket?" in bot.last_text("triage", visible_to="alice")


async def test_claim_without_number_in_the_ticket_thread(store, clock):
    bot = Harness(store, clock)
    await bot.say("wang-store", "请帮我开发票")  # unassigned (Finance has no agents)
    card = bot.cards("triage")[0]
    await bot.say("alice", "/ticket claim", bot.channel(thread=card.ref))
    assert (await bot.ticket()).assignee == "alice"


async def test_least_loaded_assignment(store, clock):
    from bot.config import load_config
    from tests.harness import EXAMPLE_CONFIG

    config = load_config(EXAMPLE_CONFIG)
    config.departments[0].assignment = "least_loaded"
    bot = Harness(store, clock, config)
    await bot.say("alice", "/ticket new a @alice", bot.channel())
    await bot.say("alice", "/ticket new b @alice", bot.channel())
    await bot.say("cust-x", "broken")  # Li has fewer open tickets than Alice
    assert (await bot.ticket(3)).assignee == "li"
    reason = next(e for e in await bot.timeline(3) if e.kind == "assigned")
    assert reason.detail == {"how": "least-loaded", "department": "support"}
