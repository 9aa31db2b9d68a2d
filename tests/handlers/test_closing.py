"""Nothing closes silently: a close without an answer asks for a reason, the customer hears of it, and what they
write next says where it went."""

from __future__ import annotations

from bot.tickets import Status
from tests.harness import Harness

CUSTOMER, AGENT = "wang-store", "alice"


async def _opened(store, clock) -> Harness:
    bot = Harness(store, clock)
    await bot.say(CUSTOMER, "我的订单页面打不开")
    return bot


def _customer_texts(bot: Harness) -> list[str]:
    return bot.texts(CUSTOMER)


async def test_pressing_close_on_an_unanswered_ticket_asks_for_a_reason_and_changes_nothing(store, clock):
    bot = await _opened(store, clock)
    before, heard = await bot.ticket(), len(_customer_texts(bot))
    await bot.press(AGENT, bot.cards("triage")[0], "close")
    answer = bot.last_text("triage", visible_to=AGENT)
    assert "has not heard back" in answer and "/ticket close T-000001 <reason>" in answer
    after = await bot.ticket()
    assert after.status is before.status and after.version == before.version
    assert len(_customer_texts(bot)) == heard, "the customer is told nothing while nothing happened"


async def test_resolving_an_unanswered_ticket_without_a_summary_asks_for_one(store, clock):
    bot = await _opened(store, clock)
    before = await bot.ticket()
    await bot.press(AGENT, bot.cards("triage")[0], "resolve")
    assert "/ticket resolve T-000001 <summary>" in bot.last_text("triage", visible_to=AGENT)
    await bot.say("liming", "/ticket close T-000001", bot.channel())
    assert "工单 关闭 T-000001 <原因>" in bot.last_text("triage", visible_to="liming")
    assert (await bot.ticket()).version == before.version


async def test_close_with_a_reason_tells_the_customer_in_their_language(store, clock):
    bot = await _opened(store, clock)
    await bot.say(AGENT, "/ticket close T-000001 duplicate of your phone call", bot.channel())
    assert (await bot.ticket()).status is Status.CLOSED
    told = bot.last_text(CUSTOMER)
    assert "T-000001" in told and "已关闭" in told and "duplicate of your phone call" in told


async def test_resolve_with_a_summary_is_an_answer(store, clock):
    bot = await _opened(store, clock)
    await bot.say(AGENT, "/ticket resolve T-000001 the page works again", bot.channel())
    assert (await bot.ticket()).status is Status.RESOLVED
    assert "the page works again" in bot.last_text(CUSTOMER)
    # The customer has heard back now, so the card's Close closes at once.
    await bot.press(AGENT, bot.cards("triage")[0], "close")
    assert (await bot.ticket()).status is Status.CLOSED


async def test_after_a_reply_close_needs_no_reason_and_the_customer_is_told(store, clock):
    bot = await _opened(store, clock)
    await bot.say(AGENT, "/ticket reply T-000001 please clear the cache", bot.channel())
    await bot.press(AGENT, bot.cards("triage")[0], "close")
    assert (await bot.ticket()).status is Status.CLOSED
    told = bot.last_text(CUSTOMER)
    assert "T-000001" in told and "已关闭" in told


async def test_a_message_after_close_says_the_ticket_was_closed_and_links_the_new_one(store, clock):
    bot = await _opened(store, clock)
    await bot.say(AGENT, "/ticket close T-000001 answered by phone", bot.channel())
    clock.advance(minutes=3)
    await bot.say(CUSTOMER, "还是打不开")
    answer = bot.last_text(CUSTOMER)
    assert "T-000001" in answer and "已关闭" in answer and "T-000002" in answer
    assert "已为您创建工单" not in answer, "one answer, not the plain greeting as well"
    new = await bot.ticket(2)
    assert new.title == "还是打不开"
    linked = [e for e in await bot.timeline(2) if e.kind == "linked"]
    assert [(e.before, e.after) for e in linked] == [(None, "T-000001")]
    assert [e.after for e in await bot.timeline(1) if e.kind == "linked"] == ["T-000002"]


async def test_an_english_customer_hears_of_the_close_in_english(store, clock):
    bot = Harness(store, clock)
    await bot.say("someone-new", "My invoice is missing")
    await bot.say("linfang", "/ticket close T-000001 sent by mail", bot.channel())
    assert "T-000001" in bot.last_text("someone-new") and "closed" in bot.last_text("someone-new")
    await bot.say("someone-new", "it is still missing")
    assert "was closed" in bot.last_text("someone-new") and "T-000002" in bot.last_text("someone-new")


async def test_a_message_joining_an_open_ticket_is_acknowledged_at_most_every_few_minutes(store, clock):
    bot = await _opened(store, clock)
    heard = len(_customer_texts(bot))
    clock.advance(minutes=1)
    await bot.say(CUSTOMER, "截图在这里")
    assert len(_customer_texts(bot)) == heard, "the answer that opened the ticket a minute ago still holds"
    clock.advance(minutes=5)
    await bot.say(CUSTOMER, "还有订单号 123")
    assert "T-000001" in bot.last_text(CUSTOMER) and "已添加" in bot.last_text(CUSTOMER)
    heard = len(_customer_texts(bot))
    clock.advance(minutes=2)
    await bot.say(CUSTOMER, "是今天早上下的单")
    assert len(_customer_texts(bot)) == heard, "a chatty customer is not answered every time"
    assert (await bot.timeline())[-1].text == "是今天早上下的单", "but the message still lands on the ticket"
    clock.advance(minutes=6)
    await bot.say(CUSTOMER, "现在可以了吗")
    assert len(_customer_texts(bot)) == heard + 1 and "已添加到您的工单 T-000001" in bot.last_text(CUSTOMER)


async def test_a_message_reviving_a_resolved_ticket_says_so(store, clock):
    bot = await _opened(store, clock)
    await bot.say(AGENT, "/ticket resolve T-000001 the page works again", bot.channel())
    clock.advance(minutes=1)
    await bot.say(CUSTOMER, "还是打不开")
    assert (await bot.ticket()).status is Status.TRIAGED
    assert "重新打开" in bot.last_text(CUSTOMER) and "T-000001" in bot.last_text(CUSTOMER)
