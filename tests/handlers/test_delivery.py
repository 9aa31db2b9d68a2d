"""Nothing lost, nothing doubled: delivery dedupe, outbox retries, replay after a crash, concurrent changes."""

from __future__ import annotations

import asyncio

from bot.events import Actor, ButtonPressed, Conversation, MessagePosted, Platform
from bot.ports import SendError
from bot.tickets import Status
from handlers.router import Router
from tests.harness import Harness


async def test_duplicate_delivery_has_exactly_one_effect(store, clock):
    bot = Harness(store, clock)
    assert await bot.say("wang-store", "页面打不开", delivery_id="ev-1") is True
    assert await bot.say("wang-store", "页面打不开", delivery_id="ev-1") is False
    assert await bot.ticket(2) is None
    assert len([t for t in bot.texts("wang-store") if "T-000001" in t]) == 1
    assert [e.kind for e in await bot.timeline()].count("customer_message") == 0


async def test_outbox_send_fails_twice_then_succeeds(store, clock):
    bot = Harness(store, clock)
    bot.messenger.failures = [SendError("timeout"), SendError("rate limited", retry_after=30)]
    bot.messenger.failing_conversation = "triage"
    await bot.say("wang-store", "页面打不开")
    assert not bot.cards("triage"), "the card's first attempt failed"
    assert any("T-000001" in text for text in bot.texts("wang-store")), "other conversations are not held up"
    clock.advance(seconds=1)
    await bot.dispatcher.drain()
    assert not bot.cards("triage") and not bot.messenger.failures, "the retry after 1 s failed too"
    clock.advance(seconds=29)
    await bot.dispatcher.drain()
    assert not bot.cards("triage"), "Retry-After 30 s is honoured"
    clock.advance(seconds=1)
    await bot.dispatcher.drain()
    assert len(bot.cards("triage")) == 1
    assert len([t for t in bot.texts("wang-store") if "T-000001" in t]) == 1
    [row] = [r for r in await store.outbox_rows() if r.target_key == "console|triage"]
    assert (row.status, row.attempts) == ("sent", 2)


async def test_acknowledged_but_unprocessed_delivery_is_replayed(store, clock):
    bot = Harness(store, clock)
    event = MessagePosted(delivery_id="ev-crash", actor=Actor(platform=Platform.CONSOLE, user_id="wang-store"),
                          conversation=Conversation(platform=Platform.CONSOLE, id="wang-store"), text="页面打不开")
    assert await bot.router.accept(event)  # recorded and acknowledged, then the process died
    restarted = Router(bot.ctx)
    assert await restarted.replay_pending() == 1
    assert (await bot.ticket()).title == "页面打不开"
    assert await restarted.replay_pending() == 0


async def test_double_click_one_wins_other_told_changed_by(store, clock):
    bot = Harness(store, clock)
    await bot.say("wang-store", "请帮我开发票")  # routed to Finance, which has no agents: unassigned
    assert (await bot.ticket()).assignee is None
    card = bot.cards("triage")[0]
    # Both people press Claim on the same card (same version) at the same moment.
    await asyncio.gather(bot.press("alice", card, "claim", send=False), bot.press("linfang", card, "claim", send=False))
    await bot.dispatcher.drain()
    ticket = await bot.ticket()
    winner = ticket.assignee
    assert winner in ("alice", "lin") and ticket.status is Status.IN_PROGRESS
    loser = "linfang" if winner == "alice" else "alice"
    winner_name = bot.directory.person(winner).name
    assert winner_name in bot.last_text("triage", visible_to=loser)
    assert [e.kind for e in await bot.timeline()].count("assigned") == 1, "only the winning claim is recorded"
    assert card.card.version == ticket.version, "the pressed card was refreshed to the latest state"


async def test_stale_card_press_is_refused_with_fresh_card(store, clock):
    bot = Harness(store, clock)
    await bot.say("wang-store", "页面打不开")
    card = bot.cards("triage")[0]
    stale_resolve = next(c.action for c in card.card.actions if ":resolve:" in c.action)
    await bot.say("liming", "/ticket priority T-000001 P1", bot.channel())  # the card is now one version newer
    event = ButtonPressed(delivery_id="press-stale", actor=bot.actor("alice"), conversation=card.target,
                          action=stale_resolve, message_ref=card.ref)
    await bot.router.receive(event)
    await bot.dispatcher.drain()
    assert (await bot.ticket()).status is not Status.RESOLVED
    assert "李明" in bot.last_text("triage", visible_to="alice")


async def test_concurrent_commands_both_land(store, clock):
    bot = Harness(store, clock)
    await bot.say("wang-store", "页面打不开")
    # Two people type at the same moment; neither pressed a card, so neither may be dropped.
    await asyncio.gather(
        bot.say("alice", "/ticket note T-000001 first note", bot.channel(), send=False),
        bot.say("liming", "/ticket note T-000001 second note", bot.channel(), send=False),
        bot.say("linfang", "/ticket priority T-000001 P1", bot.channel(), send=False),
    )
    notes = {e.text for e in await bot.timeline() if e.kind == "note"}
    assert notes == {"first note", "second note"}
    assert (await bot.ticket()).priority.value == "P1"


async def test_deliver_records_then_acknowledges_then_processes_once(store, clock):
    bot = Harness(store, clock)
    event = MessagePosted(delivery_id="ev-ack", actor=Actor(platform=Platform.CONSOLE, user_id="wang-store"),
                          conversation=Conversation(platform=Platform.CONSOLE, id="wang-store"), text="页面打不开")
    seen = []

    async def ack():
        # When the platform hears back, the delivery is already recorded and not yet worked.
        seen.append(("ack", await store.pending_deliveries() != [], await bot.ticket() is None))

    async def done():
        seen.append(("done", await bot.ticket() is not None))

    assert await bot.router.deliver(event, ack, done=done)
    assert seen == [("ack", True, True), ("done", True)]
    assert not await bot.router.deliver(event, ack, done=done), "a repeat"
    assert seen[2:] == [("ack", False, False)], "a repeat is acknowledged too, and nothing else happens"


async def test_deliver_in_the_background_answers_before_the_work_is_done(store, clock):
    bot = Harness(store, clock)
    event = MessagePosted(delivery_id="ev-bg", actor=Actor(platform=Platform.CONSOLE, user_id="wang-store"),
                          conversation=Conversation(platform=Platform.CONSOLE, id="wang-store"), text="页面打不开")
    finished = asyncio.Event()

    async def done():
        finished.set()

    assert await bot.router.deliver(event, background=True, done=done)
    assert not finished.is_set(), "the platform got its answer first"
    await asyncio.wait_for(finished.wait(), 10)
    assert (await bot.ticket()).title == "页面打不开"
