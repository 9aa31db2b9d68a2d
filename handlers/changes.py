"""What each action does to a ticket: a builder per action for lifecycle.change_ticket, and the one table of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.directory import DEPARTMENT, PERSON, department_choice, parse_choice
from bot.i18n.labels import category_label, priority_label, status_label
from bot.ports import UnitOfWork, Urgency
from bot.reasons import How, assigned
from bot.sla import escalation_key
from bot.tickets import (
    Action,
    IllegalTransition,
    Priority,
    Status,
    Ticket,
    TimelineKind,
    Visibility,
    next_status,
)
from handlers import alerts
from handlers.assignment import agents_of, pick_agent, strategy
from handlers.lifecycle import Change, Refusal, check_permission, needs_unit
from handlers.notify import tell_customer, tell_person
from handlers.survey import ask_on_resolve
from handlers.turn import Turn


def claim(turn: Turn):
    """Take the ticket and start on it."""
    t = turn.t

    def build(ticket: Ticket) -> Change:
        confirm = t._("{number} claimed by {name}.", number=ticket.number, name=turn.person.name)
        if turn.person.department:
            ticket.department = ticket.department or turn.person.department
        if ticket.assignee == turn.person.key:
            # Already theirs: claiming only starts the work, so the status line is the whole record.
            after = next_status_safe(ticket, Action.CLAIM)
            if after == ticket.status.value:
                return Change(Action.CLAIM, TimelineKind.STATUS, unchanged=True,
                              confirm=t._("{number} is already assigned to you.", number=ticket.number))
            return Change(Action.CLAIM, TimelineKind.STATUS, ticket.status.value, after, confirm=confirm)
        before = ticket.assignee
        ticket.assignee = turn.person.key
        return Change(Action.CLAIM, TimelineKind.ASSIGNED, before, turn.person.key, confirm=confirm)
    return build


def assign(turn: Turn, target: str):
    """Hand the ticket to a person or a department queue named by `target`."""
    directory, t = turn.ctx.directory, turn.t
    kind, key = parse_choice(target)
    person = directory.person(key) if kind == PERSON else (
        None if kind == DEPARTMENT else directory.find_person(target, turn.platform))
    department = directory.departments.get(key) if kind == DEPARTMENT else (
        None if person else directory.find_department(target))
    if person is not None and not person.is_staff:
        person = None  # tickets go to staff; colleagues are asked, not assigned

    @needs_unit
    async def build(ticket: Ticket, uow: UnitOfWork) -> Change:
        if person is None and department is None:
            raise Refusal(t._("I don't know anyone or any team called '{name}'.", name=target))
        before = ticket.assignee
        if person is not None:
            if person.key == before:
                return Change(Action.ASSIGN, TimelineKind.ASSIGNED, before, person.key, unchanged=True,
                              confirm=t._("{number} is already assigned to {name}.", number=ticket.number,
                                          name=person.name))
            ticket.assignee = person.key
            ticket.department = person.department or ticket.department
            confirm = t._("{number} assigned to {name}.", number=ticket.number, name=person.name)
            followups = [] if person.key == turn.person.key else [_tell_assignee(turn, person.key)]
            return Change(Action.ASSIGN, TimelineKind.ASSIGNED, before, person.key, confirm=confirm, followups=followups)
        return await _to_department(turn, uow, ticket, department)
    return build


async def _to_department(turn: Turn, uow: UnitOfWork, ticket: Ticket, department) -> Change:
    """A department's queue is its agents: the ticket gets one of them (as intake picks), never no owner."""
    directory, t = turn.ctx.directory, turn.t
    team, before = department.name(t.language), ticket.assignee
    members = agents_of(directory, department.key)
    if not members:
        # Colleagues answer requests; they do not work a queue, so the ticket stays where it is.
        raise Refusal(t._("{team} has no agents, so it is not a ticket queue: {number} stays as it is. To get their "
                          "help, ask them: {command}", team=team, number=ticket.number,
                          command=t._("/ticket ask {number} @{team} <question> [by <deadline>]",
                                      number=ticket.number, team=department.key)))
    if before in members:
        if ticket.department == department.key:
            return Change(Action.ASSIGN, TimelineKind.ASSIGNED, unchanged=True,
                          confirm=t._("{number} is already in the {team} queue.", number=ticket.number, team=team))
        # Its owner already works there: only the department is new.
        old, ticket.department = ticket.department, department.key
        return Change(Action.ASSIGN, TimelineKind.ASSIGNED, department_choice(old) if old else None, department_choice(department.key),
                      confirm=t._("{number} moved to the {team} queue.", number=ticket.number, team=team))
    # Asked before picking, so a refused move does not advance the department's rotation.
    check_permission(turn, ticket, Action.ASSIGN)
    pick = await pick_agent(uow, directory, department.key)
    ticket.department, ticket.assignee = department.key, pick
    owner = directory.person(pick)
    followups = [] if pick == turn.person.key else [_tell_assignee(turn, pick)]
    return Change(Action.ASSIGN, TimelineKind.ASSIGNED, before, pick,
                  detail=assigned(How(strategy(directory, department.key)), department=department.key),
                  followups=followups,
                  confirm=t._("{number} moved to the {team} queue and assigned to {name}.", number=ticket.number,
                              team=team, name=owner.name if owner else pick))


