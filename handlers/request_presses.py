"""A request card's presses, and messages written under it: the colleague's answer lands on the ticket."""

from __future__ import annotations

from bot.events import ButtonPressed
from bot.requests import RequestAction
from bot.subjects import Subject
from cards import actions
from cards.request import ACCEPT, ANSWER, DECLINE, VIEW_TICKET
from handlers import form_request, queries, requests
from handlers.turn import Turn


async def press_request(turn: Turn, event: ButtonPressed, refs: list[actions.ActionRef]) -> None:
    """Accept and Decline act (checked against the version the person saw); Answer says how where no form opened
    (handlers/forms.py opens one on Slack and the console); View shows the ticket."""
    ref = actions.decode(event.action)
    match ref.action if ref is not None else None:
        case action if action in (ACCEPT, DECLINE):
            await requests.act(turn, ref.subject_id, RequestAction(action), expected_version=ref.version,
                               from_button=True)
        case action if action == ANSWER:  # reached where no form opened (WeCom, DingTalk): how to answer
            await form_request.instructions(turn, ref.subject_id)
        case action if action == VIEW_TICKET:
            async with turn.ctx.store.snapshot() as uow:
                request = await uow.get_request(ref.subject_id)
            if request is not None:
                await queries.show(turn, request.ticket_id)
                return
            await turn.answer(turn.t._("That choice is not valid."))
        case _:
            await turn.answer(turn.t._("That choice is not valid."))


async def reply_under_request(turn: Turn, subject: Subject, text: str) -> bool:
    """Staff writing under a request's card answer it (whoever may answer; others are told why not)."""
    if turn.person.is_customer:
        return False
    await requests.act(turn, subject.id, RequestAction.ANSWER, text=text)
    return True
