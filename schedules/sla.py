"""The SLA provider of the deadline sweep: reminders before and escalations after a ticket's deadlines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.directory import Directory
from bot.events import Conversation, ConversationKind
from bot.i18n import translator
from bot.ports import CardPlacement, Outgoing, OutgoingKind, TicketBookmarks
from bot.sla import NoticeKind, Notification, SlaPolicy, escalation_targets, humanize
from bot.subjects import Viewer
from bot.tickets import Ticket
from cards.sla_text import amount, what
from handlers.notify import post_card, update_cards
from schedules.sweep import Due, MessageBatch, Notice, Plan


class SlaProvider:
    """What is due on tickets' SLA clocks, and what each reminder and escalation level says to whom."""

    name = "sla"

    def __init__(self, *, policy: SlaPolicy, directory: Directory, config):
        self.policy, self.directory, self.config = policy, directory, config

    async def due(self, uow: TicketBookmarks, now: datetime, limit: int) -> list[Due[Ticket]]:
        """Tickets whose bookmark has come, with their fired keys and cards (one query)."""
        return [Due(ticket.subject, ticket, fired, placements)
                for ticket, fired, placements in await uow.tickets_due(now, limit)]

    def plan(self, due: Due[Ticket], now: datetime) -> Plan:
        """Every reminder and escalation of the ticket's deadlines that is due and unfired; the next bookmark."""
        ticket = due.item
        schedule = self.policy.schedule(ticket, now)
        ready = [n for n in schedule if n.fire_at <= now and n.key not in due.fired]
        notices = [Notice(n.key, not (_superseded(n, ready, schedule, due.fired, now)
                                      or self.policy.acknowledged(ticket, n)), n) for n in ready]
        upcoming = [n.fire_at for n in schedule if n.fire_at > now and n.key not in due.fired]
        return Plan(notices, min(upcoming, default=None))

    async def fire(self, out: MessageBatch, due: Due[Ticket], notice: Notice, now: datetime) -> None:
        """A reminder or an escalation level, by its kind."""
        notification: Notification = notice.detail
        if notification.kind is NoticeKind.REMIND:
            await self._remind(out, due.item, notification, now)
        else:
            await self._escalate(out, due.item, notification, now)

    async def fired(self, out: MessageBatch, due: Due[Ticket], now: datetime) -> None:
        """A card where a message went and none is yet; every card's badge changes band."""
        for target, language in out.told(due.subject):
            if not _has_card(due.placements, target):
                await post_card(out, due.item, target, viewer=Viewer.STAFF, language=language)
        await update_cards(out, due.item, due.placements)

    async def move_bookmarks(self, uow: TicketBookmarks, bookmarks: Sequence[tuple[Due[Ticket], datetime | None]]) -> None:
        """One executemany for the batch; a ticket changed since it was read keeps its newer bookmark."""
        await uow.set_ticket_bookmarks([(due.item, next_due) for due, next_due in bookmarks])

    async def _remind(self, out: MessageBatch, ticket: Ticket, n: Notification, now: datetime) -> None:
        """To the assignee with the card; to the department's queue (triage channel) when unassigned."""
        def text(t) -> str:
            return t._("⏰ {number} ({priority}): {what} due in {left} — {title}", number=ticket.number,
                       priority=ticket.priority.value, what=what(n.clock, t), left=amount(n.deadline - now, t),
                       title=ticket.title)
        if out.tell(self.directory, ticket.subject, ticket.assignee, text, prefer=ticket.source.platform):
            return
        queue = _channel(ticket, self.config.triage_channels)
        if queue is not None:
            # The queue's card is the triage card already there: the reminder is a line, not another card.
            await out.enqueue(Outgoing(OutgoingKind.TEXT, queue, text=text(translator(self.directory.default_language)),
                                       subject=ticket.subject, language=self.directory.default_language))

    async def _escalate(self, out: MessageBatch, ticket: Ticket, n: Notification, now: datetime) -> None:
        """To the level's people by DM, and to the escalation channel, each with the card ("I'm on it")."""
        def text(t) -> str:
            return t._("🚨 Escalation level {level}: {number} ({priority}) {what} was due {ago} ago — {title}",
                       level=n.level + 1, number=ticket.number, priority=ticket.priority.value,
                       what=what(n.clock, t), ago=amount(now - n.deadline, t), title=ticket.title)
        for key in escalation_targets(ticket, n.to, self.directory):
            out.tell(self.directory, ticket.subject, key, text, prefer=ticket.source.platform)
        channel = _channel(ticket, self.config.sla.escalation_channels)
        if channel is not None:
            out.say(ticket.subject, channel, text, self.directory.default_language)

def _has_card(placements: list[CardPlacement], target: Conversation) -> bool:
    """True when the conversation already shows the ticket's card (the sweep refreshes it instead)."""
    return any(p.target.platform == target.platform and p.target.id == target.id and p.target.kind == target.kind
               and p.target.thread_id == target.thread_id for p in placements)


def _superseded(notification: Notification, due: list[Notification], schedule: list[Notification],
                fired: set[str], now: datetime) -> bool:
    """A reminder not worth sending: a later band (or an escalation) of its deadline is due too, the deadline has
    passed, or the band before it already said the same "due in …".

    Comparing fire times was not enough: quiet hours move every band of a night's deadline to the same
    morning minute, so none was "later" and all of them went, each saying "due in" of a passed deadline.
    """
    if notification.kind is not NoticeKind.REMIND:
        return False
    if notification.deadline <= now:
        return True
    same = [o for o in due if o.clock == notification.clock and o.deadline == notification.deadline and o != notification]
    if any(o.kind is NoticeKind.ESCALATE or o.level > notification.level for o in same):
        return True
    earlier = [o for o in schedule if o.kind is NoticeKind.REMIND and o.clock == notification.clock
               and o.deadline == notification.deadline and o.level < notification.level and o.key in fired]
    said = humanize(notification.deadline - now)
    return any(humanize(o.deadline - o.fire_at) == said for o in earlier)


def _channel(ticket: Ticket, channels: dict) -> Conversation | None:
    platform = ticket.source.platform
    channel = channels.get(platform)
    return Conversation(platform=platform, id=channel, kind=ConversationKind.CHANNEL) if channel else None
