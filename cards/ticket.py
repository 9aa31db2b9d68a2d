"""The ticket's card, in one room: what it shows to whom, its SLA badge and its buttons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.csat import Survey
from bot.directory import Directory, Role, department_choice, person_choice
from bot.events import Actor
from bot.i18n import translator
from bot.i18n.labels import (
    action_label,
    category_label,
    impact_label,
    priority_label,
    status_label,
    tier_label,
)
from bot.kb_card import Suggestion
from bot.ports import Clock
from bot.requests import Request
from bot.sla import SlaPolicy
from bot.subjects import Subject, SubjectKind, Viewer
from bot.tickets import Action, Priority, Status, Ticket, allowed_actions
from cards import actions
from cards.model import Button, Card, Field, Option, Select
from cards.request import deadline_text
from cards.sla_text import badge
from cards.survey import score_text

# Staff see these actions on the card, when the lifecycle allows them; the rest are commands.
_BUTTONS = (Action.CLAIM, Action.RESOLVE, Action.CLOSE, Action.REOPEN)
SAVE_TO_KB = "save"  # an article press: draft an article from the ticket named in its variant
SEND_ARTICLE = "send"  # an article press: send the article to the customer of the ticket named in its variant
_SELECTS = (Action.ASSIGN, Action.PRIORITY, Action.CATEGORY)
_STYLE = {Action.CLAIM: "primary", Action.RESOLVE: "primary", Action.CLOSE: "danger"}

def offers_claim(ticket: Ticket) -> bool:
    """True when Claim would change something for someone.

    The card is rendered per viewer role, not per person, so it cannot tell the owner from the others: intake
    already gave most tickets an owner, and claiming then only starts the work. A ticket its owner is working on
    has nothing to claim (a lead hands it on with the assignee choice instead).
    """
    return ticket.assignee is None or ticket.status is not Status.IN_PROGRESS


def _suggested(ticket: Ticket, viewer: Viewer, suggestions: Sequence[Suggestion]) -> tuple[Suggestion, ...]:
    """The suggestions staff see: while the ticket is being worked on (a finished one needs none)."""
    if viewer == CUSTOMER_VIEW or ticket.status in (Status.RESOLVED, Status.CLOSED):
        return ()
    return tuple(suggestions)


def _name(directory: Directory, key: str | None) -> str:
    person = directory.person(key)
    return person.name if person else (key or "?")


STAFF_VIEW = Viewer.STAFF
CUSTOMER_VIEW = Viewer.CUSTOMER


def assignee_options(ticket: Ticket, directory: Directory, t) -> tuple[Option, ...]:
    """People of the ticket's department first, then everyone else on staff, then departments."""
    people = [p for p in directory.people() if p.is_staff]
    people.sort(key=lambda p: (p.department != ticket.department, p.name))
    options = [Option(p.name, person_choice(p.key)) for p in people]
    language = t.language
    # A department with agents is a queue; one without (Finance) is asked, not assigned: its choice says so.
    options += [
        Option(t._("Team: {name}", name=d.name(language)), department_choice(d.key))
        if directory.members(d.key, Role.AGENT) else Option(t._("Ask {name}…", name=d.name(language)), f"ask:{d.key}")
        for d in directory.departments.values()
    ]
    return tuple(options)


@dataclass(frozen=True)
class TicketView:
    """What a ticket's card shows: the ticket and its open requests to colleagues, read together."""

    ticket: Ticket
    requests: tuple[Request, ...] = ()
    survey: Survey | None = None  # the customer's latest answered CSAT survey
    suggestions: tuple[Suggestion, ...] = ()  # related articles found when the ticket came in

    @property
    def subject(self) -> Subject:
        """The ticket's subject."""
        return self.ticket.subject


class TicketCards:
    """Builds ticket cards for the dispatcher at send time, so every copy shows the stored state of now."""

    def __init__(self, *, directory: Directory, categories: list[str], policy: SlaPolicy | None, clock: Clock):
        self.directory, self.categories, self.policy, self.clock = directory, categories, policy, clock

    def build(self, view: TicketView, viewer: Viewer, language: str) -> Card:
        """The card of a ticket (with its open requests) for `viewer` in `language`."""
        return ticket_card(view.ticket, viewer=viewer, directory=self.directory, categories=self.categories,
                           t=translator(language), policy=self.policy, now=self.clock.now(), requests=view.requests, survey=view.survey,
                           suggestions=view.suggestions)