def _tell_assignee(turn: Turn, person_key: str):
    async def notify(uow: UnitOfWork, ticket: Ticket) -> None:
        await tell_person(
            uow, turn.ctx.directory, person_key,
            lambda t: t._("{actor} assigned {number} to you: {title}", actor=turn.person.name,
                          number=ticket.number, title=ticket.title),
            prefer=turn.platform, urgency=Urgency.NOTICE,
        )
    return notify


def set_priority(turn: Turn, priority: Priority):
    """Change the priority (SLA deadlines follow)."""
    def build(ticket: Ticket) -> Change:
        before = ticket.priority
        if before is priority:
            return Change(Action.PRIORITY, TimelineKind.PRIORITY, unchanged=True,
                          confirm=turn.t._("{number} is already {value}.", number=ticket.number, value=priority.value))
        ticket.priority = priority
        followups = [alerts.p0_followup(turn)] if priority is Priority.P0 and before is not Priority.P0 else []
        return Change(Action.PRIORITY, TimelineKind.PRIORITY, before.value, priority.value, followups=followups,
                      confirm=turn.t._("{number} priority {before} → {after}.", number=ticket.number,
                                       before=priority_label(before, turn.t), after=priority_label(priority, turn.t)))
    return build


def acknowledge(turn: Turn):
    """"I'm on it" on an escalation: the next escalation levels of this breach are not sent."""
    def build(ticket: Ticket) -> Change:
        state = turn.ctx.sla.state(ticket, turn.ctx.clock.now()) if turn.ctx.sla else None
        if state is None or not state.breached:
            raise Refusal(turn.t._("{number} is not escalated.", number=ticket.number))
        ticket.escalation_acked = escalation_key(state.clock, state.due)
        return Change(Action.NOTE, TimelineKind.ESCALATION_ACK, text=ticket.escalation_acked,
                      confirm=turn.t._("{name} is on {number}; further escalation stopped.", name=turn.person.name,
                                       number=ticket.number))
    return build


def set_category(turn: Turn, category: str):
    """Change the category; it must be one the config knows."""
    categories = turn.ctx.config.categories

    def build(ticket: Ticket) -> Change:
        if category not in categories:
            raise Refusal(turn.t._("Unknown category '{category}'. Choose one of: {allowed}.", category=category,
                                   allowed=", ".join(categories)))
        before = ticket.category
        if before == category:
            return Change(Action.CATEGORY, TimelineKind.CATEGORY, unchanged=True,
                          confirm=turn.t._("{number} is already {value}.", number=ticket.number,
                                           value=category_label(category, turn.t)))
        ticket.category = category
        return Change(Action.CATEGORY, TimelineKind.CATEGORY, before, category,
                      confirm=turn.t._("{number} category {before} → {after}.", number=ticket.number,
                                       before=category_label(before, turn.t), after=category_label(category, turn.t)))
    return build


