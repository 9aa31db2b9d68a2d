"""list / show / stats / sla: answers that change nothing."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.directory import department_choice
from bot.i18n.labels import category_label, priority_label, status_label
from bot.permissions import LIST, STATS, VIEW, denial
from bot.ports import TicketQuery
from bot.reasons import How, LinkDirection
from bot.routing import rule_title
from bot.tickets import OPEN_STATUSES, Priority, Status, Ticket, TimelineEntry, TimelineKind, format_number
from cards.sla_text import sla_lines
from cards.survey import timeline_words
from cards.ticket import CUSTOMER_VIEW, STAFF_VIEW
from handlers import attachments
from handlers.notify import post_card
from handlers.turn import Turn

PAGE_SIZE = 20  # tickets per list message: small enough for every platform's message limit
COUNT_CAP = 10_000  # "… and 10,000+ more": beyond this a count would cost more than it tells
RECENT_ACTIVITY = 8  # timeline entries shown by `show`
_SCOPE_WORDS_ZH = {"mine": "我的", "open": "未结", "unassigned": "未分配", "breaching": "超时"}


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
            # The last entries only, read as such: a long-lived ticket's history stays in the database.
            entries = await uow.recent_timeline(ticket.id, RECENT_ACTIVITY, public_only=viewer == CUSTOMER_VIEW)
            lines = [_timeline_line(turn, e) for e in entries]
            if lines:
                await turn.reply(uow, t._("Recent activity on {number}:", number=ticket.number) + "\n" + "\n".join(lines))
            await attachments.list_files(turn, uow, ticket, public_only=viewer == CUSTOMER_VIEW)
        await turn.finish(uow)


def _timeline_line(turn: Turn, entry: TimelineEntry) -> str:
    """One history line as a person would say it: names, labels and time in the reader's language and zone."""
    t = turn.t
    zone = ZoneInfo(turn.ctx.directory.timezone_of(turn.person))
    who = _someone(turn, entry.actor)
    quoted = f" “{entry.text}”" if entry.text else ""
    detail = entry.detail or {}
    match entry.kind:
        case TimelineKind.CREATED:
            said = t._("{who} opened the ticket", who=who) + quoted
        case TimelineKind.ROUTED:
            said = t._("routed by {rule}: {result}", rule=_rule(turn, detail.get("rule", "?")),
                       result=_routed(turn, detail))
        case TimelineKind.ASSIGNED:
            to = _someone(turn, entry.after)
            how = detail.get("how")
            if entry.before:
                said = t._("{who} reassigned it from {before} to {after}", who=who,
                           before=_someone(turn, entry.before), after=to)
            elif how and how != How.REQUESTER:
                # A rule or the department's rotation chose: the person whose message opened it did not.
                said = t._("assigned to {after}", after=to)
            else:
                said = t._("{who} assigned it to {after}", who=who, after=to)
            if how:
                said += f" ({_how(turn, detail)})"
        case TimelineKind.STATUS:
            said = t._("{who} changed the status: {before} → {after}", who=who,
                       before=_label(Status, status_label, entry.before, t),
                       after=_label(Status, status_label, entry.after, t)) + quoted
        case TimelineKind.PRIORITY:
            said = t._("{who} changed the priority: {before} → {after}", who=who,
                       before=_label(Priority, priority_label, entry.before, t),
                       after=_label(Priority, priority_label, entry.after, t))
        case TimelineKind.CATEGORY:
            after = category_label(entry.after or "", t)
            said = (t._("{who} changed the category: {before} → {after}", who=who,
                        before=category_label(entry.before, t), after=after) if entry.before
                    else t._("{who} set the category: {after}", who=who, after=after))
        case TimelineKind.NOTE:
            said = t._("{who} added a note:", who=who) + quoted
        case TimelineKind.REPLY:
            said = t._("{who} replied:", who=who) + quoted
        case TimelineKind.CUSTOMER_MESSAGE:
            said = t._("{who} wrote:", who=who) + quoted
        case TimelineKind.ESCALATION_ACK:
            # Its text is the breach's key: a stored name, not words for a reader.
            said = t._("{who} took on the escalation", who=who)
        case TimelineKind.LINKED:
            said = (t._("continues the closed ticket {number}", number=entry.after or "?")
                    if detail.get("link") == LinkDirection.FOLLOWS
                    else t._("continued in {number}", number=entry.after or "?"))
        case TimelineKind.REQUEST:
            said = _request_line(turn, entry, who) + quoted
        case TimelineKind.CSAT:
            said = timeline_words(detail, t) + quoted
        case _:
            said = f"{who} {entry.kind}{quoted}"
    return f"· {entry.at.astimezone(zone).strftime('%m-%d %H:%M')} {said}".rstrip()


