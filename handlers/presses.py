"""Card presses and replies under cards, routed by the kind of subject they name: one table, a row per kind.

A press is decoded once here. Its controls must all name one kind of subject; that kind's handler acts on it.
A kind without a row (or a press mixing kinds, which only a forged body carries) is refused and changes nothing,
so a press on `tb:request:…:7` can never act on ticket 7. A new kind of card adds its row; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.events import ButtonPressed
from bot.subjects import Subject, SubjectKind
from cards import actions
from handlers import conversation, requests
from handlers.alerts import press_alert
from handlers.kb_offer import press_offer
from handlers.kb_presses import press_article
from handlers.request_presses import press_request, reply_under_request
from handlers.survey import press_survey
from handlers.ticket_presses import press_ticket
from handlers.turn import Turn

MAX_SUBJECT_ID = 2**31 - 1  # the id columns' range: only a forged press names a larger one

# (turn, the press, its decoded controls — all of the handler's kind) → the press applied and the delivery finished.
PressHandler = Callable[[Turn, ButtonPressed, list[actions.ActionRef]], Awaitable[None]]
# (turn, the subject whose card the message is under, the text) → True when handled (False: not this kind's).
ReplyHandler = Callable[[Turn, Subject, str], Awaitable[bool]]


@dataclass(frozen=True)
class SubjectHandlers:
    """What a kind of subject does when a person presses its card's controls or writes under it."""

    press: PressHandler
    reply: ReplyHandler | None = None  # None: a message under such a card is nobody's (answered as elsewhere)


async def _ticket_reply(turn: Turn, subject: Subject, text: str) -> bool:
    """Staff writing in a ticket's thread: a note, or `reply:` to the customer; a customer there is not staff."""
    if turn.person.is_customer:
        return False
    async with turn.ctx.store.unit() as uow:
        ticket = await uow.get_ticket(subject.id)
    if ticket is None:
        return False
    mention = requests.thread_ask(turn, text)
    if mention is not None:  # "@赵会计 请核对发票金额 截止 明天18:00": a request, not a note
        await requests.ask(turn, ticket.id, *mention)
        return True
    await conversation.thread_message(turn, ticket, text)
    return True


HANDLERS: dict[SubjectKind, SubjectHandlers] = {
    SubjectKind.TICKET: SubjectHandlers(press=press_ticket, reply=_ticket_reply),
    SubjectKind.REQUEST: SubjectHandlers(press=press_request, reply=reply_under_request),
    SubjectKind.ARTICLE: SubjectHandlers(press=press_article),  # Save to knowledge base, Send (triage card)
    SubjectKind.KB_OFFER: SubjectHandlers(press=press_offer),  # the customer's answer; typed ones: conversation
    SubjectKind.SURVEY: SubjectHandlers(press=press_survey),  # the customer's answer; typed numbers: conversation
    SubjectKind.ALERT: SubjectHandlers(press=press_alert),  # Acknowledge (staff only)
}


def decoded_controls(event: ButtonPressed) -> list[actions.ActionRef]:
    """The press's controls that are ours: the one pressed and every drop-down it carries."""
    codes = [event.action, *(code for code, _value in event.choices)]
    return [ref for code in codes if (ref := actions.decode(code)) is not None]


async def handle_press(turn: Turn, event: ButtonPressed) -> None:
    """Route a press to its subject kind's handler; refuse a kind without one, or a press mixing kinds."""
    refs = decoded_controls(event)
    kinds = {ref.kind for ref in refs}
    handlers = HANDLERS.get(next(iter(kinds))) if len(kinds) == 1 else None
    if handlers is not None:
        subject = refs[0].subject
        if event.card_id and event.message_ref and subject.id <= MAX_SUBJECT_ID:
            # First, so the updates this press causes can use the card's new reference (WeCom's fresh code).
            await turn.ctx.store.renew_placement_ref(subject=subject, target=event.conversation,
                                                     card_id=event.card_id, message_ref=event.message_ref)
        await handlers.press(turn, event, refs)
        return
    async with turn.ctx.store.unit() as uow:
        if refs:  # ours, but of a kind with no handler here, or of several kinds at once
            await turn.reply(uow, turn.t._("That choice is not valid."), private=True)
        await turn.finish(uow)


async def handle_reply_under_card(turn: Turn, subject: Subject, text: str) -> bool:
    """A message in the thread of a subject's card, handed to its kind; False when that kind does not take it."""
    handlers = HANDLERS.get(subject.kind)
    return handlers is not None and handlers.reply is not None and await handlers.reply(turn, subject, text)
