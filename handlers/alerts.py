"""Alerts raised by what people do (a P0, a customer's repeat tickets, a low rating), the Acknowledge press and
`/ticket alerts`; `raise_alert` is the one way any rule (schedules/alerts.py too) raises and sends one.

An alert is raised in the same transaction as the change that caused it, by an insert of its unique (rule,
subject, window): a retried delivery, a restart or a second replica finds it there and sends nothing again.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.alerts import (
    EVIDENCE_TICKETS,
    LISTED,
    MAX_ALERT_ID,
    NO_WINDOW,
    Alert,
    HasAlerts,
    Rule,
    StaleAlert,
    resolve_recipients,
)
from bot.csat import Survey
from bot.directory import Directory
from bot.events import ButtonPressed, Platform
from bot.ports import MessageSink, Placements, UnitOfWork
from bot.tickets import Priority, Ticket
from cards import actions
from cards.alert import ACKNOWLEDGE, headline
from cards.ticket import STAFF_VIEW
from handlers.notify import dm_target, post_card, refresh_cards
from handlers.turn import Turn


class AlertSink(HasAlerts, MessageSink, Placements, Protocol):
    """A unit of work as raising an alert needs it."""


async def raise_alert(uow: AlertSink, alert: Alert, *, directory: Directory, prefer: Platform | None = None,
                      among: Collection[Platform] | None = None) -> Alert | None:
    """Claim the alert's (rule, subject, window) and post its card to each recipient's DM, in their language;
    None (nothing sent) when it was raised before."""
    stored = await uow.alerts().raise_alert(alert)
    if stored is None:
        return None
    for key in stored.recipients:
        person = directory.person(key)
        target = dm_target(person, prefer, among) if person else None
        if target is not None:
            await post_card(uow, stored, target, viewer=STAFF_VIEW, language=directory.language_of(person))
    return stored


def _ticket_roles(ticket: Ticket) -> dict[str, str | None]:
    return {"assignee": ticket.assignee}


async def on_created(turn: Turn, uow: UnitOfWork, ticket: Ticket) -> None:
    """A new ticket: P0 → p0_created; from a customer with enough tickets lately → repeat_customer."""
    if ticket.priority is Priority.P0:
        await p0_raised(turn, uow, ticket)
    if turn.person.is_customer:
        await _repeat_customer(turn, uow, ticket)


async def p0_raised(turn: Turn, uow: UnitOfWork, ticket: Ticket) -> None:
    """The ticket is P0 (opened so, or raised): its director or department head hears at once, once per ticket."""
    rule, directory = turn.ctx.config.alerts.p0_created, turn.ctx.directory
    if rule is None:
        return
    evidence = {"ticket_id": ticket.id, "title": ticket.title, "customer": ticket.customer_name,
                "department": ticket.department, "assignee": ticket.assignee}
    to = resolve_recipients(rule.to, directory=directory, department=ticket.department, roles=_ticket_roles(ticket))
    await raise_alert(uow, Alert(Rule.P0_CREATED, f"ticket:{ticket.id}", NO_WINDOW, turn.ctx.clock.now(), evidence,
                                 to), directory=directory, prefer=ticket.source.platform)


def p0_followup(turn: Turn):
    """p0_raised as a change's followup (the priority raised to P0)."""
    async def alert(uow: UnitOfWork, ticket: Ticket) -> None:
        await p0_raised(turn, uow, ticket)
    return alert


async def _repeat_customer(turn: Turn, uow: UnitOfWork, ticket: Ticket) -> None:
    rule, directory, now = turn.ctx.config.alerts.repeat_customer, turn.ctx.directory, turn.ctx.clock.now()
    if rule is None:
        return
    customer = turn.person
    since = now - timedelta(days=rule.days)
    identities = [(platform, user_id) for platform, ids in customer.identities.items() for user_id in ids]
    count, tickets = await uow.alert_counts().customer_tickets(identities, since, EVIDENCE_TICKETS)
    subject = f"customer:{customer.key}"
    # One alert per streak: after one, the next needs a fresh window of `days` (a customer who keeps writing
    # is one churn risk, not one per ticket).
    if count < rule.min_tickets or await uow.alerts().raised_since(Rule.REPEAT_CUSTOMER, subject, since):
        return
    to = resolve_recipients(rule.to, directory=directory, department=ticket.department,
                            roles={"account_manager": customer.account_manager})
    if not customer.account_manager:
        to = list(dict.fromkeys(to + resolve_recipients(rule.otherwise, directory=directory,
                                                        department=ticket.department)))
    evidence = {"customer": ticket.customer_name or customer.name, "count": count, "days": rule.days,
                "tickets": [[ticket_id, title] for ticket_id, title in tickets]}
    window = now.astimezone(ZoneInfo(turn.ctx.config.business_hours.timezone)).date().isoformat()
    await raise_alert(uow, Alert(Rule.REPEAT_CUSTOMER, subject, window, now, evidence, to), directory=directory,
                      prefer=ticket.source.platform)


