"""Customer messages (open or join a ticket), replies in a ticket's agent thread, relays between them."""

from __future__ import annotations

from datetime import timedelta

from bot.events import ConversationKind
from bot.ports import Outgoing, OutgoingKind, UnitOfWork
from bot.tickets import Action, Ticket, TimelineKind, Visibility
from cards.ticket import STAFF_VIEW
from handlers import changes, lifecycle
from handlers.intake import Intake, open_ticket, title_from_message
from handlers.turn import Turn


async def customer_message(turn: Turn, text: str) -> None:
    """A customer wrote: join their open ticket within the window, else open a new one."""
    ctx = turn.ctx
    since = ctx.clock.now() - timedelta(minutes=ctx.config.intake.join_window_minutes)
    async with ctx.store.unit() as uow:
        ticket = await uow.find_open_ticket(platform=turn.platform, user_id=turn.event.actor.user_id, since=since)
        if ticket is None:
            await open_ticket(turn, uow, Intake(title=title_from_message(text), description=text.strip()),
                              from_customer=True)
            await turn.finish(uow)
            _wake(turn)
            return
    await lifecycle.change_ticket(turn, ticket.id, _customer_said(turn, text))


def _customer_said(turn: Turn, text: str):
    def build(ticket: Ticket) -> lifecycle.Change:
        now = turn.ctx.clock.now()
        ticket.customer_conversation = turn.conversation
        ticket.last_customer_message_at = now

        async def relay(uow: UnitOfWork, saved: Ticket) -> None:
            await relay_to_agents(uow, saved, turn.t._("💬 {name} on {number}: {text}", name=turn.person.name,
                                                       number=saved.number, text=text))
        return lifecycle.Change(Action.CUSTOMER_MESSAGE, TimelineKind.CUSTOMER_MESSAGE, text=text,
                                visibility=Visibility.PUBLIC, followups=[relay])
    return build


async def relay_to_agents(uow: UnitOfWork, ticket: Ticket, text: str) -> None:
    """Post `text` in the thread under each staff copy of the ticket's card in a channel."""
    for placement in await uow.placements(ticket.subject):
        if placement.viewer_role == STAFF_VIEW and placement.target.kind is not ConversationKind.DM:
            await uow.enqueue(Outgoing(OutgoingKind.TEXT, placement.target.thread(placement.message_ref), text=text,
                                       language=placement.language))


REPLY_MARKERS = ("reply:", "reply：", "回复:", "回复：", ">>")


def reply_from_thread(text: str) -> str | None:
    """The customer-bound text of a thread message marked 'reply:' / '回复：' / '>>', else None."""
    stripped = text.strip()
    for marker in REPLY_MARKERS:
        if stripped.lower().startswith(marker):
            return stripped[len(marker):].strip() or None
    return None


async def thread_message(turn: Turn, ticket: Ticket, text: str) -> None:
    """Staff in a ticket's thread: an internal note, unless clearly marked as a reply to the customer."""
    answer = reply_from_thread(text)
    builder = changes.reply(turn, answer) if answer else _thread_note(turn, text)
    await lifecycle.change_ticket(turn, ticket.id, builder)


def _thread_note(turn: Turn, text: str):
    def build(ticket: Ticket) -> lifecycle.Change:
        return lifecycle.Change(Action.NOTE, TimelineKind.NOTE, text=text)
    return build


def _wake(turn: Turn) -> None:
    if turn.ctx.wake_outbox:
        turn.ctx.wake_outbox()