def _someone(turn: Turn, key: str | None) -> str:
    """A person's name, a department's name ('d:finance'), or what is stored when neither is known."""
    if not key:
        return turn.t._("nobody")
    return turn.ctx.directory.display_name(key, turn.t.language)


def _label(enum, label, value: str | None, t) -> str:
    """A stored enum value as its label; what does not parse is shown as stored."""
    try:
        return label(enum(value), t)
    except ValueError:
        return value or "—"


def _request_line(turn: Turn, entry: TimelineEntry, who: str) -> str:
    """A request's step on the ticket's history, in the reader's words."""
    t, detail, number = turn.t, entry.detail or {}, entry.after or "?"
    match detail.get("event"):
        case "asked":
            return t._("{who} asked {name} ({number}):", who=who, name=_someone(turn, detail.get("to")),
                       number=number)
        case "accepted":
            return t._("{who} is on {number}", who=who, number=number)
        case "answered":
            return t._("{who} answered {number}:", who=who, number=number)
        case "declined":
            return t._("{who} declined {number}", who=who, number=number)
        case "handed_over":
            return t._("{who} handed {number} to {name}", who=who, number=number, name=_someone(turn, detail.get("to")))
        case "cancelled":
            return t._("{who} cancelled {number}", who=who, number=number)
        case "moved":
            return t._("{who} moved the deadline of {number}", who=who, number=number)
    return f"{who} {number}"


def _rule(turn: Turn, key: str) -> str:
    """A routing rule by the key the timeline keeps, named from the config in the reader's language."""
    return turn.t._("rule “{rule}”", rule=rule_title(turn.ctx.config.routing, key, turn.t.language))


def _how(turn: Turn, detail: dict[str, str]) -> str:
    """How an assignment came about, in the reader's words."""
    t = turn.t
    match detail.get("how"):
        case How.REQUESTER:
            return t._("by the requester")
        case How.RULE:
            return _rule(turn, detail.get("rule", "?"))
        case How.ROUND_ROBIN:
            return t._("round-robin in {department}", department=_someone(turn, department_choice(detail.get('department', ''))))
        case How.LEAST_LOADED:
            return t._("least-loaded in {department}", department=_someone(turn, department_choice(detail.get('department', ''))))
    return detail.get("how", "")


def _routed(turn: Turn, detail: dict[str, str]) -> str:
    """What a rule set, as labels: 'Billing, Finance'."""
    t, words = turn.t, []
    if value := detail.get("category"):
        words.append(category_label(value, t))
    if value := detail.get("department"):
        words.append(_someone(turn, department_choice(value)))
    if value := detail.get("priority"):
        words.append(_label(Priority, priority_label, value, t))
    if value := detail.get("assignee"):
        words.append(_someone(turn, value))
    return ", ".join(words)


async def list_tickets(turn: Turn, scope: str, *, priority: Priority | None = None, page: int = 1) -> None:
    """list mine|open|unassigned|breaching [P0-P3] [page]: one page, how many more, and how to get them.

    Customers only ever see their own.
    """
    t, person = turn.t, turn.person
    query = TicketQuery(statuses=frozenset(OPEN_STATUSES), limit=PAGE_SIZE)
    if person.is_customer:
        query = TicketQuery(statuses=frozenset(OPEN_STATUSES | {Status.RESOLVED}), requester_platform=turn.platform,
                            requester_user_id=turn.event.actor.user_id, limit=PAGE_SIZE)
    elif scope == "mine":
        query = TicketQuery(statuses=frozenset(OPEN_STATUSES), assignee=person.key, limit=PAGE_SIZE)
    elif scope == "unassigned":
        query = TicketQuery(statuses=frozenset(OPEN_STATUSES), unassigned=True, limit=PAGE_SIZE)
    by_clock = scope == "breaching" and not person.is_customer
    offset = (page - 1) * PAGE_SIZE
    # Counting stops a little past what a person would page through: the count costs what it counts.
    cap = offset + PAGE_SIZE + COUNT_CAP
    async with turn.ctx.store.snapshot() as reads:
        reason = denial(person, LIST)
        if reason:
            tickets, total = [], 0
        elif by_clock and turn.ctx.sla is None:
            tickets, total = [], 0
        elif by_clock:
            now = turn.ctx.clock.now()
            total = await reads.count_breaching(now, cap=cap, priority=priority)
            tickets = await reads.breaching_tickets(now, limit=PAGE_SIZE, offset=offset, priority=priority)
        else:
            total = await reads.count_tickets(query, priority=priority, cap=cap)
            tickets = await reads.ticket_page(query, priority=priority, offset=offset)
    async with turn.ctx.store.unit() as uow:
        if reason:
            await turn.reply(uow, t._(reason), private=True)
        else:
            text = _listing(turn, scope, priority, page, tickets, total, capped=total >= cap)
            await turn.reply(uow, text, private=not person.is_customer and turn.conversation.kind.value != "dm")
        await turn.finish(uow)


