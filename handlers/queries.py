"""list / show / stats / sla: answers that change nothing."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.i18n.labels import priority_label, status_label
from bot.permissions import LIST, STATS, VIEW, denial
from bot.ports import TicketQuery
from bot.tickets import OPEN_STATUSES, Priority, Status, Ticket, format_number
from cards.ticket import CUSTOMER_VIEW, STAFF_VIEW
from handlers.notify import post_card
from handlers.sla_text import sla_lines
from handlers.turn import Turn


def ticket_line(ticket: Ticket, turn: Turn) -> str:
    """One line of a ticket list."""
    t = turn.t
    assignee = turn.ctx.directory.person(ticket.assignee)
    return t._("{number} [{priority}] {status} · {title} · {assignee}", number=ticket.number,
               priority=ticket.priority.value, status=status_label(ticket.status, t), title=ticket.title,
               assignee=assignee.name if assignee else t._("Unassigned"))


async def show(turn: Turn, ticket_id: int) -> None:
    """Post the ticket's card (remembered, so it stays current) with its recent timeline."""
    t = turn.t
    async with turn.ctx.store.unit() as uow:
        ticket = await uow.get_ticket(ticket_id)
        reason = denial(turn.person, VIEW, ticket) if ticket else None
        if ticket is None or reason:
            # A customer probing other numbers learns nothing about them.
            await turn.reply(uow, t._("There is no ticket {number}.", number=format_number(ticket_id))
                             if ticket is None or turn.person.is_customer else t._(reason), private=True)
        else:
            viewer = CUSTOMER_VIEW if turn.person.is_customer else STAFF_VIEW
            await post_card(uow, ticket, turn.conversation, viewer=viewer, language=t.language)
            entries = await uow.timeline(ticket.id)
            if viewer == CUSTOMER_VIEW:
                entries = [e for e in entries if e.visibility.value == "public"]
            lines = [_timeline_line(turn, e) for e in entries[-8:]]
            if lines:
                await turn.reply(uow, t._("Recent activity on {number}:", number=ticket.number) + "\n" + "\n".join(lines))
        await turn.finish(uow)


def _timeline_line(turn: Turn, entry) -> str:
    who = turn.ctx.directory.person(entry.actor)
    name = who.name if who else entry.actor
    # Only the values there are: a creation has no "before", a note neither.
    change = " → ".join(value for value in (entry.before, entry.after) if value)
    text = f" “{entry.text}”" if entry.text else ""
    when = entry.at.strftime("%m-%d %H:%M")
    return f"· {when} {name} {entry.kind} {change}{text}".rstrip()


async def list_tickets(turn: Turn, scope: str) -> None:
    """list mine|open|unassigned|breaching — customers only ever see their own."""
    t, person = turn.t, turn.person
    query = TicketQuery(statuses=frozenset(OPEN_STATUSES))
    if person.is_customer:
        query = TicketQuery(statuses=frozenset(OPEN_STATUSES | {Status.RESOLVED}), requester_platform=turn.platform,
                            requester_user_id=turn.event.actor.user_id)
    elif scope == "mine":
        query = TicketQuery(statuses=frozenset(OPEN_STATUSES), assignee=person.key)
    elif scope == "unassigned":
        query = TicketQuery(statuses=frozenset(OPEN_STATUSES), unassigned=True)
    elif scope == "breaching":
        query = TicketQuery(statuses=frozenset(OPEN_STATUSES), limit=100_000)
    async with turn.ctx.store.unit() as uow:
        reason = denial(person, LIST)
        if reason:
            await turn.reply(uow, t._(reason), private=True)
            await turn.finish(uow)
            return
        tickets = await uow.list_tickets(query)
        if scope == "breaching" and not person.is_customer:
            tickets = breaching(turn, tickets)
        if tickets:
            text = t._("{count} tickets:", count=len(tickets)) + "\n" + "\n".join(ticket_line(x, turn) for x in tickets)
        else:
            text = t._("No tickets here.")
        await turn.reply(uow, text, private=not person.is_customer and turn.conversation.kind.value != "dm")
        await turn.finish(uow)


def breaching(turn: Turn, tickets: list[Ticket]) -> list[Ticket]:
    """Tickets breached or with under a fifth of their window left, the most urgent (least time left) first."""
    policy, now = turn.ctx.sla, turn.ctx.clock.now()
    if policy is None:
        return []
    scored = []
    for ticket in tickets:
        state = policy.state(ticket, now)
        if state.remaining is None or ticket.created_at is None:
            continue
        window = state.due - ticket.created_at
        if state.breached or state.remaining <= window * 0.2:
            scored.append((state.remaining, ticket))
    return [ticket for _remaining, ticket in sorted(scored, key=lambda pair: pair[0])]


async def stats(turn: Turn) -> None:
    """Counts by status and, for open tickets, by priority."""
    t = turn.t
    async with turn.ctx.store.unit() as uow:
        reason = denial(turn.person, STATS)
        if reason or turn.person.is_customer:
            await turn.reply(uow, t._(reason or "Only the support team can do that."), private=True)
            await turn.finish(uow)
            return
        tickets = await uow.list_tickets(TicketQuery(limit=100_000))
        by_status = {s: sum(1 for x in tickets if x.status is s) for s in Status}
        open_tickets = [x for x in tickets if x.is_open]
        by_priority = {p: sum(1 for x in open_tickets if x.priority is p) for p in Priority}
        lines = [t._("Tickets by status:")]
        lines += [f"· {status_label(s, t)}: {n}" for s, n in by_status.items()]
        lines.append(t._("Open tickets by priority:"))
        lines += [f"· {priority_label(p, t)}: {n}" for p, n in by_priority.items()]
        lines.append(t._("Unassigned open tickets: {count}", count=sum(1 for x in open_tickets if not x.assignee)))
        await turn.reply(uow, "\n".join(lines))
        await turn.finish(uow)


async def sla(turn: Turn, ticket_id: int) -> None:
    """Both clocks, the pauses and what fires next."""
    t, policy = turn.t, turn.ctx.sla
    zone = ZoneInfo(turn.ctx.config.business_hours.timezone)

    def fmt(value):
        return value.astimezone(zone).strftime("%m-%d %H:%M") if value else "—"

    async with turn.ctx.store.unit() as uow:
        ticket = await uow.get_ticket(ticket_id)
        if ticket is None or denial(turn.person, VIEW, ticket):
            await turn.reply(uow, t._("There is no ticket {number}.", number=format_number(ticket_id)), private=True)
        else:
            lines = [t._("{number} ({priority}, {status})", number=ticket.number, priority=ticket.priority.value,
                         status=status_label(ticket.status, t)),
                     t._("Opened: {at}", at=fmt(ticket.created_at))]
            if policy is not None:
                fired = await uow.fired_notifications(ticket.id)
                lines += sla_lines(policy, ticket, turn.ctx.clock.now(), fired, t, fmt)
            await turn.reply(uow, "\n".join(lines))
        await turn.finish(uow)
