"""Presses on knowledge-base controls (kind `article`): Save to knowledge base on a ticket's card, Send to customer,
and Edit on an article's card (a form on Slack and the console, handlers/forms.py; elsewhere it says which command)."""

from __future__ import annotations

from bot.events import ButtonPressed
from bot.tickets import MAX_TICKET_ID
from cards import actions
from cards.article import EDIT
from cards.ticket import SAVE_TO_KB, SEND_ARTICLE
from handlers import form_article, kb
from handlers.turn import Turn

SEND = SEND_ARTICLE  # send article <subject id> to the customer of the ticket in the variant (the triage card's)


def _ticket_of(ref: actions.ActionRef) -> int | None:
    variant = ref.variant or ""
    return int(variant) if variant.isdigit() and 0 < int(variant) <= MAX_TICKET_ID else None


async def press_article(turn: Turn, event: ButtonPressed, refs: list[actions.ActionRef]) -> None:
    """Save the ticket in the variant as a draft, or send the article to that ticket's customer; else refuse."""
    ref = actions.decode(event.action)
    ticket_id = _ticket_of(ref) if ref is not None else None
    if ref is not None and ticket_id is not None and ref.action == SAVE_TO_KB:
        await kb.save(turn, ticket_id)
        return
    if ref is not None and ref.action == EDIT:  # reached where no form opened (WeCom, DingTalk)
        await form_article.instructions(turn, ref.subject_id)
        return
    if ref is not None and ticket_id is not None and ref.action == SEND and 0 < ref.subject_id <= MAX_TICKET_ID:
        await kb.send(turn, ticket_id, ref.subject_id)
        return
    async with turn.ctx.store.unit() as uow:  # only a forged press names anything else
        await turn.reply(uow, turn.t._("That choice is not valid."), private=True)
        await turn.finish(uow)