def note(turn: Turn, text: str):
    """An internal note: agents and colleagues see it, the customer never does."""
    def build(ticket: Ticket) -> Change:
        return Change(Action.NOTE, TimelineKind.NOTE, text=text,
                      confirm=turn.t._("Internal note added to {number}.", number=ticket.number))
    return build


def reply(turn: Turn, text: str):
    """A reply that reaches the customer in their conversation; the first one stops the response clock."""
    def build(ticket: Ticket) -> Change:
        if ticket.customer_conversation is None:
            raise Refusal(turn.t._("{number} has no customer conversation to reply to.", number=ticket.number))
        if ticket.first_response_at is None:
            ticket.first_response_at = turn.ctx.clock.now()

        async def send(uow: UnitOfWork, saved: Ticket) -> None:
            ct = _customer_translator(turn, saved)
            await tell_customer(uow, saved, ct._("[{number}] {name}: {text}", number=saved.number,
                                                 name=turn.person.name, text=text), ct.language)
        return Change(Action.REPLY, TimelineKind.REPLY, text=text, visibility=Visibility.PUBLIC, followups=[send],
                      confirm=turn.t._("Reply sent to the customer of {number}.", number=ticket.number))
    return build


def wait(turn: Turn, on: str):
    """Put the ticket on hold for the customer or a colleague."""
    action = Action.WAIT_CUSTOMER if on == "customer" else Action.WAIT_COLLEAGUE

    def build(ticket: Ticket) -> Change:
        async def ask_customer(uow: UnitOfWork, saved: Ticket) -> None:
            # Their card may not change where they read it (WeCom's text_notice): waiting on them is said in words.
            ct = _customer_translator(turn, saved)
            await tell_customer(uow, saved, ct._("We are waiting for your answer on {number} ({title}): just reply "
                                                 "here and we will continue.", number=saved.number,
                                                 title=saved.title), ct.language)
        return Change(action, TimelineKind.STATUS, ticket.status.value, next_status_safe(ticket, action),
                      confirm=turn.t._("{number} is now {status}.", number=ticket.number,
                                       status=status_label(Status(next_status_safe(ticket, action) or ticket.status), turn.t)),
                      followups=[ask_customer] if action is Action.WAIT_CUSTOMER else [])
    return build


def resume(turn: Turn):
    """Back to work after a wait."""
    def build(ticket: Ticket) -> Change:
        return Change(Action.RESUME, TimelineKind.STATUS, ticket.status.value, next_status_safe(ticket, Action.RESUME),
                      confirm=turn.t._("{number} is back in progress.", number=ticket.number))
    return build


def next_status_safe(ticket: Ticket, action: Action) -> str | None:
    """The status `action` would lead to, or None (the change itself reports the illegal move)."""
    try:
        return next_status(ticket.status, action).value
    except IllegalTransition:
        return None


def _ask_for_an_answer(turn: Turn, ticket: Ticket, action: Action, text: str | None) -> None:
    """Refuse to finish a ticket whose customer never heard back, unless the actor gives the words they will read.

    A press carries no text, so it is answered with the command to type; every platform can show that answer.
    Permission and the lifecycle speak first: a move that is not allowed anyway is told so, not asked about.
    """
    check_permission(turn, ticket, action)
    if text or not ticket.awaits_answer or next_status_safe(ticket, action) is None:
        return
    t = turn.t
    if action is Action.RESOLVE:
        raise Refusal(t._("The customer of {number} has not heard back from us yet. To resolve it anyway, give a "
                          "summary (the customer will read it): {command}", number=ticket.number,
                          command=t._("/ticket resolve {number} <summary>", number=ticket.number)))
    raise Refusal(t._("The customer of {number} has not heard back from us yet. Reply first, or to close it anyway "
                      "give a reason (the customer will read it): {command}", number=ticket.number,
                      command=t._("/ticket close {number} <reason>", number=ticket.number)))


