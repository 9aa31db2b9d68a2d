"""A send in doubt (its sender died, or got no answer, before the "sent" mark) through the real Slack client and a
local fake Slack: looked up by the outbox id its post carries, not posted twice; posted once when it never went."""

from __future__ import annotations

import asyncio
import time

from slack_sdk.web.async_client import AsyncWebClient

from bot.app import SERVICES
from bot.events import Conversation, ConversationKind, Platform
from bot.platforms.slack_messenger import SlackMessenger
from bot.ports import Outgoing, OutgoingKind
from bot.subjects import Subject
from schedules.outbox import OutboxDispatcher
from tests.platforms.fake_slack import start_fake_slack

CUSTOMER, ALICE = "U0CUST", "U0ALICE"
TRIAGE = "C0TRIAGE"
C1 = Conversation(platform=Platform.SLACK, id="C1", kind=ConversationKind.CHANNEL)


async def _crashed_after_a_customer_wrote(slack):
    """The customer's DM is handled and its messages claimed by a dispatcher that then died (its lease ran out)."""
    services = slack.client.app[SERVICES]
    await services.dispatcher.stop()  # the app's dispatcher is the one that comes back after the "restart"
    await slack.say(CUSTOMER, "My invoice page is blank", "D0CUST")
    store = services.store

    async def card_row():
        rows = await store.outbox_rows()
        return next((row for row in rows if row.kind == OutgoingKind.CARD.value), None)
    for _ in range(200):
        if await card_row() is not None:
            break
        await asyncio.sleep(0.05)
    # The dead dispatcher's claim: a lease of 0 s has run out by the time anyone claims again.
    claimed = await store.claim_outbox(store.clock.now(), lease_seconds=0)
    assert claimed and all(not item.in_doubt for item in claimed), "a first claim is not in doubt"
    return services, await card_row()


def _cards_posted(fake) -> list[dict]:
    return [args for args in fake.of("chat.postMessage") if args.get("channel") == TRIAGE and args.get("blocks")]


async def test_a_card_the_platform_already_has_is_not_posted_again(slack):
    services, row = await _crashed_after_a_customer_wrote(slack)
    # The dead dispatcher had posted the card (with its outbox id, as our posts carry it) but not marked it sent.
    ts = slack.fake.add_message(TRIAGE, "T-000001", metadata={"event_type": "ticketbot_outbox",
                                                             "event_payload": {"outbox_id": row.id}})
    await services.dispatcher.drain()
    assert _cards_posted(slack.fake) == [], "the card is in the channel once: the one posted before the crash"
    lookups = slack.fake.of("conversations.history")
    assert [a["include_all_metadata"] for a in lookups if a["channel"] == TRIAGE] == ["1"], "asked once"
    rows = {r.id: r for r in await services.store.outbox_rows()}
    assert (rows[row.id].status, rows[row.id].message_ref) == ("sent", ts)
    # What the agent sees: the next change updates that very card in place.
    services.dispatcher.start()
    await slack.command(ALICE, "claim T-000001")
    update = await slack.eventually(lambda: [a for a in slack.fake.of("chat.update") if a.get("ts") == ts])
    assert update[0]["channel"] == TRIAGE
    assert _cards_posted(slack.fake) == []


async def test_a_card_the_platform_does_not_have_is_posted_once(slack):
    services, row = await _crashed_after_a_customer_wrote(slack)
    slack.fake.add_message(TRIAGE, "someone else's", metadata={"event_type": "ticketbot_outbox",
                                                              "event_payload": {"outbox_id": row.id + 1000}})
    await services.dispatcher.drain()
    [card] = _cards_posted(slack.fake)
    assert card["metadata"] == {"event_type": "ticketbot_outbox", "event_payload": {"outbox_id": row.id}}
    rows = {r.id: r for r in await services.store.outbox_rows()}
    assert rows[row.id].status == "sent"
    # Its answer to the customer (a text in doubt too) went once, looked up in the DM first.
    assert len([t for t in slack.texts_to("D0CUST") if "T-000001" in t]) == 1
    assert {a["channel"] for a in slack.fake.of("conversations.history")} == {TRIAGE, "D0CUST"}
    await services.dispatcher.drain()
    assert len(_cards_posted(slack.fake)) == 1, "sent is sent: nothing goes again"


