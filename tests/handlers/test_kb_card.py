"""Articles around a new ticket, through the router: up to three similar ones on its triage card, each with a Send
button (a reply like any other: the first response, the article on the timeline, the card says sent); the
customer's self-service card (This solved it resolves as deflected, I still need help goes on), answered once, by
press or by number; VIP customers get a person; a card already on its way when the articles are found is redrawn."""

from __future__ import annotations

import asyncio

import pytest

from bot.events import ButtonPressed
from bot.kb import ArticleDraft, ArticleVisibility
from bot.kb_card import OfferAnswer
from storage import kb_text
from tests.harness import Harness


@pytest.fixture(scope="module", autouse=True)
def _segmenter():
    kb_text.warm_up()


async def _published(store, title: str, solution: str, *, public: bool = True) -> None:
    async with store.unit() as uow:
        await uow.kb.add_article(ArticleDraft(
            title=title, solution=solution,
            visibility=ArticleVisibility.PUBLIC if public else ArticleVisibility.INTERNAL), author="lin")


def _self_service(bot, **settings) -> None:
    from bot.kb_config import SelfServiceConfig

    kb = bot.config.kb.model_copy(update={"self_service": SelfServiceConfig(enabled=True, **settings)})
    bot.ctx.config = bot.config = bot.config.model_copy(update={"kb": kb})


def _offers(bot, user: str):
    return [m for m in bot.cards(user) if m.card.subject and m.card.subject.kind == "kb_offer"]


def _field(card, label: str) -> str | None:
    return next((f.value for f in card.fields if f.label == label), None)


async def test_the_triage_card_shows_similar_articles_and_sends_one(store, clock):
    await _published(store, "发票抬头开错了如何重开", "在订单页申请换开发票")
    await _published(store, "发票内部审批", "财务内部流程", public=False)
    bot = Harness(store, clock)
    await bot.say("wang-store", "发票抬头写错了")
    assert not [t for t in bot.texts("triage") if "KB-1" in t], "on the card, not a text beside it"
    [card] = bot.cards("triage")
    similar = _field(card.card, "相似文章")
    assert similar.startswith("KB-1 发票抬头开错了如何重开")
    labels = [c.label for c in card.card.actions]
    assert "发送 KB-1" in labels and labels.index("发送 KB-1") > labels.index("认领")
    assert "这些文章可能有帮助" not in "\n".join(bot.texts("wang-store", visible_to="wang-store")), \
        "self-service is off by default"

    await bot.press("alice", card, "发送 KB-1")
    sent = bot.last_text("wang-store", visible_to="wang-store")
    assert "KB-1" in sent and "在订单页申请换开发票" in sent
    ticket = await bot.ticket(1)
    assert ticket.first_response_at is not None, "sending an article is the first response"
    [reply] = [e for e in await bot.timeline(1) if e.kind == "reply"]
    assert reply.detail == {"article": "KB-1"} and reply.actor == "alice"
    [card] = bot.cards("triage")
    assert "KB-1 发票抬头开错了如何重开（已发送）" in _field(card.card, "相似文章")
    assert "发送 KB-1" not in [c.label for c in card.card.actions], "sent once: its button is gone"


async def test_no_similar_article_no_field_and_a_finished_ticket_drops_them(store, clock):
    await _published(store, "发票抬头开错了如何重开", "在订单页申请换开发票")
    bot = Harness(store, clock)
    await bot.say("wang-store", "打印机卡纸了")
    [card] = bot.cards("triage")
    assert _field(card.card, "相似文章") is None
    await bot.say("acme-buyer", "发票抬头写错了")
    card = bot.cards("triage")[-1]
    assert _field(card.card, "相似文章")
    await bot.say("alice", "/ticket resolve T-000002 已换开", bot.channel())
    card = bot.cards("triage")[-1]
    assert _field(card.card, "相似文章") is None and not [c for c in card.card.actions if "KB-1" in c.label]


async def test_a_card_already_on_its_way_is_redrawn_with_the_articles(store, clock):
    """The dispatcher draws the triage card while the search runs: the refresh waits for the post to land."""
    await _published(store, "发票抬头开错了如何重开", "在订单页申请换开发票")
    bot = Harness(store, clock)
    posting, release = asyncio.Event(), asyncio.Event()
    original = bot.messenger.post

    async def slow_post(target, **kw):
        if target.id == "triage" and not release.is_set():
            posting.set()
            await release.wait()
        return await original(target, **kw)
    bot.messenger.post = slow_post
    from handlers import kb_intake

    real = kb_intake._suggest_to_agents

    async def late_suggestions(turn, ticket):
        drawing = asyncio.create_task(bot.dispatcher.drain())
        await posting.wait()  # the card is drawn (without articles) and on its way
        await real(turn, ticket)
        release.set()
        await drawing
    kb_intake._suggest_to_agents = late_suggestions
    try:
        await bot.say("wang-store", "发票抬头写错了")
    finally:
        kb_intake._suggest_to_agents = real
    await bot.dispatcher.drain()
    [card] = bot.cards("triage")
    assert card.updates >= 1 and _field(card.card, "相似文章").startswith("KB-1")