def ticket_card(ticket: Ticket, *, viewer: Viewer, directory: Directory, categories: list[str], t,
                policy: SlaPolicy | None = None, now: datetime | None = None,
                requests: Sequence[Request] = (), survey: Survey | None = None,
                suggestions: Sequence[Suggestion] = ()) -> Card:
    """The card for `ticket` as `viewer` (staff or customer) should see it, in `t`'s language, its clock at `now`."""
    state = policy.state(ticket, now) if policy is not None and now is not None else None
    clock_badge = badge(state, ticket, t) if state is not None else None
    escalated = policy.escalated(ticket, now) if state is not None else False
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
        # Tickets staff opened before names were stored: the requester's name from the directory, not their id.
        customer = ticket.customer_name or directory.resolve_actor(
            Actor(platform=ticket.requester.platform, user_id=ticket.requester.user_id)).name
        if ticket.customer_tier.value == "vip":
            customer = f"{customer} · {tier_label(ticket.customer_tier, t)}"
        fields.insert(0, Field(t._("Customer"), customer))
        fields.append(Field(t._("Department"), department.name(t.language) if department else "—"))
        fields.append(Field(t._("Impact"), impact_label(ticket.impact, t)))
        if ticket.product_module:
            fields.append(Field(t._("Module"), ticket.product_module))
        if requests:  # who is asked what, by when: the ticket waits on them
            zone = ZoneInfo(policy.default_calendar.timezone) if policy is not None else ZoneInfo("UTC")
            fields.append(Field(t._("Asked"), "; ".join(
                f"{r.number} {_name(directory, r.asked_person)} · {deadline_text(r.deadline, zone, t)}"
                for r in requests)))
    if survey is not None:  # what the customer said of the last resolution: right after the status, since some
        # surfaces show only the first rows (WeCom's template card six)
        rating = score_text(survey, t) + (f" “{survey.comment}”" if survey.comment else "")
        fields.insert(fields.index(next(f for f in fields if f.label == t._("Status"))) + 1,
                      Field(t._("Satisfaction"), rating))
    shown = _suggested(ticket, viewer, suggestions)
    if shown:
        # After the assignee: WeCom shows six rows, and the articles matter more there than the department.
        at = next(i for i, f in enumerate(fields) if f.label == t._("Assignee")) + 1
        lines = []
        for suggestion in shown:
            line = f"{suggestion.number} {suggestion.title}"
            lines.append(t._("{article} (sent)", article=line) if suggestion.sent else line)
        fields.insert(at, Field(t._("Similar articles"), " · ".join(lines)))
    allowed = set(allowed_actions(ticket.status))
    subject = Subject.ticket(ticket.id or 0)
    controls: list[Button | Select] = []
    if viewer != CUSTOMER_VIEW and escalated:
        controls.append(Button(t._("I'm on it"), actions.encode(subject, actions.ACK, ticket.version), "primary"))
    if viewer != CUSTOMER_VIEW:
        for action in _BUTTONS:
            if action in allowed and (action is not Action.CLAIM or offers_claim(ticket)):
                controls.append(
                    Button(action_label(action, t), actions.encode(subject, action, ticket.version),
                           _STYLE.get(action, "default"))
                )
        if ticket.status in (Status.RESOLVED, Status.CLOSED):
            # The knowledge base's press (kind article, the ticket in the variant): handlers/kb_presses.py.
            controls.append(Button(t._("Save to knowledge base"), actions.encode(
                Subject(SubjectKind.ARTICLE, 0), SAVE_TO_KB, ticket.version, str(ticket.id or 0))))
        for suggestion in shown:
            if not suggestion.sent:
                # The knowledge base's press (kind article, the ticket in the variant): handlers/kb_presses.py.
                controls.append(Button(t._("Send {article}", article=suggestion.number), actions.encode(
                    Subject(SubjectKind.ARTICLE, suggestion.article_id), SEND_ARTICLE, ticket.version,
                    str(ticket.id or 0))))
        for action in _SELECTS:
            if action not in allowed:
                continue
            code = actions.encode(subject, action, ticket.version)
            if action is Action.ASSIGN:
                controls.append(
                    Select(action_label(action, t), code, assignee_options(ticket, directory, t),
                           initial=person_choice(ticket.assignee) if ticket.assignee else None, kind="users")
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
        badge=clock_badge if viewer != CUSTOMER_VIEW else None,
        actions=tuple(controls),
        subject=subject,
        version=ticket.version,
        language=t.language,
    )
