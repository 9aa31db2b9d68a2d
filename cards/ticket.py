"""ticket_card(): the triage card built from ticket state and the viewer's role."""

from __future__ import annotations

from bot.directory import Directory
from bot.i18n.labels import (
    action_label,
    category_label,
    impact_label,
    priority_label,
    status_label,
    tier_label,
)
from bot.tickets import Action, Priority, Ticket, allowed_actions
from cards import actions
from cards.model import Badge, Button, Card, Field, Option, Select

# Staff see these actions on the card, when the lifecycle allows them; the rest are commands.
_BUTTONS = (Action.CLAIM, Action.RESOLVE, Action.CLOSE, Action.REOPEN)
_SELECTS = (Action.ASSIGN, Action.PRIORITY, Action.CATEGORY)
_STYLE = {Action.CLAIM: "primary", Action.RESOLVE: "primary", Action.CLOSE: "danger"}

STAFF_VIEW = "agent"
CUSTOMER_VIEW = "customer"


def assignee_options(ticket: Ticket, directory: Directory, t) -> tuple[Option, ...]:
    """People of the ticket's department first, then everyone else on staff, then departments."""
    people = [p for p in directory.people() if p.is_staff]
    people.sort(key=lambda p: (p.department != ticket.department, p.name))
    options = [Option(p.name, f"p:{p.key}") for p in people]
    language = t.language
    options += [
        Option(t._("Team: {name}", name=d.name(language)), f"d:{d.key}") for d in directory.departments.values()
    ]
    return tuple(options)


def ticket_card(ticket: Ticket, *, viewer: str, directory: Directory, categories: list[str], t, badge: Badge | None = None,
                escalated: bool = False) -> Card:
    """The card for `ticket` as `viewer` ('agent' or 'customer') should see it, in `t`'s language."""
    assignee = directory.person(ticket.assignee)
    department = directory.departments.get(ticket.department or "")
    unassigned = t._("Unassigned")
    fields = [
        Field(t._("Status"), status_label(ticket.status, t)),
        Field(t._("Priority"), priority_label(ticket.priority, t)),
        Field(t._("Category"), category_label(ticket.category, t)),
        Field(t._("Assignee"), assignee.name if assignee else unassigned),
    ]
    if viewer != CUSTOMER_VIEW:
        customer = ticket.customer_name or ticket.requester.user_id
        if ticket.customer_tier.value == "vip":
            customer = f"{customer} · {tier_label(ticket.customer_tier, t)}"
        fields.insert(0, Field(t._("Customer"), customer))
        fields.append(Field(t._("Department"), department.name(t.language) if department else "—"))
        fields.append(Field(t._("Impact"), impact_label(ticket.impact, t)))
        if ticket.product_module:
            fields.append(Field(t._("Module"), ticket.product_module))
    allowed = set(allowed_actions(ticket.status))
    controls: list[Button | Select] = []
    if viewer != CUSTOMER_VIEW and escalated:
        controls.append(Button(t._("I'm on it"), actions.encode_ack(ticket.id or 0, ticket.version), "primary"))
    if viewer != CUSTOMER_VIEW:
        for action in _BUTTONS:
            if action in allowed:
                controls.append(
                    Button(action_label(action, t), actions.encode(action, ticket.id or 0, ticket.version), _STYLE.get(action, "default"))
                )
        for action in _SELECTS:
            if action not in allowed:
                continue
            code = actions.encode(action, ticket.id or 0, ticket.version)
            if action is Action.ASSIGN:
                controls.append(
                    Select(action_label(action, t), code, assignee_options(ticket, directory, t),
                           initial=f"p:{ticket.assignee}" if ticket.assignee else None, kind="users")
                )
            elif action is Action.PRIORITY:
                options = tuple(Option(priority_label(p, t), p.value) for p in Priority)
                controls.append(Select(action_label(action, t), code, options, initial=ticket.priority.value))
            else:
                options = tuple(Option(category_label(c, t), c) for c in categories)
                controls.append(Select(action_label(action, t), code, options, initial=ticket.category))
    return Card(
        title=f"{ticket.number} · {ticket.title}",
        subtitle=(ticket.description[:280] if ticket.description and ticket.description != ticket.title else None),
        fields=tuple(fields),
        badge=badge if viewer != CUSTOMER_VIEW else None,
        actions=tuple(controls),
        ticket_id=ticket.id,
        version=ticket.version,
        language=t.language,
    )