def _listing(turn: Turn, scope: str, priority: Priority | None, page: int, tickets: list[Ticket], total: int,
             *, capped: bool) -> str:
    t = turn.t
    if not tickets:
        if page > 1 and total:
            pages = -(-total // PAGE_SIZE)
            return t._("There is no page {page}; the list has {pages}.", page=page, pages=_amount(pages, capped))
        return t._("No tickets here.")
    header = (t.ngettext("{count} ticket:", "{count} tickets:", total, count=_amount(total, capped)) if page == 1
              else t.ngettext("{count} ticket, page {page}:", "{count} tickets, page {page}:", total,
                              count=_amount(total, capped), page=page))
    lines = [header, *(ticket_line(x, turn) for x in tickets)]
    more = total - (page - 1) * PAGE_SIZE - len(tickets)
    if more > 0:
        lines.append(t._("… and {count} more. Next page: {command}", count=_amount(more, capped),
                         command=_next_page(turn, scope, priority, page + 1)))
    return "\n".join(lines)


def _amount(count: int, capped: bool) -> str:
    """3,412 — or 10,000+ when counting stopped at its cap."""
    return f"{count:,}+" if capped else f"{count:,}"


def _next_page(turn: Turn, scope: str, priority: Priority | None, page: int) -> str:
    """The command that shows `page` of this list, in the words of the reader's language."""
    chinese = turn.t.language.startswith("zh")
    words = ["工单 列表" if chinese else "/ticket list"]
    if scope != "open":
        words.append(_SCOPE_WORDS_ZH.get(scope, scope) if chinese else scope)
    if priority is not None:
        words.append(priority.value)
    words.append(str(page))
    return " ".join(words)


async def stats(turn: Turn) -> None:
    """Counts by status and, for open tickets, by priority: aggregates in the database, no rows read."""
    t = turn.t
    reason = denial(turn.person, STATS)
    if not reason and not turn.person.is_customer:
        async with turn.ctx.store.snapshot() as reads:
            by_status, by_priority = await reads.ticket_counts()
            unassigned = await reads.count_tickets(TicketQuery(statuses=frozenset(OPEN_STATUSES), unassigned=True))
    async with turn.ctx.store.unit() as uow:
        if reason or turn.person.is_customer:
            await turn.reply(uow, t._(reason or "Only the support team can do that."), private=True)
            await turn.finish(uow)
            return
        lines = [t._("Tickets by status:")]
        lines += [f"· {status_label(s, t)}: {n}" for s, n in by_status.items()]
        lines.append(t._("Open tickets by priority:"))
        lines += [f"· {priority_label(p, t)}: {n}" for p, n in by_priority.items()]
        lines.append(t._("Unassigned open tickets: {count}", count=unassigned))
        await turn.reply(uow, "\n".join(lines))
        await turn.finish(uow)


async def sla(turn: Turn, ticket_id: int) -> None:
    """Both clocks, the pauses and what fires next."""
    t, policy = turn.t, turn.ctx.sla
    zone = ZoneInfo(turn.ctx.directory.timezone_of(turn.person))

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
                fired = await uow.fired_notifications(ticket.subject)
                lines += sla_lines(policy, ticket, turn.ctx.clock.now(), fired, t, fmt)
            lines.append(t._("Times are in {zone}.", zone=zone.key))  # a deadline read in the wrong zone misleads
            await turn.reply(uow, "\n".join(lines))
        await turn.finish(uow)
