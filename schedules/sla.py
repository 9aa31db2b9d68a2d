"""The SLA provider of the deadline sweep: reminders before and escalations after a ticket's deadlines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.directory import Directory
from bot.events import Conversation, ConversationKind
from bot.i18n import translator
from bot.ports import Outgoing, OutgoingKind, TicketStore, UnitOfWork
from bot.sla import NoticeKind, Notification, SlaPolicy, escalation_targets
from bot.subjects import Viewer
from bot.tickets import Ticket
from cards.sla_text import amount, what
from handlers.notify import dm_target, post_card, tell_person, update_cards
from schedules.sweep import DeadlineSweep, Due, MessageBatch, Notice, Plan


class SlaProvider:
    """What is due on tickets' SLA clocks, and what each reminder and escalation level says to whom."""

    name = "sla"

    def __init__(self, *, policy: SlaPolicy, directory: Directory, config):
        self.policy, self.directory, self.config = policy, directory, config

    async def due(self, uow: UnitOfWork, now: datetime, limit: int) -> list[Due[Ticket]]:
        """Tickets whose bookmark has come, with their fired keys and cards (one query)."""
        return [Due(ticket.subject, ticket, fired, placements)
                for ticket, fired, placements in await uow.tickets_due(now, limit)]

    def plan(self, due: Due[Ticket], now: datetime) -> Plan:
        """Every reminder and escalation of the ticket's deadlines that is due and unfired; the next bookmark."""
        ticket = due.item
        schedule = self.policy.schedule(ticket, now)
        ready = [n for n in schedule if n.fire_at <= now and n.key not in due.fired]
        notices = [Notice(n.key, not (_superseded(n, ready) or self.policy.acknowledged(ticket, n)), n) for n in ready]
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
        """The cards' SLA badge changes band."""
        await update_cards(out, due.item, due.placements)

    async def move_bookmarks(self, uow: UnitOfWork, bookmarks: Sequence[tuple[Due[Ticket], datetime | None]]) -> None:
        """One executemany for the batch; a ticket changed since it was read keeps its newer bookmark."""
        await uow.set_ticket_bookmarks([(due.item, next_due) for due, next_due in bookmarks])

    async def _remind(self, out: MessageBatch, ticket: Ticket, n: Notification, now: datetime) -> None:
        """To the assignee with the card; to the department's queue (triage channel) when unassigned."""
        def text(t) -> str:
            return t._("⏰ {number} ({priority}): {what} due in {left} — {title}", number=ticket.number,
                       priority=ticket.priority.value, what=what(n.clock, t), left=amount(n.deadline - now, t),
                       title=ticket.title)
        person = self.directory.person(ticket.assignee)
        if person is not None and await tell_person(out, self.directory, person.key, text, prefer=ticket.source.platform):
            target = dm_target(person, ticket.source.platform)
            await post_card(out, ticket, target, viewer=Viewer.STAFF, language=self.directory.language_of(person))
            return
        queue = _channel(ticket, self.config.triage_channels)
        if queue is not None:
            t = translator(self.directory.default_language)
            await out.enqueue(Outgoing(OutgoingKind.TEXT, queue, text=text(t), language=t.language))

    async def _escalate(self, out: MessageBatch, ticket: Ticket, n: Notification, now: datetime) -> None:
        """To the level's people by DM, and to the escalation channel, each with the card ("I'm on it")."""
        def text(t) -> str:
            return t._("🚨 Escalation level {level}: {number} ({priority}) {what} was due {ago} ago — {title}",
                       level=n.level + 1, number=ticket.number, priority=ticket.priority.value,
                       what=what(n.clock, t), ago=amount(now - n.deadline, t), title=ticket.title)
        for key in escalation_targets(ticket, n.to, self.directory):
            person = self.directory.person(key)
            if await tell_person(out, self.directory, key, text, prefer=ticket.source.platform):
                await post_card(out, ticket, dm_target(person, ticket.source.platform), viewer=Viewer.STAFF,
                                language=self.directory.language_of(person))
        channel = _channel(ticket, self.config.sla.escalation_channels)
        if channel is not None:
            t = translator(self.directory.default_language)
            await out.enqueue(Outgoing(OutgoingKind.TEXT, channel, text=text(t), language=t.language))
            await post_card(out, ticket, channel, viewer=Viewer.STAFF, language=t.language)


def _superseded(notification: Notification, due: list[Notification]) -> bool:
    """After downtime, an old reminder is not worth sending when a later one for the same deadline is due."""
    return notification.kind is NoticeKind.REMIND and any(
        other.clock == notification.clock and other.deadline == notification.deadline
        and other.fire_at > notification.fire_at for other in due)


def _channel(ticket: Ticket, channels: dict) -> Conversation | None:
    platform = ticket.source.platform
    channel = channels.get(platform)
    return Conversation(platform=platform, id=channel, kind=ConversationKind.CHANNEL) if channel else None


def sla_sweep(*, store: TicketStore, policy: SlaPolicy, directory: Directory, config, clock,
              wake_outbox=None, **options) -> DeadlineSweep:
    """The deadline sweep with SLA clocks as its provider (the others join the same list); `options`: batch, history."""
    return DeadlineSweep(store=store, providers=[SlaProvider(policy=policy, directory=directory, config=config)],
                         clock=clock, wake_outbox=wake_outbox, **options)