async def test_self_service_solved_press_resolves_the_ticket_as_deflected(store, clock):
    await _published(store, "发票抬头开错了如何重开", "在订单页申请换开发票")
    await _published(store, "发票内部审批", "财务内部流程", public=False)
    bot = Harness(store, clock)
    _self_service(bot)
    await bot.say("wang-store", "发票抬头写错了")
    [offer] = _offers(bot, "wang-store")
    assert offer.card.title == "这些文章可能有帮助"
    assert offer.card.fields[0].label == "1. KB-1 发票抬头开错了如何重开"
    assert offer.card.fields[0].value == "在订单页申请换开发票"
    assert "KB-2" not in str(offer.card), "internal articles are never offered to customers"
    assert [c.label for c in offer.card.actions] == ["已解决", "转人工"]
    assert _field(offer.card, "或直接回复数字") == "1 = 已解决，2 = 转人工"

    await bot.press("wang-store", offer, "已解决")
    ticket = await bot.ticket(1)
    assert ticket.status.value == "resolved"
    [resolved] = [e for e in await bot.timeline(1) if e.kind == "status" and e.after == "resolved"]
    assert resolved.detail == {"deflected": "KB-1"} and resolved.actor == "kb"
    [offer] = _offers(bot, "wang-store")
    assert not offer.card.actions and "T-000001" in offer.card.fields[0].value, "the card says it helped, no more buttons"
    async with store.snapshot() as view:
        assert (await view.kb.get_article(1)).helpful == 1
        assert (await view.kb_offers().of_ticket(1)).answer is OfferAnswer.SOLVED

    await bot.router.receive(ButtonPressed(delivery_id="again", actor=bot.actor("wang-store"),
                                           conversation=offer.target, action="tb:kb_offer:help:1:1",
                                           message_ref=offer.ref))
    await bot.dispatcher.drain()
    assert "已经回答过" in bot.last_text("wang-store", visible_to="wang-store")
    async with store.snapshot() as view:
        assert (await view.kb.get_article(1)).not_helpful == 0, "a second answer changes nothing"


async def test_self_service_typed_solved_and_still_need_help(store, clock):
    await _published(store, "发票抬头开错了如何重开", "在订单页申请换开发票")
    bot = Harness(store, clock)
    _self_service(bot)
    await bot.say("wang-store", "发票抬头写错了")
    await bot.say("wang-store", "已解决")
    assert (await bot.ticket(1)).status.value == "resolved"

    [resolved] = [e for e in await bot.timeline(1) if e.kind == "status" and e.after == "resolved"]
    assert resolved.detail == {"deflected": "KB-1"}
    assert "T-000001" in bot.last_text("wang-store", visible_to="wang-store"), "told in words: the resolution"

    await bot.say("acme-buyer", "发票抬头写错了")
    assert not _offers(bot, "acme-buyer"), "VIP customers are answered by a person"


async def test_still_need_help_press_goes_on_with_the_articles_noted(store, clock):
    await _published(store, "发票抬头开错了如何重开", "在订单页申请换开发票")
    bot = Harness(store, clock)
    _self_service(bot)
    await bot.say("wang-store", "发票抬头写错了")
    [offer] = _offers(bot, "wang-store")
    await bot.press("alice", offer, "转人工")
    assert bot.last_text("wang-store", visible_to="alice") == "That choice is not valid.", "only its customer"
    await bot.press("wang-store", offer, "转人工")
    ticket = await bot.ticket(1)
    assert ticket.status.value not in ("resolved", "closed")
    noted = [e for e in await bot.timeline(1) if e.kind == "kb_offer"]
    assert [e.detail for e in noted] == [{"kb_offer": "KB-1"}, {"kb_offer": "KB-1", "answer": "help"}]
    [offer] = _offers(bot, "wang-store")
    assert not offer.card.actions and "T-000001" in offer.card.fields[0].value
    async with store.snapshot() as view:
        assert (await view.kb.get_article(1)).not_helpful == 1
    await bot.say("wang-store", "1")
    assert (await bot.ticket(1)).status.value not in ("resolved", "closed"), "answered already: a plain message"


async def test_typed_still_need_help_is_answered_in_words(store, clock):
    await _published(store, "发票抬头开错了如何重开", "在订单页申请换开发票")
    bot = Harness(store, clock)
    _self_service(bot)
    await bot.say("wang-store", "发票抬头写错了")
    await bot.say("wang-store", "2")
    assert "T-000001" in bot.last_text("wang-store", visible_to="wang-store")
    kinds = [e.kind for e in await bot.timeline(1)]
    assert kinds[-1] == "kb_offer" and "customer_message" not in kinds, "the answer, not a message on the ticket"
