"""The deflection rate in the managers' figures over hand-built tickets and offers: of the new tickets of the period,
those whose customer answered "This solved it" to the articles offered, worked out here by hand; the scope filters it,
an offer outside the period does not count, and the figure reaches the json, the stats card and the digest rows."""

from __future__ import annotations

from bot.events import Platform
from bot.i18n import translator
from bot.kb import ArticleDraft, ArticleVisibility
from bot.kb_card import Offer, OfferAnswer
from bot.kpis import Scope, as_json
from bot.tickets import Priority
from cards.digest import Figures, rows
from tests.storage.test_kpis import FORTNIGHT, NOW, Story, sh


async def _offer(store, ticket, at, answer=None) -> None:
    async with store.unit() as uow:
        offer = await uow.kb_offers().add(Offer(ticket_id=ticket.id, article_ids=(1,), requester_platform=Platform.SLACK,
                                                requester_user_id="U1", language="zh-CN", offered_at=at))
        if answer is not None:
            assert await uow.kb_offers().answer(offer.id, answer, at)
            assert not await uow.kb_offers().answer(offer.id, OfferAnswer.HELP, at), "answered once"


async def test_deflection_rate_is_the_one_worked_out_by_hand(store):
    async with store.unit() as uow:
        await uow.kb.add_article(ArticleDraft(title="发票", solution="换开", visibility=ArticleVisibility.PUBLIC),
                                 author="lin")
    alice = [await Story(sh(16 + i, 10), Priority.P2).save(store) for i in range(5)]
    bob = await Story(sh(17, 10), Priority.P2, assignee="bob").save(store)
    # Offers in the fortnight: alice's 0 and 1 solved, 2 still need help, 3 unanswered; bob's solved.
    await _offer(store, alice[0], sh(16, 10), OfferAnswer.SOLVED)
    await _offer(store, alice[1], sh(17, 10), OfferAnswer.SOLVED)
    await _offer(store, alice[2], sh(18, 10), OfferAnswer.HELP)
    await _offer(store, alice[3], sh(19, 10))
    await _offer(store, bob, sh(17, 10), OfferAnswer.SOLVED)
    before = await Story(sh(1, 10), Priority.P2).save(store)  # before the fortnight: neither new nor offered in it
    await _offer(store, before, sh(1, 10), OfferAnswer.SOLVED)

    async with store.snapshot() as reads:
        report = await reads.kpis().report(FORTNIGHT, Scope(), NOW)
        only_bob = await reads.kpis().report(FORTNIGHT, Scope(agent="bob"), NOW)
    # 6 new tickets, 3 of them deflected = 50.0 %; 5 offered.
    assert (report.new, report.deflection.part, report.deflection.whole, report.offered) == (6, 3, 6, 5)
    figures = as_json(report)
    assert (figures["deflection_pct"], figures["deflected"], figures["offered"]) == (50.0, 3, 5)
    assert (only_bob.deflection.part, only_bob.deflection.whole, only_bob.offered) == (1, 1, 1)

    zh = dict(rows(Figures(report), translator("zh-CN")))
    en = dict(rows(Figures(report), translator("en")))
    assert zh["自助解决率"] == "50.0% (3/6) · 推荐文章 5 次"
    assert en["Deflection rate"] == "50.0% (3/6) · 5 offered"