async def test_a_message_in_a_thread_is_looked_up_in_that_thread(slack):
    services = slack.client.app[SERVICES]
    await services.dispatcher.stop()
    thread = Conversation(platform=Platform.SLACK, id=TRIAGE, kind=ConversationKind.CHANNEL, thread_id="1700000000.5")
    async with services.store.unit() as uow:
        await uow.enqueue(Outgoing(OutgoingKind.TEXT, thread, text="looking into it", subject=Subject.ticket(1)))
    [item] = await services.store.claim_outbox(services.store.clock.now(), lease_seconds=0)
    ts = slack.fake.add_message(TRIAGE, "looking into it", thread_ts=thread.thread_id, metadata={
        "event_type": "ticketbot_outbox", "event_payload": {"outbox_id": item.id}})
    await services.dispatcher.drain()
    assert slack.fake.of("chat.postMessage") == []
    [lookup] = slack.fake.of("conversations.replies")
    assert (lookup["channel"], lookup["ts"]) == (TRIAGE, thread.thread_id)
    [row] = await services.store.outbox_rows()
    assert (row.status, row.message_ref) == ("sent", ts)


async def test_a_post_that_got_no_answer_is_looked_up_before_it_goes_again(aiohttp_server, store):
    """Slack posted it, but the answer never came (a time-out): the retry finds it instead of doubling it."""
    fake, base_url = await start_fake_slack(aiohttp_server)
    messenger = SlackMessenger(AsyncWebClient(token="xoxb-test", base_url=base_url, timeout=1))
    dispatcher = OutboxDispatcher(store=store, messengers={Platform.SLACK: messenger}, card_kinds={},
                                  clock=store.clock, idle_poll=0.05, base_delay=0.0)
    async with store.unit() as uow:
        await uow.enqueue(Outgoing(OutgoingKind.TEXT, C1, text="hello"))
    fake.answer_delay = 1.5  # the post is stored at once, its answer comes after the client gave up
    await dispatcher.drain(rounds=1)
    fake.answer_delay = 0.0
    [row] = await store.outbox_rows()
    assert row.status == "sending" and row.attempts == 1, "in doubt: neither sent nor plainly failed"
    store.clock.advance(seconds=1)
    await dispatcher.drain()
    assert len([c for c in fake.calls if c.method == "chat.postMessage"]) == 1, "posted once, not again"
    assert [m["text"] for m in fake.messages["C1"]] == ["hello"]
    [row] = await store.outbox_rows()
    assert (row.status, row.message_ref) == ("sent", fake.messages["C1"][0]["ts"])


async def test_marks_are_written_while_a_stream_still_runs(aiohttp_server, store):
    """The window between a send and its mark is tens of milliseconds, not the rest of the stream."""
    fake, base_url = await start_fake_slack(aiohttp_server)
    messenger = SlackMessenger(AsyncWebClient(token="xoxb-test", base_url=base_url))  # ~1 s per channel
    dispatcher = OutboxDispatcher(store=store, messengers={Platform.SLACK: messenger}, card_kinds={},
                                  clock=store.clock)
    async with store.unit() as uow:
        for n in range(3):
            await uow.enqueue(Outgoing(OutgoingKind.TEXT, C1, text=f"m{n}"))
    dispatcher.start()
    try:
        deadline = time.monotonic() + 5
        while not fake.of("chat.postMessage") and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        posted = time.monotonic()
        while time.monotonic() - posted < 0.5:
            rows = await store.outbox_rows()
            if rows[0].status == "sent":
                break
            await asyncio.sleep(0.01)
        marked = time.monotonic() - posted
        assert rows[0].status == "sent" and marked < 0.3, f"marked {marked:.2f} s after its send"
        assert len(fake.of("chat.postMessage")) == 1, "while the stream still waits for its next turn"
    finally:
        await dispatcher.stop()
