"""Articles for a new ticket: related ones for its agents, and (where configured) public ones for its customer.

Run once the ticket is saved, in transactions of their own, so the ticket never waits for (or fails with) a search.
A customer offered articles answers with a number or a word: 1 / 已解决 / solved resolves the ticket as deflected
(its timeline says which articles did it); 2 / 转人工 / anything else goes on to the team as usual.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.directory import Person, Role
from bot.i18n import translator
from bot.kb import Audience, SearchRequest, parse_article_number
from bot.ports import Outgoing, OutgoingKind, Urgency
from bot.tickets import Ticket, Tier, TimelineEntry, TimelineKind, Visibility
from handlers import changes, lifecycle
from handlers.intake import triage_target
from handlers.turn import Turn

log = logging.getLogger(__name__)
SOLVED_WORDS = frozenset({"1", "1.", "已解决", "解决了", "solved", "this solved it", "solved it", "yes"})
HELP_WORDS = frozenset({"2", "2.", "转人工", "人工", "i still need help", "still need help", "help", "no"})
OFFER = "kb_offer"  # the timeline detail naming the articles offered to the customer
# Who resolves a deflected ticket: the knowledge base itself, with an agent's right to resolve.
SELF_SERVICE = Person(key="kb", name="Knowledge base", roles=frozenset({Role.AGENT}))


async def after_intake(turn: Turn, ticket: Ticket) -> None:
    """Suggest related articles to the triage channel, and offer public ones to the customer where that is on."""
    try:
        await _suggest_to_agents(turn, ticket)
        if ticket.customer_conversation is not None:
            await _offer_to_customer(turn, ticket)
    except Exception:  # a search that fails must not look like a failed ticket: the ticket is saved and announced
        log.exception("knowledge-base suggestions for %s failed", ticket.number)


def _question(ticket: Ticket) -> str:
    return f"{ticket.title} {ticket.description or ''}"


async def _suggest_to_agents(turn: Turn, ticket: Ticket) -> None:
    config, triage = turn.ctx.config.kb, triage_target(turn)
    if not config.suggestions or triage is None:
        return
    t = translator(turn.ctx.directory.default_language)
    request = SearchRequest(text=_question(ticket), language=t.language, limit=config.suggestions,
                            published_only=True, synonyms=config.synonym_groups())
    async with turn.ctx.store.snapshot() as view:
        hits = await view.kb.search_articles(request)
    if not hits:
        return
    lines = [t._("Similar to {number}:", number=ticket.number)]
    lines += [f"• {hit.article.number} {hit.article.title}" for hit in hits]
    lines.append(t._("Send one to the customer: /ticket kb send {number} {article}", number=ticket.number,
                     article=hits[0].article.number))
    async with turn.ctx.store.unit() as uow:
        await uow.enqueue(Outgoing(OutgoingKind.TEXT, triage, text="\n".join(lines), language=t.language,
                                   urgency=Urgency.NOTICE))


async def _offer_to_customer(turn: Turn, ticket: Ticket) -> None:
    settings = turn.ctx.config.kb.self_service
    if not settings.on_for(turn.platform, vip=ticket.customer_tier is Tier.VIP):
        return
    t = turn.t
    request = SearchRequest(text=_question(ticket), audience=Audience.CUSTOMER, language=t.language,
                            limit=settings.max_articles, synonyms=turn.ctx.config.kb.synonym_groups())
    async with turn.ctx.store.snapshot() as view:
        hits = [hit for hit in await view.kb.search_articles(request) if hit.score >= settings.min_score]
    if not hits:
        return
    lines = [t._("These articles may help:")]
    for rank, hit in enumerate(hits, start=1):
        lines.append(f"{rank}. {hit.article.number} {hit.article.title}")
        if hit.snippet:
            lines.append(f"   {hit.snippet}")
    lines.append(t._("Reply 1 (solved) if one of them solved it, or 2 (I still need help) and your ticket {number} "
                     "stays with our team.", number=ticket.number))
    async with turn.ctx.store.unit() as uow:
        await uow.append_timeline(TimelineEntry(
            ticket_id=ticket.id, kind=TimelineKind.KB_OFFER, actor=SELF_SERVICE.key, platform=turn.platform,
            at=turn.ctx.clock.now(), detail={OFFER: " ".join(hit.article.number for hit in hits)}))
        await turn.reply(uow, "\n".join(lines))


async def answer_to_offer(turn: Turn, ticket: Ticket, text: str) -> bool:
    """A customer's answer to articles offered on their ticket: solved resolves it as deflected (the first article
    counted helpful), still need help counts them not helpful and goes on as usual. True when handled here."""
    word = " ".join(text.lower().split()).strip("!！。.")
    if word not in SOLVED_WORDS and word not in HELP_WORDS:
        return False  # anything else joins the ticket as usual, the offer on its timeline
    async with turn.ctx.store.snapshot() as view:
        recent = await view.recent_timeline(ticket.id, 5)
    offered = next((entry.detail[OFFER] for entry in reversed(recent)
                    if entry.kind == TimelineKind.KB_OFFER and entry.detail and OFFER in entry.detail), None)
    if offered is None or recent[-1].kind != TimelineKind.KB_OFFER:
        return False  # no offer, or the conversation went on since: a plain message
    numbers = [parse_article_number(number) for number in offered.split()]
    if word in HELP_WORDS:
        # None of them helped: counted on each, and the message goes on to the team.
        async with turn.ctx.store.unit() as uow:
            for article_id in filter(None, numbers):
                await uow.kb.rate_article(article_id, helpful=False)
        return False
    system = replace(turn, person=SELF_SERVICE)
    resolve = changes.resolve(system, turn.t._("Solved with {articles} (self-service)", articles=offered))

    def build(saved: Ticket):
        change = resolve(saved)

        async def rate(uow, _saved: Ticket) -> None:
            if numbers and numbers[0]:  # the customer did not say which: the first, the best ranked, gets it
                await uow.kb.rate_article(numbers[0], helpful=True)
        change.followups.append(rate)
        change.detail = {"deflected": offered}  # a deflection: solved by the knowledge base, not by a person
        change.visibility = Visibility.PUBLIC
        return change
    await lifecycle.change_ticket(system, ticket.id, build)
    return True
