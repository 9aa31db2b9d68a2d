"""The SLA sweep: an indexed query for due tickets → reminders and escalations, each claimed exactly once."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from bot.directory import Directory, Role
from bot.events import Conversation, ConversationKind
from bot.i18n import translator
from bot.ports import CardPlacement, Clock, Outgoing, OutgoingKind, TicketStore, UnitOfWork
from bot.sla import Notification, SlaPolicy
from bot.tickets import Ticket
from cards.ticket import STAFF_VIEW
from handlers.notify import dm_target, post_card, refresh_cards, tell_person
from handlers.sla_text import amount, what

log = logging.getLogger(__name__)


class _Collector:
    """Takes the unit of work's place in handlers.notify's helpers: gathers a batch's messages in order.

    The batch then writes them with one enqueue_many, inside the same transaction as its claims.
    """

    def __init__(self):
        self.messages: list[Outgoing] = []

    async def enqueue(self, message: Outgoing) -> None:
        """Keep `message` for the batch's enqueue_many."""
        self.messages.append(message)


class SlaSweep:
    """One tick: find tickets whose bookmark is due, fire what is due for each, move the bookmark."""

    def __init__(self, *, store: TicketStore, policy: SlaPolicy, directory: Directory, config, clock: Clock,
                 wake_outbox=None, batch: int = 500, history: int = 1000):
        self.store, self.policy, self.directory, self.config, self.clock = store, policy, directory, config, clock
        self.wake_outbox = wake_outbox
        self.batch = batch
        self.history = history  # how many recent tick durations each series below keeps
        self.tick_ms: list[float] = []  # durations of recent ticks, for the benchmark and diagnostics
        self.idle_tick_ms: list[float] = []  # … of those that found nothing to send
        self.busy_tick_ms: list[float] = []  # … and of those that sent something

    async def tick(self) -> int:
        """Evaluate every due ticket (in batches, one transaction each); returns how many notifications were sent."""
        started = time.perf_counter()
        now = self.clock.now()
        sent = 0
        while True:
            # Read inside the batch's own transaction, fired keys and cards included: a separate read
            # cost a transaction and two more round trips, most of a small tick.
            async with self.store.unit() as uow:
                due = await uow.due_for_sweep(now, self.batch)
                if due:
                    sent += await self._evaluate_batch(uow, due, now)
            if len(due) < self.batch:
                break
        elapsed = (time.perf_counter() - started) * 1000
        for series in (self.tick_ms, self.busy_tick_ms if sent else self.idle_tick_ms):
            series.append(elapsed)
            del series[:-self.history]
        if sent and self.wake_outbox:
            self.wake_outbox()
        return sent

    async def _evaluate_batch(self, uow: UnitOfWork, due_tickets: list[tuple[Ticket, set[str], list[CardPlacement]]],
                              now: datetime) -> int:
        """Claim every due notification of the batch at once, send the ones won, move every bookmark."""
        claims, bookmarks, pending = [], [], []
        placements = {ticket.id: cards for ticket, _done, cards in due_tickets}
        for ticket, done, _cards in due_tickets:
            schedule = self.policy.schedule(ticket, now)
            due = [n for n in schedule if n.fire_at <= now and n.key not in done]
            for notification in due:
                skip = self._superseded(notification, due) or self._acknowledged(ticket, notification)
                claims.append((ticket.id, notification.key, not skip))
                if not skip:
                    pending.append((ticket, notification))
            upcoming = [n.fire_at for n in schedule if n.fire_at > now and n.key not in done]
            bookmarks.append((ticket, min(upcoming, default=None)))
        # The claims and the messages commit together: what another replica (or an earlier run) already
        # claimed comes back missing here, and is not sent again.
        won = await uow.claim_notifications(claims)
        out = _Collector()
        sent_tickets: dict[int, Ticket] = {}
        for ticket, notification in pending:
            if (ticket.id, notification.key) in won:
                await self._send(out, ticket, notification, now)
                sent_tickets[ticket.id] = ticket
        await uow.set_next_due_many(bookmarks)
        for ticket_id, ticket in sent_tickets.items():
            await refresh_cards(out, ticket, placements[ticket_id])  # the badge changes band
        await uow.enqueue_many(out.messages)  # same transaction as the claims
        return sum(1 for ticket, n in pending if (ticket.id, n.key) in won)

    @staticmethod
    def _superseded(notification: Notification, due: list[Notification]) -> bool:
        """After downtime, an old reminder is not worth sending when a later one for the same deadline is due."""
        return notification.kind == "remind" and any(
            other.clock == notification.clock and other.deadline == notification.deadline
            and other.fire_at > notification.fire_at for other in due)

    @staticmethod
    def _acknowledged(ticket: Ticket, notification: Notification) -> bool:
        stamp = f"{notification.clock.value}:{notification.deadline.isoformat()}"
        return notification.kind == "escalate" and ticket.escalation_acked == stamp

    async def _send(self, out: _Collector, ticket: Ticket, notification: Notification, now: datetime) -> None:
        if notification.kind == "remind":
            await self._remind(out, ticket, notification, now)
        else:
            await self._escalate(out, ticket, notification, now)

    async def _remind(self, out: _Collector, ticket: Ticket, n: Notification, now: datetime) -> None:
        """To the assignee with the card; to the department's queue (triage channel) when unassigned."""
        def text(t) -> str:
            return t._("⏰ {number} ({priority}): {what} due in {left} — {title}", number=ticket.number,
                       priority=ticket.priority.value, what=what(n.clock, t), left=amount(n.deadline - now, t),
                       title=ticket.title)
        person = self.directory.person(ticket.assignee)
        if person is not None and await tell_person(out, self.directory, person.key, text, prefer=ticket.source.platform):
            target = dm_target(person, ticket.source.platform)
            await post_card(out, ticket, target, viewer=STAFF_VIEW, language=self.directory.language_of(person))
            return
        queue = self._channel(ticket, self.config.triage_channels)
        if queue is not None:
            t = translator(self.directory.default_language)
            await out.enqueue(Outgoing(OutgoingKind.TEXT, queue, text=text(t), language=t.language))

    async def _escalate(self, out: _Collector, ticket: Ticket, n: Notification, now: datetime) -> None:
        """To the level's people by DM, and to the escalation channel, each with the card ("I'm on it")."""
        def text(t) -> str:
            return t._("🚨 Escalation level {level}: {number} ({priority}) {what} was due {ago} ago — {title}",
                       level=n.level + 1, number=ticket.number, priority=ticket.priority.value,
                       what=what(n.clock, t), ago=amount(now - n.deadline, t), title=ticket.title)
        for key in self.recipients(ticket, n.to):
            person = self.directory.person(key)
            if await tell_person(out, self.directory, key, text, prefer=ticket.source.platform):
                await post_card(out, ticket, dm_target(person, ticket.source.platform), viewer=STAFF_VIEW,
                                language=self.directory.language_of(person))
        channel = self._channel(ticket, self.config.sla.escalation_channels)
        if channel is not None:
            t = translator(self.directory.default_language)
            await out.enqueue(Outgoing(OutgoingKind.TEXT, channel, text=text(t), language=t.language))
            await post_card(out, ticket, channel, viewer=STAFF_VIEW, language=t.language)

    def recipients(self, ticket: Ticket, to: str | None) -> list[str]:
        """Directory keys for an escalation target: a role relative to the ticket, or a person."""
        department = ticket.department or ""
        match to:
            case "assignee":
                return [ticket.assignee] if ticket.assignee else [p.key for p in self.directory.members(department, Role.LEAD)]
            case "lead":
                return [p.key for p in self.directory.members(department, Role.LEAD)]
            case "department_head":
                head = self.directory.departments.get(department)
                return [head.head] if head and head.head else []
            case "manager":
                managers = self.directory.members(department, Role.MANAGER) or [
                    p for p in self.directory.people() if p.has(Role.MANAGER)]
                return [p.key for p in managers]
            case None:
                return []
            case _:
                return [to]

    @staticmethod
    def _channel(ticket: Ticket, channels: dict) -> Conversation | None:
        platform = ticket.source.platform
        channel = channels.get(platform)
        return Conversation(platform=platform, id=channel, kind=ConversationKind.CHANNEL) if channel else None
