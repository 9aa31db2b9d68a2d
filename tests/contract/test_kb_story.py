"""The knowledge base around a new ticket, the same on every platform (console, Slack, WeCom, DingTalk):

- the triage card shows a similar article with Send; pressed, the customer receives it where they wrote, and it is
  the ticket's first response, the article on its timeline;
- self-service: the customer's offer card — This solved it resolves the ticket as deflected and the deflection KPI
  counts it; I still need help lets the ticket go on to the team. Where the customer cannot press (a DingTalk
  outsider gets markdown) they type the number the card names.
"""

from __future__ import annotations

import pytest

from bot.app import SERVICES
from bot.kb import ArticleDraft, ArticleVisibility
from bot.kb_config import SelfServiceConfig
from bot.kpis import Scope, as_json, parse_period
from tests.contract.drivers import (
    CustomerCards,
    DingTalkDriver,
    contains,
    eventually,
    having,
    settled,
)

QUESTION = "发票抬头写错了，能重新开吗"


TITLE = "这些文章可能有帮助"  # the offer card's title in the customer's language


async def _article(app) -> None:
    async with app[SERVICES].store.unit() as uow:
        await uow.kb.add_article(ArticleDraft(title="发票抬头开错了如何重开", problem="电子发票上的公司名称写错了",
                                              solution="在「我的订单 → 发票详情」点击申请换开",
                                              visibility=ArticleVisibility.PUBLIC), author="lin")


class OfferCustomer(CustomerCards):
    """The story's customer and the articles offered to them: the card as they see it, their presses on it, their
    typed number where their surface shows no buttons."""

    marker = TITLE

    async def offer_text(self) -> str:
        """The offer as the customer sees it now, '' before it came."""
        text = await self.latest_card_text()
        if text is not None:
            return text
        texts = await self.driver.customer_texts()  # a DingTalk outsider: markdown, never updated
        return "\n".join(t for t in texts if "这些文章可能有帮助" in t)

    async def answer(self, verb: str, number: int) -> None:
        """Press `verb` (solved / help) on the offer card, or type `number` where there are no buttons."""
        await self.press_or_type("kb_offer", verb, number)


def _self_service_on(app) -> None:
    app[SERVICES].config.kb.self_service.enabled = True


async def _ticket(app, ticket_id: int = 1):
    async with app[SERVICES].store.unit() as uow:
        return await uow.get_ticket(ticket_id), await uow.timeline(ticket_id)


async def test_a_suggestion_on_the_triage_card_is_sent_to_the_customer(driver):
    await _article(driver.app)
    await driver.customer_says(QUESTION)
    await eventually(lambda: having(driver.customer_texts(), "T-000001"))
    card = await eventually(lambda: contains(driver.card_text(), "KB-1"))
    assert "发票抬头开错了如何重开" in card or "KB-1 发票" in card, "the article's title beside its number"
    assert not [t for t in await driver.agent_texts() if "KB-1" in t], "on the card, not a text beside it"

    await driver.press("send")
    sent = await eventually(lambda: having(driver.customer_texts(), "申请换开"))
    assert "KB-1" in sent and driver.agent_name in sent
    await eventually(lambda: contains(driver.card_text(), "已发送"))
    ticket, timeline = await _ticket(driver.app)
    assert ticket.first_response_at is not None, "the article is the first response"
    assert [e.detail for e in timeline if e.kind == "reply"] == [{"article": "KB-1"}]


async def test_self_service_solved_resolves_as_deflected_and_counts(driver):
    await _article(driver.app)
    _self_service_on(driver.app)
    customer = OfferCustomer(driver)
    await driver.customer_says(QUESTION)
    offer = await eventually(lambda: contains(customer.offer_text(), "KB-1"))
    assert "申请换开" in offer and "已解决" in offer and "转人工" in offer

    await customer.answer("solved", 1)
    told = await eventually(lambda: having(driver.customer_texts(), "处理说明"))
    assert "T-000001" in told and "已解决" in told and "KB-1" in told, "the resolution reaches the customer"
    ticket, timeline = await _ticket(driver.app)
    assert ticket.status == "resolved"
    assert [e.detail for e in timeline if e.kind == "status" and e.after == "resolved"] == [{"deflected": "KB-1"}]
    if not isinstance(driver, DingTalkDriver):  # an outsider's markdown copy is never redrawn
        await eventually(lambda: contains(customer.offer_text(), "很高兴能帮到您"))

    services = driver.app[SERVICES]
    now = services.store.clock.now()
    async with services.store.snapshot() as reads:
        report = await reads.kpis().report(parse_period("today", now, services.config.business_hours.timezone),
                                           Scope(), now)
    figures = as_json(report)
    assert (figures["deflected"], figures["offered"], figures["deflection_pct"]) == (1, 1, 100.0)


async def test_self_service_still_need_help_goes_on(driver):
    await _article(driver.app)
    _self_service_on(driver.app)
    customer = OfferCustomer(driver)
    await driver.customer_says(QUESTION)
    await eventually(lambda: contains(customer.offer_text(), "KB-1"))

    await customer.answer("help", 2)
    if isinstance(driver, DingTalkDriver):  # typed: answered in words
        assert await eventually(lambda: having(driver.customer_texts(), "已转人工"))
    else:
        await eventually(lambda: contains(customer.offer_text(), "已转人工"))
    ticket, timeline = await _ticket(driver.app)
    assert ticket.status not in ("resolved", "closed")
    assert {"kb_offer": "KB-1", "answer": "help"} in [e.detail for e in timeline if e.kind == "kb_offer"]

    await driver.command("reply T-000001 我来帮您换开")  # the ticket goes on as usual
    assert await eventually(lambda: having(driver.customer_texts(), "我来帮您换开"))


@pytest.mark.parametrize("switch", ["on-here-only", "off-here-only"])
async def test_self_service_is_decided_per_channel(driver, switch):
    await _article(driver.app)
    services = driver.app[SERVICES]
    here = {driver.customer_conversation: switch == "on-here-only"}
    # Everywhere else the other way round: only this conversation's own entry can decide.
    services.config.kb.self_service = SelfServiceConfig.model_validate(
        {"enabled": switch != "on-here-only", "channels": {driver.platform: here}})
    customer = OfferCustomer(driver)
    await driver.customer_says(QUESTION)
    await eventually(lambda: having(driver.customer_texts(), "T-000001"))
    if switch == "on-here-only":
        assert "已解决" in await eventually(lambda: contains(customer.offer_text(), "KB-1"))
        return
    await eventually(lambda: contains(driver.card_text(), "KB-1"))  # the suggestion: the search ran
    await eventually(lambda: settled(driver.app))
    assert await customer.offer_text() == "", "no articles offered in a channel where self-service is off"
    _ticket_row, timeline = await _ticket(driver.app)
    assert "kb_offer" not in [e.kind for e in timeline]
