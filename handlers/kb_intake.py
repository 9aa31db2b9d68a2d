"""Articles for a new ticket: related ones on its triage card for its agents, and (where configured) public ones
offered to its customer on a card of their own (handlers/kb_offer.py takes the answer).

Run once the ticket is saved and announced, in transactions of their own, so the ticket never waits for (or fails
with) a search; the triage card, perhaps already on its way, is redrawn with the articles.
"""

from __future__ import annotations

import logging

from bot.kb import Audience, SearchRequest
from bot.kb_card import Offer
from bot.subjects import Viewer
from bot.tickets import Ticket, Tier, TimelineEntry, TimelineKind
from handlers.kb_offer import OFFER, SELF_SERVICE
from handlers.notify import post_card, refresh_cards_on_the_way
from handlers.turn import Turn

log = logging.getLogger(__name__)


async def after_intake(turn: Turn, ticket: Ticket) -> None:
    """Suggest related articles on the triage card, and offer public ones to the customer where that is on."""
    try:
        await _suggest_to_agents(turn, ticket)
        if ticket.customer_conversation is not None:
            await _offer_to_customer(turn, ticket)
    except Exception:  # a search that fails must not look like a failed ticket: the ticket is saved and announced
        log.exception("knowledge-base suggestions for %s failed", ticket.number)


def _question(ticket: Ticket) -> str:
    return f"{ticket.title} {ticket.description or ''}"


async def _suggest_to_agents(turn: Turn, ticket: Ticket) -> None:
    config = turn.ctx.config.kb
    if not config.suggestions:
        return
    request = SearchRequest(text=_question(ticket), language=turn.ctx.directory.default_language,
                            limit=config.suggestions, published_only=True, synonyms=config.synonym_groups())
    async with turn.ctx.store.snapshot() as view:
        hits = await view.kb.search_articles(request)
    if not hits:
        return
    async with turn.ctx.store.unit() as uow:
        if await uow.kb_suggestions().keep(ticket.id, [hit.article.id for hit in hits]):
            await refresh_cards_on_the_way(uow, ticket)


async def _offer_to_customer(turn: Turn, ticket: Ticket) -> None:
    settings = turn.ctx.config.kb.self_service
    if not settings.on_for(ticket.customer_conversation, vip=ticket.customer_tier is Tier.VIP):
        return
    t = turn.t
    request = SearchRequest(text=_question(ticket), audience=Audience.CUSTOMER, language=t.language,
                            limit=settings.max_articles, synonyms=turn.ctx.config.kb.synonym_groups())
    async with turn.ctx.store.snapshot() as view:
        hits = [hit for hit in await view.kb.search_articles(request) if hit.score >= settings.min_score]
    if not hits:
        return
    now = turn.ctx.clock.now()
    async with turn.ctx.store.unit() as uow:
        offer = await uow.kb_offers().add(Offer(
            ticket_id=ticket.id, article_ids=tuple(hit.article.id for hit in hits),
            requester_platform=turn.platform, requester_user_id=turn.event.actor.user_id, language=t.language,
            offered_at=now))
        if offer is None:
            return  # offered before (a retried delivery)
        await uow.append_timeline(TimelineEntry(
            ticket_id=ticket.id, kind=TimelineKind.KB_OFFER, actor=SELF_SERVICE.key, platform=turn.platform,
            at=now, detail={OFFER: offer.numbers}))
        await post_card(uow, offer, ticket.customer_conversation, viewer=Viewer.CUSTOMER, language=t.language)
