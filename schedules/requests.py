"""The request provider of the deadline sweep: the colleague reminded before the deadline, the asker told at it,
the colleague's department head after it.

Each notice's key names the deadline and the person asked, so a moved deadline or a request handed to someone
else arms its reminders again, while a restart or a second replica never sends one twice (the sweep's claims).
Quiet hours follow the colleague's department calendar: outside its hours a reminder waits for the next opening
(P0 and P1 tickets excepted), and one that would then come after the deadline is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.business_hours import Calendar, parse_duration
from bot.directory import Directory
from bot.ports.requests import RequestBookmarks
from bot.requests import Request
from bot.sla import SlaPolicy
from bot.tickets import Priority, Ticket
from cards.request import RequestView, deadline_text
from cards.sla_text import amount
from handlers.notify import update_cards
from schedules.sweep import Due, MessageBatch, Notice, Plan

URGENT = frozenset({Priority.P0, Priority.P1})  # their requests may nudge at any hour


@dataclass(frozen=True)
class RequestNotice:
    """One notice of a request: what it is, when it falls due."""

    kind: str  # remind | overdue | escalate
    fire_at: datetime


class RequestProvider:
    """What is due on open requests' deadlines, and who hears of it."""

    name = "requests"

    def __init__(self, *, policy: SlaPolicy, directory: Directory, config):
        self.policy, self.directory, self.config = policy, directory, config
        self.zone = ZoneInfo(config.business_hours.timezone)
        settings = config.requests
        before = parse_duration(settings.remind_before) if settings.remind_before else None
        self.remind_before = timedelta(days=before[0]) + before[1] if before else None
        days, span = parse_duration(settings.escalate_after)
        self.escalate_after = timedelta(days=days) + span
        self.fractions = sorted(settings.reminders)

    async def due(self, uow: RequestBookmarks, now: datetime, limit: int) -> list[Due[RequestView]]:
        """Requests whose bookmark has come, with their tickets, fired keys and cards."""
        found = await uow.requests_due(now, limit)
        tickets = await uow.get_tickets(sorted({request.ticket_id for request, _cards in found}))
        return [Due(request.subject, RequestView(request, tickets[request.ticket_id]), request.fired, cards)
                for request, cards in found if request.ticket_id in tickets]

    def plan(self, due: Due[RequestView], now: datetime) -> Plan:
        """The request's notices that are due and unfired; its next bookmark (None once settled)."""
        request, ticket = due.item.request, due.item.ticket
        if not request.is_open or request.deadline is None:
            return Plan([], None)
        schedule = self.schedule(request, ticket)
        ready = [(key, notice) for key, notice in schedule.items() if notice.fire_at <= now and key not in due.fired]
        notices = [Notice(key, self._worth_sending(notice, request, now), notice) for key, notice in ready]
        upcoming = [n.fire_at for key, n in schedule.items() if n.fire_at > now and key not in due.fired]
        return Plan(notices, min(upcoming, default=None))

    def schedule(self, request: Request, ticket: Ticket) -> dict[str, RequestNotice]:
        """Every notice of the request's current deadline, by key."""
        deadline, asked = request.deadline, request.asked_person or "-"
        start = request.created_at or deadline
        stamp = deadline.strftime("%Y%m%dT%H%M%S")
        calendar = self._calendar(request)
        quiet = ticket.priority not in URGENT
        notices: dict[str, RequestNotice] = {}
        for fraction in self.fractions:
            at = start + (deadline - start) * fraction
            notices[f"remind:{asked}:{stamp}:{fraction:g}"] = RequestNotice("remind", _open(calendar, at, quiet))
        if self.remind_before is not None and deadline - self.remind_before > start:
            at = deadline - self.remind_before
            notices[f"remind:{asked}:{stamp}:before"] = RequestNotice("remind", _open(calendar, at, quiet))
        notices[f"overdue:{stamp}"] = RequestNotice("overdue", deadline)
        notices[f"escalate:{stamp}"] = RequestNotice("escalate", _open(calendar, deadline + self.escalate_after, quiet))
        return notices

    def _worth_sending(self, notice: RequestNotice, request: Request, now: datetime) -> bool:
        # A reminder that (waiting for business hours) would come after the deadline says nothing useful.
        return not (notice.kind == "remind" and request.deadline <= now)

    async def fire(self, out: MessageBatch, due: Due[RequestView], notice: Notice, now: datetime) -> None:
        """A reminder to the colleague, the asker told at the deadline, or the colleague's head after it."""
        request, ticket = due.item.request, due.item.ticket
        what: RequestNotice = notice.detail
        prefer = due.placements[0].target.platform if due.placements else ticket.source.platform
        if what.kind == "remind":
            out.tell(self.directory, request.subject, request.asked_person, lambda t: t._(
                "⏰ {number} ({ticket}) is due in {left}: {question}", number=request.number, ticket=ticket.number,
                left=amount(request.deadline - now, t), question=request.question), prefer=prefer)
        elif what.kind == "overdue":
            asker = self.directory.person(request.asker)

            def text(t) -> str:
                return t._("⚠ {number} to {name} on {ticket} is overdue (due {deadline}): {question}",
                           number=request.number, name=self._name(request.asked_person), ticket=ticket.number,
                           deadline=deadline_text(request.deadline, self.zone, t), question=request.question)
            if request.asked_from is not None and asker is not None:
                out.say(request.subject, request.asked_from, text, self.directory.language_of(asker))
            else:
                out.tell(self.directory, request.subject, request.asker, text, prefer=prefer)
        else:
            department = self.directory.departments.get(request.asked_department or "")
            head = department.head if department else None
            if head and head != request.asked_person:
                out.tell(self.directory, request.subject, head, lambda t: t._(
                    "🚨 {number} to {name} on {ticket} was due {ago} ago and is still open: {question}",
                    number=request.number, name=self._name(request.asked_person), ticket=ticket.number,
                    ago=amount(now - request.deadline, t), question=request.question), prefer=prefer)

    async def fired(self, out: MessageBatch, due: Due[RequestView], now: datetime) -> None:
        """The request's cards catch up (an overdue badge)."""
        await update_cards(out, due.item.request, due.placements)

    async def move_bookmarks(self, uow: RequestBookmarks,
                             bookmarks: Sequence[tuple[Due[RequestView], datetime | None]]) -> None:
        """One statement for the batch; a request changed since it was read keeps its newer bookmark."""
        await uow.set_request_bookmarks([(due.item.request, next_due) for due, next_due in bookmarks])

    def _calendar(self, request: Request) -> Calendar:
        name = self.policy.config.department_calendars.get(request.asked_department or "")
        return self.policy.calendars.get(name, self.policy.default_calendar) if name else self.policy.default_calendar

    def _name(self, key: str | None) -> str:
        person = self.directory.person(key)
        return person.name if person else (key or "?")


def _open(calendar: Calendar, at: datetime, quiet: bool) -> datetime:
    """`at`, or the calendar's next opening when quiet hours apply and it is closed then."""
    return calendar.next_open(at) if quiet and not calendar.is_open(at) else at