def _answered(turn: Turn, ticket: Ticket, text: str | None) -> Visibility:
    """A summary or reason sent to the customer is an answer they can see: it counts as the first response."""
    if not text or ticket.customer_conversation is None:
        return Visibility.INTERNAL
    if ticket.first_response_at is None:
        ticket.first_response_at = turn.ctx.clock.now()
    return Visibility.PUBLIC


def _customer_translator(turn: Turn, ticket: Ticket):
    from bot.i18n import translator
    return translator(ticket.customer_language or turn.ctx.directory.default_language)


def _finishing(turn: Turn, action: Action, status: Status, text: str | None, words: tuple[Callable, ...], done,
               after: tuple[Callable, ...] = ()):
    """Resolve or close: ask for an answer first when the customer heard nothing, then tell them, in their language.

    `words` builds the customer's lines from their translator: the news, the summary or reason, what happens next.
    """
    def build(ticket: Ticket) -> Change:
        _ask_for_an_answer(turn, ticket, action, text)
        visibility = _answered(turn, ticket, text)
        news, detail, next_step = words

        async def tell(uow: UnitOfWork, saved: Ticket) -> None:
            ct = _customer_translator(turn, saved)
            lines = [news(ct, saved), *([detail(ct, text)] if text else []), next_step(ct)]
            await tell_customer(uow, saved, "\n".join(lines), ct.language)
        return Change(action, TimelineKind.STATUS, ticket.status.value, status.value, text=text,
                      visibility=visibility, followups=[tell, *after], confirm=done(ticket))
    return build


def resolve(turn: Turn, summary: str | None):
    """Mark solved and tell the customer; they can still answer to reopen."""
    return _finishing(turn, Action.RESOLVE, Status.RESOLVED, summary, (
        lambda ct, saved: ct._("Your ticket {number} ({title}) has been resolved.", number=saved.number,
                               title=saved.title),
        lambda ct, text: ct._("Summary: {summary}", summary=text),
        lambda ct: ct._("If the problem is not solved, just reply here and we will pick it up again."),
    ), lambda ticket: turn.t._("{number} resolved.", number=ticket.number), after=(ask_on_resolve(turn),))


def close(turn: Turn, reason: str | None):
    """Close for good (a reopen is possible within the configured window); the customer is told, never silently."""
    return _finishing(turn, Action.CLOSE, Status.CLOSED, reason, (
        lambda ct, saved: ct._("Your ticket {number} ({title}) has been closed.", number=saved.number,
                               title=saved.title),
        lambda ct, text: ct._("Reason: {reason}", reason=text),
        lambda ct: ct._("If you write again, we will open a new ticket for you."),
    ), lambda ticket: turn.t._("{number} closed.", number=ticket.number))


def reopen(turn: Turn, reason: str | None):
    """Bring a resolved (or recently closed) ticket back."""
    def build(ticket: Ticket) -> Change:
        return Change(Action.REOPEN, TimelineKind.STATUS, ticket.status.value, Status.TRIAGED.value, text=reason,
                      confirm=turn.t._("{number} reopened.", number=ticket.number))
    return build


# One table from an action to its builder, shared by commands and card presses: `argument` is the action's one
# parameter (whom to assign, the priority, the category, a note's or reply's text, a reason) or None.
BUILDERS: dict[Action, Callable[[Turn, Any], Callable[[Ticket], Change]]] = {
    Action.CLAIM: lambda turn, _argument: claim(turn),
    Action.ASSIGN: assign,
    Action.PRIORITY: set_priority,
    Action.CATEGORY: set_category,
    Action.NOTE: note,
    Action.REPLY: reply,
    Action.WAIT_CUSTOMER: lambda turn, _argument: wait(turn, "customer"),
    Action.WAIT_COLLEAGUE: lambda turn, _argument: wait(turn, "colleague"),
    Action.RESUME: lambda turn, _argument: resume(turn),
    Action.RESOLVE: resolve,
    Action.CLOSE: close,
    Action.REOPEN: reopen,
}


def builder(turn: Turn, action: Action, argument: Any = None) -> Callable[[Ticket], Change]:
    """The change_ticket builder for `action` (KeyError for one nobody takes directly, like a customer message)."""
    return BUILDERS[action](turn, argument)
