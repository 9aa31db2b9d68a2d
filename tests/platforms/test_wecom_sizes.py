"""Every WeCom message within WeCom's limits (it counts UTF-8 bytes: a Chinese character is three), through the
real dispatcher and messenger against the local fake WeCom API: a long text arrives in parts of at most 2,048
bytes, in order; content WeCom will never take is given up at once."""

from __future__ import annotations

from bot.events import Conversation, ConversationKind, Platform
from bot.ports import Outgoing, OutgoingKind
from tests.harness import long_text

LI = Conversation(platform=Platform.WECOM, id="liming", kind=ConversationKind.DM)
GROUP = Conversation(platform=Platform.WECOM, id="wrGroupChat", kind=ConversationKind.GROUP)


def _texts(fake, path: str, **to) -> list[str]:
    return [body["text"]["content"] for p, _q, body in fake.calls if p == path and body.get("msgtype") == "text"
            and all(body.get(key) == value for key, value in to.items())]


async def test_a_long_answer_to_a_member_arrives_in_parts_of_at_most_2048_bytes_in_order(wecom_bot, store):
    bot, fake = wecom_bot
    answer = long_text()
    async with store.unit() as uow:
        await uow.enqueue(Outgoing(OutgoingKind.TEXT, LI, text=answer))
    await bot.dispatcher.drain()
    parts = _texts(fake, "message/send", touser="liming")
    assert len(parts) > 1 and all(len(part.encode("utf-8")) <= 2048 for part in parts), \
        [len(p.encode()) for p in parts]
    assert "\n".join(parts) == answer, "nothing lost, nothing reordered, no character cut in two"
    assert [row.status for row in await store.outbox_rows()] == ["sent"]


async def test_a_long_text_to_an_app_group_chat_arrives_in_parts_too(wecom_bot, store):
    bot, fake = wecom_bot
    answer = long_text(8_000)
    async with store.unit() as uow:
        await uow.enqueue(Outgoing(OutgoingKind.TEXT, GROUP, text=answer))
    await bot.dispatcher.drain()
    parts = _texts(fake, "appchat/send", chatid="wrGroupChat")
    assert len(parts) > 1 and all(len(part.encode("utf-8")) <= 2048 for part in parts)
    assert "\n".join(parts) == answer


async def test_content_wecom_will_never_take_is_given_up_at_once(wecom_bot, store, clock):
    bot, fake = wecom_bot
    fake.errors_for[("message/send", "liming")] = [45002]  # content size out of limit
    async with store.unit() as uow:
        await uow.enqueue(Outgoing(OutgoingKind.TEXT, LI, text="an answer"))
    await bot.dispatcher.drain()
    clock.advance(seconds=600)  # long past any backoff: a retry would have gone by now
    await bot.dispatcher.drain()
    [row] = await store.outbox_rows()
    assert (row.status, row.attempts) == ("dead", 1) and "45002" in row.last_error
    assert len([p for p, _q, body in fake.calls if p == "message/send"]) == 1, "not tried again"
