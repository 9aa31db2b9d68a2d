"""Every Slack message within Slack's limits, through the real app or dispatcher, the real slack-sdk client and a
local fake Web API: a long text arrives as several posts, in order; an answer Slack will never accept is given up
at once; a long text in doubt after some of its parts sends only the rest."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.cli import main
from bot.events import Conversation, ConversationKind, Platform
from bot.platforms.slack_messenger import TEXT_LIMIT, SlackMessenger
from bot.ports import Outgoing, OutgoingKind, Pacing
from schedules.outbox import OutboxDispatcher
from tests.harness import long_text
from tests.platforms.fake_slack import start_fake_slack

CUSTOMER, ALICE = "U0CUST", "U0ALICE"
DM = Conversation(platform=Platform.SLACK, id="D0CUST", kind=ConversationKind.DM)


def _posts(fake, channel: str) -> list[dict]:
    return [call.args for call in fake.calls if call.method == "chat.postMessage" and call.status == 200
            and call.args.get("channel") == channel]


async def _dispatcher(aiohttp_server, store, **client):
    fake, base_url = await start_fake_slack(aiohttp_server)
    messenger = SlackMessenger(AsyncWebClient(token="xoxb-test", base_url=base_url, **client))
    messenger.pacing = Pacing()  # the channel's pace is tested on its own
    dispatcher = OutboxDispatcher(store=store, messengers={Platform.SLACK: messenger}, card_kinds={},
                                  clock=store.clock, idle_poll=0.05, base_delay=0.0)
    return fake, dispatcher


async def test_a_long_answer_reaches_the_customers_dm_as_several_messages_in_order(slack):
    answer = long_text()
    await slack.say(CUSTOMER, "打印机坏了", "D0CUST")
    card = (await slack.eventually(slack.triage_cards))[0]
    await slack.say(ALICE, "回复：" + answer, "C0TRIAGE", thread_ts=card["ts"])

    def the_answer() -> list[dict]:
        posts = _posts(slack.fake, "D0CUST")
        start = next((i for i, post in enumerate(posts) if post["text"].startswith("[T-000001]")), None)
        return posts[start:] if start is not None and posts[-1]["text"].endswith(answer[-40:]) else []
    posted = await slack.eventually(the_answer, timeout=20)
    texts = [post["text"] for post in posted]
    assert len(texts) >= 6 and all(len(text) <= TEXT_LIMIT for text in texts), [len(t) for t in texts]
    whole = "\n".join(texts)
    assert whole.startswith("[T-000001] ") and whole.endswith(answer), "nothing lost, nothing reordered"
    assert len(whole) - len(answer) < 40, "only the name before it"
    parts = [post["metadata"]["event_payload"] for post in posted]
    assert [(p["part"], p["parts"]) for p in parts] == [(n, len(texts)) for n in range(1, len(texts) + 1)]
    assert len({p["outbox_id"] for p in parts}) == 1, "one outbox row, each part tagged with it"


@pytest.mark.parametrize("error", ["msg_too_long", "invalid_blocks", "invalid_arguments"])
async def test_an_answer_slack_will_never_take_is_given_up_at_once(error, aiohttp_server, store, database_url,
                                                                   monkeypatch, capsys):
    fake, dispatcher = await _dispatcher(aiohttp_server, store)
    fake.fail_next("chat.postMessage", 200, {"ok": False, "error": error})
    async with store.unit() as uow:
        await uow.enqueue(Outgoing(OutgoingKind.TEXT, DM, text="an answer"))
    await dispatcher.drain()
    store.clock.advance(seconds=600)  # long past any backoff: a retry would have gone by now
    await dispatcher.drain()
    [row] = await store.outbox_rows()
    assert (row.status, row.attempts) == ("dead", 1), "given up at its first answer, not retried for hours"
    assert len([c for c in fake.calls if c.method == "chat.postMessage"]) == 1
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert await asyncio.to_thread(main, ["outbox", "status"]) == 0
    shown = capsys.readouterr().out
    assert "1 given up" in shown and f"slack {error}" in shown, shown


def _three_parts() -> str:
    line = "这一行很长 a long line " * 20
    return "\n".join(f"{n:03d} {line}" for n in range(int(TEXT_LIMIT * 2.5 / len(line))))


async def test_a_long_text_in_doubt_after_two_of_its_three_parts_sends_only_the_third(aiohttp_server, store):
    """Part 2 reached Slack but its answer never came (a time-out): the retry looks up the parts, posts part 3."""
    fake, dispatcher = await _dispatcher(aiohttp_server, store, timeout=1)
    text = _three_parts()
    async with store.unit() as uow:
        await uow.enqueue(Outgoing(OutgoingKind.TEXT, DM, text=text))
    fake.slow[("chat.postMessage", 2)] = 1.5  # stored at once, answered after the client gave up
    await dispatcher.drain(rounds=1)
    [row] = await store.outbox_rows()
    assert row.status == "sending" and row.attempts == 1, "in doubt: neither sent nor plainly failed"
    assert len(fake.messages["D0CUST"]) == 2
    store.clock.advance(seconds=1)
    await dispatcher.drain()
    posts = [c for c in fake.calls if c.method == "chat.postMessage"]
    assert len(posts) == 3, "parts 1 and 2 were found in the channel: only part 3 went again"
    history = fake.messages["D0CUST"]
    assert "\n".join(m["text"] for m in history) == text, "the customer reads it whole, once, in order"
    assert [m["metadata"]["event_payload"]["part"] for m in history] == [1, 2, 3]
    [row] = await store.outbox_rows()
    assert (row.status, row.message_ref) == ("sent", history[0]["ts"])


async def test_a_rate_limit_between_parts_postpones_the_rest_without_repeating_the_first(aiohttp_server, store):
    fake, dispatcher = await _dispatcher(aiohttp_server, store)
    text = _three_parts()
    async with store.unit() as uow:
        await uow.enqueue(Outgoing(OutgoingKind.TEXT, DM, text=text))
    # Slack's burst limit answers the second post of the burst: 429, Retry-After 1 s.
    fake.fail_at[("chat.postMessage", 2)] = (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
    await dispatcher.drain(rounds=1)
    [row] = await store.outbox_rows()
    assert (row.status, row.attempts) == ("sending", 0), "postponed (not failed), in doubt: part 1 is out"
    assert len(fake.messages["D0CUST"]) == 1
    store.clock.advance(seconds=2)
    await dispatcher.drain()
    history = fake.messages["D0CUST"]
    assert "\n".join(m["text"] for m in history) == text, "part 1 once, then parts 2 and 3"
    [row] = await store.outbox_rows()
    assert row.status == "sent"
