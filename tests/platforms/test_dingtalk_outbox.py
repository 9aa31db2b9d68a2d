"""DingTalk sending through the outbox against the fake OpenAPI: a member DingTalk holds back (flow control) is
sent to later and not lost, chats are paced without spending attempts, the token is refreshed when refused, a
card's picture is uploaded, a long text goes in parts."""

from __future__ import annotations

import json

from bot.events import Conversation, ConversationKind, Platform
from bot.ports import Outgoing, OutgoingKind
from cards.model import Card, Image
from tests.fakes import TINY_PNG
from tests.harness import long_text

LI = Conversation(platform=Platform.DINGTALK, id="staff-liming", kind=ConversationKind.DM)
GROUP = Conversation(platform=Platform.DINGTALK, id="cidSupportGroup==", kind=ConversationKind.GROUP)


async def enqueue(store, *messages: Outgoing) -> None:
    async with store.unit() as uow:
        for message in messages:
            await uow.enqueue(message)


async def test_a_member_held_back_by_flow_control_gets_the_message_later_without_spending_attempts(
        dingtalk_bot, store, clock):
    bot, fake = dingtalk_bot
    fake.flow_controlled["staff-liming"] = 1
    await enqueue(store, Outgoing(OutgoingKind.TEXT, LI, text="您的工单已更新"))
    await bot.dispatcher.drain()
    [row] = await store.outbox_rows()
    assert (row.status, row.attempts) == ("pending", 0), "postponed, not failed"
    clock.advance(seconds=61)
    await bot.dispatcher.drain()
    batches = [b for m, p, b in fake.calls if p == "robot/oToMessages/batchSend"]
    assert [b["_held"] for b in batches] == [["staff-liming"], []], "held back once, then sent"
    assert fake.texts_to_user("staff-liming") == ["您的工单已更新"]
    assert [row.status for row in await store.outbox_rows()] == ["sent"]


async def test_more_than_twenty_a_minute_to_one_chat_wait_for_the_window_in_order(dingtalk_bot, store, clock):
    bot, fake = dingtalk_bot
    await enqueue(store, *[Outgoing(OutgoingKind.TEXT, GROUP, text=f"n{n}") for n in range(22)])
    await bot.dispatcher.drain()
    assert fake.texts_to_group(GROUP.id) == [f"n{n}" for n in range(20)]
    assert all(row.attempts == 0 for row in await store.outbox_rows())
    clock.advance(seconds=61)
    await bot.dispatcher.drain()
    assert fake.texts_to_group(GROUP.id) == [f"n{n}" for n in range(22)]


async def test_a_refused_token_is_fetched_again_once(dingtalk_bot, store):
    bot, fake = dingtalk_bot
    fake.errors.append((401, {"code": "InvalidAuthentication", "message": "token expired"}))
    await enqueue(store, Outgoing(OutgoingKind.TEXT, GROUP, text="hello"))
    await bot.dispatcher.drain()
    assert fake.texts_to_group(GROUP.id) == ["hello"]
    tokens = [b["_token"] for m, p, b in fake.calls if p == "robot/groupMessages/send"]
    assert tokens == ["TOKEN1", "TOKEN2"]


async def test_a_bad_parameter_is_given_up_at_once_and_a_server_error_retried(dingtalk_bot, store):
    bot, fake = dingtalk_bot
    fake.errors += [(400, {"code": "invalidParameter.openConversationId", "message": "no such group"}),
                    (503, {"code": "ServiceUnavailable", "message": "busy"})]
    await enqueue(store, Outgoing(OutgoingKind.TEXT, GROUP, text="first"),
                  Outgoing(OutgoingKind.TEXT, LI, text="second"))
    await bot.dispatcher.drain()
    rows = {row.text: row for row in await store.outbox_rows()}
    assert rows["first"].status == "dead" and "invalidParameter" in rows["first"].last_error
    assert (rows["second"].status, rows["second"].attempts) == ("pending", 1)


async def test_the_session_webhook_is_used_while_valid_and_its_throttle_postpones(dingtalk_bot, store, clock):
    bot, fake = dingtalk_bot
    messenger = bot.dispatcher.messengers[Platform.DINGTALK]
    expires = int(clock.now().timestamp() * 1000) + 90 * 60_000
    await messenger.sessions.remember(GROUP.id, fake.webhook("support"), expires)
    fake.hook_errors.append({"errcode": 130101, "errmsg": "send too fast"})
    await enqueue(store, Outgoing(OutgoingKind.TEXT, GROUP, text="hello"))
    await bot.dispatcher.drain()
    [row] = await store.outbox_rows()
    assert (row.status, row.attempts) == ("pending", 0)
    clock.advance(seconds=61)
    await bot.dispatcher.drain()
    assert fake.hook_texts("support") == ["hello"] and fake.texts_to_group(GROUP.id) == []
    clock.advance(seconds=90 * 60)  # the webhook has expired: the OpenAPI takes over
    await enqueue(store, Outgoing(OutgoingKind.TEXT, GROUP, text="later"))
    await bot.dispatcher.drain()
    assert fake.texts_to_group(GROUP.id) == ["later"]


async def test_a_long_text_goes_in_parts_in_order(dingtalk_bot, store):
    bot, fake = dingtalk_bot
    text = long_text(12_000)
    await enqueue(store, Outgoing(OutgoingKind.TEXT, GROUP, text=text))
    await bot.dispatcher.drain()
    parts = fake.texts_to_group(GROUP.id)
    assert len(parts) > 1 and "\n".join(parts) == text
    assert all(len(json.dumps({"content": p}, ensure_ascii=False).encode()) < 15_000 for p in parts)


async def test_a_cards_picture_is_uploaded_and_shown_on_the_card(dingtalk_bot):
    bot, fake = dingtalk_bot
    messenger = bot.dispatcher.messengers[Platform.DINGTALK]
    media_id = await messenger.upload_image(GROUP, Image(alt="open tickets per day", data=TINY_PNG))
    assert fake.media[media_id] == TINY_PNG
    [upload] = [b for m, p, b in fake.calls if p == "media/upload"]
    assert upload["type"] == "image" and upload["access_token"] == "TOKEN1"
    await messenger.post(GROUP, card=Card(title="Weekly digest", image=Image(alt="chart", ref=media_id)))
    [card] = fake.cards_in(GROUP.id)
    assert {"type": "image", "image": media_id, "id": "image"} in card["data"]["contents"]