async def on_rated(turn: Turn, uow: UnitOfWork, survey: Survey) -> None:
    """A survey scored at most low_csat.max_score: the lead and the assignee hear of it, once per survey."""
    rule, directory = turn.ctx.config.alerts.low_csat, turn.ctx.directory
    if rule is None or survey.score is None or survey.score > rule.max_score:
        return
    ticket = await uow.get_ticket(survey.ticket_id)
    if ticket is None:
        return
    evidence = {"ticket_id": ticket.id, "title": ticket.title, "score": survey.score, "comment": survey.comment,
                "customer": ticket.customer_name, "assignee": ticket.assignee}
    to = resolve_recipients(rule.to, directory=directory, department=ticket.department, roles=_ticket_roles(ticket))
    await raise_alert(uow, Alert(Rule.LOW_CSAT, f"survey:{survey.id}", NO_WINDOW, turn.ctx.clock.now(), evidence,
                                 to), directory=directory, prefer=ticket.source.platform)


async def on_commented(uow: AlertSink, survey: Survey) -> None:
    """The comment that came after a low score joins its alert's card (every copy is re-drawn)."""
    alert = await uow.alerts().find(Rule.LOW_CSAT, f"survey:{survey.id}", NO_WINDOW)
    if alert is None:
        return
    alert.evidence = {**alert.evidence, "comment": survey.comment}
    await uow.alerts().set_evidence(alert)
    await refresh_cards(uow, alert)


# ---- people ---------------------------------------------------------------------------------------------------
async def _answer(turn: Turn, text: str) -> None:
    await turn.answer(text)


async def press_alert(turn: Turn, event: ButtonPressed, refs: list[actions.ActionRef]) -> None:
    """Acknowledge: staff only; the first press records who, every copy of the card shows it, later ones are told."""
    t = turn.t
    if turn.person.is_customer:
        await _answer(turn, t._("Alerts are for staff only."))
        return
    ref = actions.decode(event.action)
    if ref is None or ref.action != ACKNOWLEDGE or ref.subject_id > MAX_ALERT_ID:
        await _answer(turn, t._("That choice is not valid."))
        return
    async with turn.ctx.store.unit() as uow:
        alert = (await uow.alerts().load([ref.subject_id])).get(ref.subject_id)
        if alert is None:
            await turn.reply(uow, t._("That choice is not valid."), private=True)
        else:
            mine = False
            if alert.acked_at is None:
                try:
                    await uow.alerts().acknowledge(alert, by=turn.person.key, at=turn.ctx.clock.now())
                    mine = True
                except StaleAlert:  # a press at the same moment won: say whose it is
                    alert = (await uow.alerts().load([alert.id]))[alert.id]
            answer = (t._("You acknowledged {number}.", number=alert.number) if mine else
                      t._("{number} was already acknowledged by {name}.", number=alert.number,
                          name=_name(turn.ctx.directory, alert.acked_by)))
            await refresh_cards(uow, alert)
            await turn.reply(uow, answer, private=True)
        await turn.finish(uow)


def _name(directory: Directory, key: str | None) -> str:
    person = directory.person(key)
    return person.name if person else (key or "—")


async def list_alerts(turn: Turn) -> None:
    """`/ticket alerts`: the open (unacknowledged) alerts, newest first, to staff."""
    t = turn.t
    if turn.person.is_customer:
        await _answer(turn, t._("Alerts are for staff only."))
        return
    async with turn.ctx.store.snapshot() as reads:
        alerts, total = await reads.alerts().open_alerts(LISTED)
    if not alerts:
        await _answer(turn, t._("No open alerts."))
        return
    zone = ZoneInfo(turn.ctx.directory.timezone_of(turn.person))
    lines = [t._("Open alerts ({count}), newest first:", count=total)]
    for alert in alerts:
        lines.append(f"• {alert.number} {headline(alert, t, turn.ctx.directory)} · {_when(alert.raised_at, zone)}")
    if total > len(alerts):
        lines.append(t._("… and {n} more", n=total - len(alerts)))
    await _answer(turn, "\n".join(lines))


def _when(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%m-%d %H:%M")
