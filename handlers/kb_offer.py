"""A customer's answer to the articles offered on their ticket (kind `kb_offer`): a press on the offer's card, or a
typed 1 / 2 where the surface has no buttons (微信客服, a DingTalk outsider). One path for both, answered once.

This solved it → the ticket is resolved by the knowledge base as deflected (its timeline names the articles, the
first one counts helpful). I still need help → each article counts not helpful, the answer is noted on the
timeline, and the ticket goes on to the team as usual.
"""

from __future__ import annotations

from dataclasses import replace

from bot.directory import Person, Role
from bot.events import ButtonPressed
from bot.kb_card import Offer, OfferAnswer
from bot.tickets import Status, Ticket, TimelineEntry, TimelineKind, Visibility
from cards import actions
from cards.kb_offer import HELP, SOLVED
from handlers import changes, lifecycle
from handlers.notify import refresh_cards
from handlers.turn import Turn

OFFER = "kb_offer"  # the timeline detail naming the articles offered to the customer
SOLVED_WORDS = frozenset({"1", "1.", "已解决", "解决了", "solved", "this solved it", "solved it", "yes"})
HELP_WORDS = frozenset({"2", "2.", "转人工", "人工", "i still need help", "still need help", "help", "no"})
# Who resolves a deflected ticket: the knowledge base itself, with an agent's right to resolve.
SELF_SERVICE = Person(key="kb", name="Knowledge base", roles=frozenset({Role.AGENT}))
MAX_OFFER_ID = 2**31 - 1  # the id column's range: only a forged press names a larger one
_PRESSED = {SOLVED: OfferAnswer.SOLVED, HELP: OfferAnswer.HELP}


async def press_offer(turn: Turn, event: ButtonPressed, refs: list[actions.ActionRef]) -> None:
    """A press on an offer's card: only by its customer, only one of its two answers."""
    ref = actions.decode(event.action)
    answer = _PRESSED.get(ref.action) if ref is not None else None
    offer = None
    if ref is not None and answer is not None and 0 < ref.subject_id <= MAX_OFFER_ID:
        async with turn.ctx.store.snapshot() as view:
            offer = (await view.kb_offers().load([ref.subject_id])).get(ref.subject_id)
    if offer is None or not _theirs(turn, offer):
        await turn.answer(turn.t._("That choice is not valid."))
        return
    await answer_offer(turn, offer, answer, typed=False)


def _theirs(turn: Turn, offer: Offer) -> bool:
    return turn.platform == offer.requester_platform and turn.event.actor.user_id == offer.requester_user_id


def typed_answer(text: str) -> OfferAnswer | None:
    """The answer a typed message gives ('1', '已解决', 'I still need help'), or None when it is none."""
    word = " ".join(text.lower().split()).strip("!！。.")
    if word in SOLVED_WORDS:
        return OfferAnswer.SOLVED
    return OfferAnswer.HELP if word in HELP_WORDS else None


async def answer_to_offer(turn: Turn, ticket: Ticket, text: str) -> bool:
    """A customer's message right after articles were offered on their ticket: 1 / 2 answers the offer. True when
    handled here; anything else (or a number once the conversation went on) joins the ticket as usual."""
    answer = typed_answer(text)
    if answer is None:
        return False
    async with turn.ctx.store.snapshot() as view:
        offer = await view.kb_offers().of_ticket(ticket.id)
        recent = await view.recent_timeline(ticket.id, 1) if offer is not None else []
    if offer is None or offer.answer is not None or not recent or recent[-1].kind != TimelineKind.KB_OFFER:
        return False
    await answer_offer(turn, offer, answer, typed=True)
    return True


async def answer_offer(turn: Turn, offer: Offer, answer: OfferAnswer, *, typed: bool) -> None:
    """Record the customer's answer once and act on it; a second answer is told the first one stands."""
    async with turn.ctx.store.snapshot() as view:
        ticket = await view.get_ticket(offer.ticket_id)
    if ticket is None:
        return
    if answer is OfferAnswer.SOLVED and ticket.status not in (Status.RESOLVED, Status.CLOSED):
        await _deflect(turn, offer)
        return
    t = turn.t
    async with turn.ctx.store.unit() as uow:
        if not await uow.kb_offers().answer(offer.id, answer, turn.ctx.clock.now()):
            await turn.reply(uow, t._("You have already answered about these articles. Just write here if you "
                                      "need anything else."), private=True)
        elif answer is OfferAnswer.HELP:
            for article_id in offer.article_ids:  # none of them helped
                await uow.kb.rate_article(article_id, helpful=False)
            await uow.append_timeline(TimelineEntry(
                ticket_id=offer.ticket_id, kind=TimelineKind.KB_OFFER, actor=turn.actor_key, platform=turn.platform,
                at=turn.ctx.clock.now(), detail={OFFER: offer.numbers, "answer": answer.value}))
            if typed:  # a surface without buttons sees no card change: say it in words
                await turn.reply(uow, t._("Our team has your ticket {number} and will answer you here.",
                                          number=ticket.number))
        elif typed:  # solved, but a person finished the ticket first
            await turn.reply(uow, t._("Glad it helped: {number} is resolved. Just write here if you need anything "
                                      "else.", number=ticket.number))
        await refresh_cards(uow, offer)
        await turn.finish(uow)


async def _deflect(turn: Turn, offer: Offer) -> None:
    """Resolve the ticket as the knowledge base, the answer recorded in the same transaction (or refused)."""
    system = replace(turn, person=SELF_SERVICE)
    resolve = changes.resolve(system, turn.t._("Solved with {articles} (self-service)", articles=offer.numbers))

    @lifecycle.needs_unit
    async def build(ticket: Ticket, uow) -> lifecycle.Change:
        if not await uow.kb_offers().answer(offer.id, OfferAnswer.SOLVED, turn.ctx.clock.now()):
            raise lifecycle.Refusal(turn.t._("You have already answered about these articles. Just write here if "
                                             "you need anything else."))
        change = resolve(ticket)

        async def rate_and_redraw(uow, _saved: Ticket) -> None:
            if offer.article_ids:  # the customer did not say which: the first, the best ranked, gets it
                await uow.kb.rate_article(offer.article_ids[0], helpful=True)
            await refresh_cards(uow, offer)
        change.followups.append(rate_and_redraw)
        change.detail = {"deflected": offer.numbers}  # a deflection: solved by the knowledge base, not by a person
        change.visibility = Visibility.PUBLIC
        change.confirm = None  # the customer reads the resolution itself, and the offer's card says it helped
        return change
    await lifecycle.change_ticket(system, offer.ticket_id, build)
