"""WeCom sending through the outbox: per-member pacing (WeCom drops more than 30 a minute) and one update per card
per round, against the local fake WeCom API."""

from __future__ import annotations

from bot.events import Conversation, ConversationKind, Platform
from bot.ports import Outgoing, OutgoingKind
from bot.subjects import Subject
from tests.platforms.wecom_world import FakeWeCom

LI = Conversation(platform=Platform.WECOM, id="liming", kind=ConversationKind.DM)


def texts_to_li(fake: FakeWeCom) -> list[str]:
    return [body["text"]["content"] for path, _q, body in fake.calls
            if path == "message/send" and body.get("touser") == "liming" and body["msgtype"] == "text"]


async def test_more_than_thirty_a_minute_to_one_member_wait_for_the_window_in_order(wecom_bot, store, clock):
    bot, fake = wecom_bot
    async with store.unit() as uow:
        for n in range(32):
            await uow.enqueue(Outgoing(OutgoingKind.TEXT, LI, text=f"n{n}"))
    await bot.dispatcher.drain()
    assert texts_to_li(fake) == [f"n{n}" for n in range(30)], "WeCom would silently drop the 31st"
    waiting = [row for row in await store.outbox_rows() if row.status == "pending"]
    assert [(row.text, row.attempts) for row in waiting] == [("n30", 0), ("n31", 0)], "postponed, not failed"
    clock.advance(seconds=50)
    await bot.dispatcher.drain()
    assert len(texts_to_li(fake)) == 30
    clock.advance(seconds=11)
    await bot.dispatcher.drain()
    assert texts_to_li(fake) == [f"n{n}" for n in range(32)]


async def test_other_members_are_not_held_up_by_a_paced_one(wecom_bot, store, clock):
    bot, fake = wecom_bot
    alice = Conversation(platform=Platform.WECOM, id="alice.wang", kind=ConversationKind.DM)
    async with store.unit() as uow:
        for n in range(31):
            await uow.enqueue(Outgoing(OutgoingKind.TEXT, LI, text=f"n{n}"))
        await uow.enqueue(Outgoing(OutgoingKind.TEXT, alice, text="for alice"))
    await bot.dispatcher.drain()
    assert any(body.get("touser") == "alice.wang" for path, _q, body in fake.calls if path == "message/send")
    assert len(texts_to_li(fake)) == 30


async def test_repeated_updates_of_one_card_go_out_once(wecom_bot, store, clock):
    bot, fake = wecom_bot
    await bot.say("wang-store", "页面打不开")  # T-000001, opened on the console
    async with store.unit() as uow:
        await uow.enqueue(Outgoing(OutgoingKind.CARD, LI, subject=Subject.ticket(1), language="zh-CN"))
    await bot.dispatcher.drain()
    async with store.unit() as uow:
        [placement] = [p for p in await uow.placements(Subject.ticket(1)) if p.target.platform is Platform.WECOM]
        for _ in range(3):  # three quick changes, each asking for the card to be refreshed
            await uow.enqueue(Outgoing(OutgoingKind.CARD_UPDATE, LI, subject=Subject.ticket(1), placement_id=placement.id,
                                       language="zh-CN"))
    await bot.dispatcher.drain()
    paths = [path for path, _q, body in fake.calls if path.startswith("message/")]
    assert paths == ["message/send", "message/update_template_card"], "one update, no fresh card"
    assert {row.status for row in await store.outbox_rows()} == {"sent"}


async def test_a_cards_picture_is_uploaded_and_follows_the_card_as_an_image_message(wecom_bot):
    from cards.model import Card, Image
    from tests.fakes import TINY_PNG

    bot, fake = wecom_bot
    messenger = bot.dispatcher.messengers[Platform.WECOM]
    media_id = await messenger.upload_image(LI, Image(alt="open tickets per day", data=TINY_PNG, filename="week.png"))
    assert fake.media[media_id] == ("image", "week.png", TINY_PNG)
    await messenger.post(LI, card=Card(title="Weekly digest", image=Image(alt="chart", ref=media_id)))
    sent = [body for path, _q, body in fake.calls if path == "message/send"]
    assert [b["msgtype"] for b in sent] == ["template_card", "image"], "template_card takes only URLs"
    assert sent[1] == {"touser": "liming", "msgtype": "image", "agentid": 218, "image": {"media_id": media_id}}
    group = Conversation(platform=Platform.WECOM, id="wrGroupChat", kind=ConversationKind.GROUP)
    await messenger.post(group, card=Card(title="Weekly digest", image=Image(alt="chart", ref=media_id)))
    to_group = [body for path, _q, body in fake.calls if path == "appchat/send"]
    assert [b["msgtype"] for b in to_group] == ["text", "image"] and to_group[1]["image"] == {"media_id": media_id}
