"""Customer messages (open or join a ticket), replies in a ticket's agent thread, relays between them."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.attachments import Taken
from bot.events import ConversationKind
from bot.ports import NotificationClaims, Outgoing, OutgoingKind, UnitOfWork
from bot.tickets import Action, Status, Ticket, TimelineKind, Visibility
from cards.ticket import STAFF_VIEW
from handlers import attachments, changes, kb_intake, kb_offer, lifecycle, survey
from handlers.intake import Intake, open_ticket, title_from_message, triage_target
from handlers.turn import Turn

# A customer who keeps writing to their open ticket hears "added to T-…" at most this often.
ACK_PERIOD = timedelta(minutes=5)
_ACK = "ack:"  # the notification key of an acknowledgement: ack:<unix seconds>


async def customer_message(turn: Turn, text: str, taken: Taken = attachments.NOTHING) -> None:
    """A customer wrote: join their open ticket within the window, else open a new one (saying so after a close);
    the files that came with it join the same timeline entry and go on to the agents."""
    if not taken.stored and not taken.refused and await survey.take_message(turn, text):
        return  # a survey's answer ("4", "0") or the comment after it: not a message on the ticket
    ctx, user_id = turn.ctx, turn.event.actor.user_id
    now = ctx.clock.now()
    since = now - timedelta(minutes=ctx.config.intake.join_window_minutes)
    async with ctx.store.unit() as uow:
        # A text and a picture sent together arrive as two deliveries processed side by side: one at a time per
        # customer, or each would find no open ticket and open its own.
        await uow.lock_requester(turn.platform, user_id)
        ticket = await uow.find_open_ticket(platform=turn.platform, user_id=user_id, since=since)
        if ticket is None:
            # Within the reopen window a closed ticket is still what the customer has in mind: name it.
            closed = await uow.find_closed_ticket(
                platform=turn.platform, user_id=user_id,
                since=now - timedelta(days=ctx.config.lifecycle.reopen_window_days))
            saved = await open_ticket(turn, uow, Intake(title=title_from_message(text), description=text.strip(),
                                                        follows=closed), from_customer=True)
            added = await attachments.land(turn, uow, saved, TimelineKind.CREATED, taken, public=True)
            await attachments.to_agents(turn, uow, saved, added, new_in=triage_target(turn))
            await turn.finish(uow)
    if ticket is None:
        _wake(turn)
        await kb_intake.after_intake(turn, saved)  # articles for it, once the ticket is saved and announced
        _wake(turn)
        return
    if not (taken.stored or taken.refused) and await kb_offer.answer_to_offer(turn, ticket, text):
        return
    await lifecycle.change_ticket(turn, ticket.id, _customer_said(turn, text, taken))


def _customer_said(turn: Turn, text: str, taken: Taken):
    def build(ticket: Ticket) -> lifecycle.Change:
        now = turn.ctx.clock.now()
        revived = ticket.status is Status.RESOLVED
        ticket.customer_conversation = turn.conversation
        ticket.last_customer_message_at = now

        async def relay(uow: UnitOfWork, saved: Ticket) -> None:
            await relay_to_agents(uow, saved, turn.t._("💬 {name} on {number}: {text}", name=turn.person.name,
                                                       number=saved.number, text=text))
            added = await attachments.land(turn, uow, saved, TimelineKind.CUSTOMER_MESSAGE, taken, public=True)
            await attachments.to_agents(turn, uow, saved, added)

        async def acknowledge(uow: UnitOfWork, saved: Ticket) -> None:
            if await _may_acknowledge(uow, saved, now, always=revived):
                await turn.reply(uow, turn.t._("Your ticket {number} was resolved; your message reopens it and our "
                                               "team will look again.", number=saved.number) if revived
                                 else turn.t._("Added to your ticket {number}.", number=saved.number))
        return lifecycle.Change(Action.CUSTOMER_MESSAGE, TimelineKind.CUSTOMER_MESSAGE, text=text,
                                visibility=Visibility.PUBLIC, followups=[relay, acknowledge])
    return build


async def _may_acknowledge(uow: NotificationClaims, ticket: Ticket, now: datetime, *, always: bool = False) -> bool:
    """True at most once per ACK_PERIOD and ticket (or `always`, still counted), claimed like a notification so
    replicas agree.

    The answer that opened the ticket counts as the first: a customer adding details right away knows where they go.
    """
    fired = await uow.fired_notifications(ticket.subject)
    stamps = [int(key[len(_ACK):]) for key in fired if key.startswith(_ACK) and key[len(_ACK):].isdigit()]
    if ticket.created_at is not None:
        stamps.append(int(ticket.created_at.timestamp()))
    if not always and any(now.timestamp() - stamp < ACK_PERIOD.total_seconds() for stamp in stamps):
        return False
    key = f"{_ACK}{int(now.timestamp())}"
    return bool(await uow.claim_notifications([(ticket.subject, key, True)])) or always


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
    """Staff in a ticket's thread: an internal note, unless clearly marked as a reply to the customer (the files
    that came with it then reach the customer too; a note's stay internal)."""
    taken = await attachments.take(turn)
    if not text.strip():
        text = attachments.files_line(taken)  # only files: their names are the note
    answer = reply_from_thread(text)
    if answer is None and taken.stored and reply_from_thread(text + " x"):  # 'reply:' with only files
        answer = attachments.files_line(taken)
    builder = changes.reply(turn, answer) if answer else _thread_note(turn, text)
    await lifecycle.change_ticket(turn, ticket.id, _with_files(turn, builder, taken, public=bool(answer)))


def _with_files(turn: Turn, build, taken: Taken, *, public: bool):
    """`build` with the message's files joined to its timeline entry (and sent to the customer with a reply)."""
    def with_files(ticket: Ticket) -> lifecycle.Change:
        change = build(ticket)

        async def land(uow: UnitOfWork, saved: Ticket) -> None:
            added = await attachments.land(turn, uow, saved, change.kind, taken, public=public)
            if public:
                language = saved.customer_language or turn.ctx.directory.default_language
                await attachments.to_customer(uow, saved, added, language)
        change.followups.append(land)
        return change
    return with_files


def _thread_note(turn: Turn, text: str):
    def build(ticket: Ticket) -> lifecycle.Change:
        return lifecycle.Change(Action.NOTE, TimelineKind.NOTE, text=text)
    return build


def _wake(turn: Turn) -> None:
    if turn.ctx.wake_outbox:
        turn.ctx.wake_outbox()
