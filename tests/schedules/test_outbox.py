"""The outbox dispatcher through the real Slack client and a local fake Slack: pacing, fairness, urgency, 429s."""

from __future__ import annotations

import asyncio
import time

from slack_sdk.web.async_client import AsyncWebClient

from bot.events import Conversation, ConversationKind, Platform
from bot.platforms.slack import SlackMessenger
from bot.ports import Outgoing, OutgoingKind, Pacing, SystemClock, Urgency
from schedules.outbox import OutboxDispatcher
from storage.db import create_engine
from storage.store import SqlStore
from tests.platforms.fake_slack import start_fake_slack


def _dm(n: int) -> Conversation:
    return Conversation(platform=Platform.SLACK, id=f"D{n:03d}", kind=ConversationKind.DM)


CHANNEL = Conversation(platform=Platform.SLACK, id="C0TRIAGE", kind=ConversationKind.CHANNEL)


async def _bot(aiohttp_server, store):
    fake, base_url = await start_fake_slack(aiohttp_server)
    messenger = SlackMessenger(AsyncWebClient(token="xoxb-test", base_url=base_url))
    dispatcher = OutboxDispatcher(store=store, messengers={Platform.SLACK: messenger}, card_kinds={},
                                  clock=store.clock, idle_poll=0.05)
    return fake, dispatcher


async def _enqueue(store, *messages: Outgoing) -> None:
    async with store.unit() as uow:
        for message in messages:
            await uow.enqueue(message)


def _posted(fake) -> list:
    return [call for call in fake.calls if call.method == "chat.postMessage" and call.status == 200]


async def test_one_slow_conversation_does_not_hold_up_the_others(aiohttp_server, store):
    fake, dispatcher = await _bot(aiohttp_server, store)
    fake.latency = 0.02  # every API call takes 20 ms, as a real network would
    # Three messages to the triage channel (Slack: about one a second there), then 25 customers' answers.
    await _enqueue(store, *[Outgoing(OutgoingKind.TEXT, CHANNEL, text=f"card {n}") for n in range(3)],
                   *[Outgoing(OutgoingKind.TEXT, _dm(n), text=f"answer {n}") for n in range(25)])
    started = time.monotonic()
    await dispatcher.drain()
    calls = _posted(fake)
    answers = [c.at - started for c in calls if c.args["channel"].startswith("D")]
    channel = [c.at - started for c in calls if c.args["channel"] == "C0TRIAGE"]
    assert len(answers) == 25 and max(answers) < 1.0, f"all 25 answers within a second, not one a second: {answers}"
    assert [c.args["text"] for c in calls if c.args["channel"] == "C0TRIAGE"] == ["card 0", "card 1", "card 2"]
    assert all(later - earlier >= 0.95 for earlier, later in zip(channel, channel[1:], strict=False)), channel


async def test_a_backlog_sends_answers_to_people_before_reminders(aiohttp_server, store):
    fake, dispatcher = await _bot(aiohttp_server, store)
    # One send at a time: the order is the dispatcher's alone.
    dispatcher.messengers[Platform.SLACK].pacing = Pacing(per_conversation=1.0, in_flight=1)
    await _enqueue(store, *[Outgoing(OutgoingKind.TEXT, _dm(n), text=f"reminder {n}", urgency=Urgency.NOTICE)
                            for n in range(30)])
    await _enqueue(store, Outgoing(OutgoingKind.TEXT, _dm(99), text="your answer"))
    await dispatcher.drain()
    texts = [c.args["text"] for c in _posted(fake)]
    assert texts[0] == "your answer", "the customer's answer is not stuck behind 30 reminders"
    assert sorted(texts[1:]) == sorted(f"reminder {n}" for n in range(30))


