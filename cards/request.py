"""A request's card: what a colleague is asked, about which ticket, by when — and the buttons to answer it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.directory import Directory
from bot.i18n import translator
from bot.i18n.labels import priority_label
from bot.ports import Clock
from bot.requests import Request, RequestStatus
from bot.subjects import Subject, Viewer
from bot.tickets import Ticket
from cards import actions
from cards.model import Badge, Button, Card, Field
from cards.sla_text import amount

# A request card's own actions (the codec carries them as text): the colleague's side, and a look at the ticket.
ACCEPT, ANSWER, DECLINE, VIEW_TICKET = "accept", "answer", "decline", "view_ticket"


@dataclass(frozen=True)
class RequestView:
    """What a request's card shows: the request and its ticket, read together."""

    request: Request
    ticket: Ticket

    @property
    def subject(self) -> Subject:
        """The request's subject."""
        return self.request.subject


def status_text(request: Request, t) -> str:
    """The request's status in words."""
    return {
        RequestStatus.OPEN: t._("Waiting for an answer"),
        RequestStatus.ACCEPTED: t._("Being worked on"),
        RequestStatus.ANSWERED: t._("Answered"),
        RequestStatus.DECLINED: t._("Declined"),
        RequestStatus.CANCELLED: t._("Cancelled"),
    }[request.status]


def deadline_text(deadline: datetime | None, zone: ZoneInfo, t) -> str:
    """'12-05 18:00 (Asia/Shanghai)': the deadline in the reader's zone, which it names."""
    if deadline is None:
        return t._("none")
    return f"{deadline.astimezone(zone).strftime('%m-%d %H:%M')} ({zone.key})"


class RequestCards:
    """Builds request cards for the dispatcher at send time, from the stored request and ticket."""

    def __init__(self, *, directory: Directory, clock: Clock, timezone: str):
        self.directory, self.clock, self.zone = directory, clock, ZoneInfo(timezone)

    def build(self, view: RequestView, viewer: Viewer, language: str) -> Card:
        """The card of a request in `language` (every viewer is staff: the colleague, or the asker)."""
        return request_card(view, directory=self.directory, t=translator(language), zone=self.zone,
                            now=self.clock.now())


def request_card(view: RequestView, *, directory: Directory, t, zone: ZoneInfo, now: datetime) -> Card:
    """A request's card: the ticket's number, title, customer and priority; the question; the deadline; buttons."""
    request, ticket = view.request, view.ticket
    asker = directory.person(request.asker)
    asked = directory.person(request.asked_person)
    # Most telling first: some surfaces show only the first few rows (WeCom's template card six).
    fields = [
        Field(t._("Status"), status_text(request, t)),
        Field(t._("Question"), request.question),
        Field(t._("Deadline"), deadline_text(request.deadline, zone, t)),
        Field(t._("Ticket"), f"{ticket.number} · {ticket.title}"),
        Field(t._("Priority"), priority_label(ticket.priority, t)),
        Field(t._("Customer"), ticket.customer_name or ticket.requester.user_id),
        Field(t._("Asked by"), asker.name if asker else request.asker),
        Field(t._("Asked of"), asked.name if asked else (request.asked_person or "—")),
    ]
    if request.answer:
        fields.append(Field(t._("Answer"), request.answer))
    badge = None
    if request.overdue(now):
        badge = Badge(t._("Overdue by {time}", time=amount(now - request.deadline, t)), "breached")
    elif request.is_open and request.deadline is not None:
        badge = Badge(t._("Due in {time}", time=amount(request.deadline - now, t)), "ok")
    subject, version = request.subject, request.version
    buttons: list[Button] = []
    if request.status is RequestStatus.OPEN:
        buttons.append(Button(t._("Accept / I'm on it"), actions.encode(subject, ACCEPT, version), "primary"))
    if request.is_open:
        buttons.append(Button(t._("Answer"), actions.encode(subject, ANSWER, version)))
        buttons.append(Button(t._("Decline"), actions.encode(subject, DECLINE, version), "danger"))
    buttons.append(Button(t._("View ticket"), actions.encode(subject, VIEW_TICKET, version)))
    return Card(
        title=t._("{number} · a question on {ticket}", number=request.number, ticket=ticket.number),
        subtitle=ticket.title, fields=tuple(fields), badge=badge, actions=tuple(buttons),
        footer=t._("Answer by replying under this card, or: {command}",
                   command=t._("/ticket answer {number} <text>", number=request.number)) if request.is_open else None,
    )