async def test_notices_queued_for_one_dm_go_out_as_one_message_and_answers_stay_their_own(aiohttp_server, store):
    fake, dispatcher = await _bot(aiohttp_server, store)
    dm = _dm(1)
    # An agent's DM, paced at one message a second, gets a wave of "assigned to you" notices with one answer among.
    await _enqueue(store, *[Outgoing(OutgoingKind.TEXT, dm, text=f"T-{n} assigned to you", urgency=Urgency.NOTICE)
                            for n in range(6)],
                   Outgoing(OutgoingKind.TEXT, dm, text="your answer"),
                   *[Outgoing(OutgoingKind.TEXT, dm, text=f"T-{n} assigned to you", urgency=Urgency.NOTICE)
                     for n in range(6, 12)])
    await dispatcher.drain()
    texts = [c.args["text"] for c in _posted(fake) if c.args["channel"] == dm.id]
    assert "your answer" in texts, "an answer is never folded into notices"
    lines = [line for text in texts for line in text.split("\n")]
    assert lines[:6] == [f"T-{n} assigned to you" for n in range(6)] and lines[6] == "your answer"
    assert lines[7:] == [f"T-{n} assigned to you" for n in range(6, 12)], "every notice once, in order"
    assert texts[0].count("\n") == 5, "the six notices before the answer are one message"
    assert len(texts) <= 4, f"13 rows in {len(texts)} messages (one a second each before): {texts}"
    rows = await store.outbox_rows()
    assert {r.status for r in rows} == {"sent"}, "the folded rows are marked sent too"


async def test_a_storm_of_429s_postpones_without_losing_or_reordering(aiohttp_server, database_url):
    store = SqlStore(create_engine(database_url), SystemClock())  # Retry-After is real time
    try:
        fake, dispatcher = await _bot(aiohttp_server, store)
        fake.rate_limited_until = time.monotonic() + 2.5  # Slack answers 429 Retry-After: 1 for 2.5 s
        await _enqueue(store, *[Outgoing(OutgoingKind.TEXT, _dm(n % 10), text=f"m{n}") for n in range(30)])
        dispatcher.start()
        deadline = time.monotonic() + 20
        while len(_posted(fake)) < 30 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await dispatcher.stop()
        assert sum(1 for c in fake.calls if c.status == 429) >= 10, "the storm really happened"
        rows = await store.outbox_rows()
        assert [(r.status, r.attempts) for r in rows] == [("sent", 0)] * 30, "postponed, never failed, none dead"
        for n in range(10):
            mine = [c.args["text"] for c in _posted(fake) if c.args["channel"] == _dm(n).id]
            assert mine == [f"m{k}" for k in range(30) if k % 10 == n], "each conversation in order"
    finally:
        await store.close()


async def test_given_up_messages_are_counted_on_metrics_and_can_be_sent_again(aiohttp_server, aiohttp_client,
                                                                              database_url, store, monkeypatch):
    from bot.app import SERVICES, build_app
    from bot.config import Settings, load_config
    from tests.harness import EXAMPLE_CONFIG

    fake, dispatcher = await _bot(aiohttp_server, store)
    fake.fail_next("chat.postMessage", 200, {"ok": False, "error": "channel_not_found"})  # permanent
    await _enqueue(store, Outgoing(OutgoingKind.TEXT, _dm(1), text="lost?"))
    await dispatcher.drain()
    assert (await store.outbox_backlog()).get("dead") == 1
    monkeypatch.setenv("DATABASE_URL", database_url)
    app = await build_app(Settings(), config=load_config(EXAMPLE_CONFIG), background=False)
    client = await aiohttp_client(app)
    text = await (await client.get("/metrics")).text()
    assert "ticketbot_outbox_dead_rows 1.0" in text
    assert 'ticketbot_outbox_given_up_total{platform="slack"}' in text
    tried = len(_posted(fake))
    assert await app[SERVICES].store.outbox_retry_dead(store.clock.now()) == 1
    await dispatcher.drain()
    assert [c.args["text"] for c in _posted(fake)[tried:]] == ["lost?"], "sent again, once"
    assert "ticketbot_outbox_dead_rows 0.0" in await (await client.get("/metrics")).text()
