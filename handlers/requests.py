"""Cross-department requests: ask a colleague on a ticket, and everything the colleague and the asker do after.

Every request change goes through the ticket's own change (handlers.lifecycle.change_ticket) so it lands on the
ticket's timeline in the same transaction, version-checked like any ticket change: asking puts the ticket in
*waiting on colleague*; when its last open request is settled it goes back to *in progress* by itself and the
assignee is told.
"""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from bot.business_hours import parse_duration
from bot.deadlines import DeadlineError, parse_deadline, split_deadline
from bot.directory import Person
from bot.i18n import translator
from bot.ports import Outgoing, OutgoingKind, UnitOfWork
from bot.ports.requests import Requests, StaleRequest
from bot.requests import (
    ASKER_ACTIONS,
    MAX_REQUEST_ID,
    IllegalRequestAction,
    Request,
    RequestAction,
    apply_request,
    format_request_number,
)
from bot.sla import SlaPolicy
from bot.subjects import Viewer
from bot.tickets import Action, IllegalTransition, Status, Ticket, TimelineKind, format_number, next_status
from cards.request import deadline_text, status_text
from handlers import attachments
from handlers.lifecycle import Change, Refusal, change_ticket, check_permission, illegal_message, needs_unit
from handlers.notify import dm_target, post_card, refresh_cards, tell_person
from handlers.turn import Turn


def _(msgid: str) -> str:
    """Mark a msgid for extraction; translated when shown."""
    return msgid


DEADLINE_EXAMPLES = _("Deadlines look like: 明天18:00, 12-05 10:00, Fri 17:00, 2h, 30分钟, 3 business hours, 2个工作日.")


def _zone(turn: Turn) -> ZoneInfo:
    return ZoneInfo(turn.ctx.directory.timezone_of(turn.person))  # the writer's zone: "18:00" is their 18:00


def _calendar(turn: Turn, department: str | None):
    """The calendar a request's business time counts on: the asked colleague's department's."""
    policy = turn.ctx.sla or SlaPolicy(turn.ctx.config)
    name = policy.config.department_calendars.get(department or "")
    return policy.calendars.get(name, policy.default_calendar) if name else policy.default_calendar


def resolve_asked(turn: Turn, token: str) -> tuple[Person | None, str | None]:
    """(who answers, the department asked) for an @-mention: a person, or a department's contact."""
    directory = turn.ctx.directory
    person = directory.find_person(token, turn.platform)
    if person is not None and not person.is_customer:
        return person, person.department
    department = directory.find_department(token)
    if department is not None:
        contacts = directory.contacts_of(department.key)
        return (contacts[0] if contacts else None), department.key
    return None, None


def thread_ask(turn: Turn, text: str) -> tuple[str, str] | None:
    """(whom, the rest) when a message in a ticket's thread starts by @-mentioning a colleague or a department.

    Agents mention each other in threads for notes, so only colleagues (role `colleague`) and departments make
    the message a request here; `/ticket ask` asks anyone.
    """
    words = text.strip().split(maxsplit=1)
    if not words or not words[0].startswith("@") or len(words[0]) < 2:
        return None
    token = words[0][1:]
    person = turn.ctx.directory.find_person(token, turn.platform)
    if person is not None:
        return (token, words[1] if len(words) > 1 else "") if person.has("colleague") else None
    if turn.ctx.directory.find_department(token) is not None:
        return token, words[1] if len(words) > 1 else ""
    return None


async def ask(turn: Turn, ticket_id: int, target: str, text: str) -> None:
    """`ask T-… @who question [by deadline]`: a request to a colleague (or a department's contact)."""
    t = turn.t
    person, department = resolve_asked(turn, target)
    problem = None
    if person is None and department is None:
        problem = t._("Whom should I ask? Name a colleague or a department, e.g. @赵会计 or @finance.")
    elif person is None:
        problem = t._("{team} has no contact person to ask: name one in the config (departments: contacts).",
                      team=turn.ctx.directory.departments[department].name(t.language))
    split = split_deadline(text)
    question = split.question if split.words else text.strip()
    if problem is None and not question:
        problem = t._("What is the question? e.g. /ticket ask T-000123 @finance please confirm the refund by Fri 17:00")
    deadline = None
    if problem is None:
        calendar = _calendar(turn, department)
        now = turn.ctx.clock.now()
        if split.words:
            try:
                deadline = parse_deadline(split.words, now=now, zone=_zone(turn), calendar=calendar,
                                          end_of_day=_closing_time(calendar)).at
                question = split.question
            except DeadlineError:
                if split.strong:
                    problem = t._("I cannot read the deadline “{words}”.", words=split.words) + " " + t._(
                        DEADLINE_EXAMPLES)
                else:  # "… asked by the customer": plain words, not a deadline
                    question = text.strip()
        if problem is None and deadline is None:
            dept = turn.ctx.config.departments
            response = next((d.response_time for d in dept if d.key == department and d.response_time), None)
            days, span = parse_duration(response or turn.ctx.config.requests.default_response_time)
            start = calendar.add_business_days(now, days) if days else now
            deadline = calendar.add(start, span)
        if problem is None and not question:
            problem = t._("What is the question? e.g. /ticket ask T-000123 @finance please confirm the refund by "
                          "Fri 17:00")
    if problem is not None:
        await turn.answer(problem)
        return

    @needs_unit
    async def asking(ticket: Ticket, uow: Requests) -> Change:
        # Asked first, so a refused or impossible ask writes nothing (the request row is part of the change).
        check_permission(turn, ticket, Action.ASK)
        try:
            next_status(ticket.status, Action.ASK)  # a finished ticket is reopened before anyone is asked
        except IllegalTransition as exc:
            raise Refusal(illegal_message(turn, ticket, exc)) from None
        now = turn.ctx.clock.now()
        request = await uow.add_request(Request(
            ticket_id=ticket.id, asker=turn.person.key, question=question, asked_person=person.key,
            asked_department=department, deadline=deadline, asked_from=turn.conversation,
            created_at=now, updated_at=now, next_due_at=now))

        async def deliver(uow: UnitOfWork, saved: Ticket) -> None:
            target = dm_target(person, turn.platform)
            if target is not None:  # their own platform, in their language
                await post_card(uow, request, target, viewer=Viewer.STAFF,
                                language=turn.ctx.directory.language_of(person))
        return Change(Action.ASK, TimelineKind.REQUEST, after=request.number, text=question,
                      detail={"event": "asked", "to": person.key, "department": department or "",
                              "deadline": deadline.isoformat()},
                      followups=[deliver],
                      confirm=t._("Asked {name} ({number}), due {deadline}. {ticket} now waits on colleagues.",
                                  name=person.name, number=request.number, ticket=ticket.number,
                                  deadline=deadline_text(deadline, _zone(turn), t)))
    await change_ticket(turn, ticket_id, asking)


def _closing_time(calendar) -> time:
    """When the calendar's working day ends (a deadline of 'tomorrow' means then); 18:00 when it has no hours."""
    hours = [end for day in calendar.weekly_hours.values() for _start, end in day]
    return max(hours) if hours else time(18, 0)


async def act(turn: Turn, request_id: int, action: RequestAction, *, text: str | None = None,
              target: str | None = None, expected_version: int | None = None, from_button: bool = False) -> None:
    """Accept, answer, decline, hand over, cancel or move a request; the ticket's timeline and cards follow."""
    t = turn.t
    async with turn.ctx.store.unit() as uow:
        request = await uow.get_request(request_id) if request_id <= MAX_REQUEST_ID else None
        if request is None:
            await turn.reply(uow, t._("There is no request {number}.", number=format_request_number(request_id)),
                             private=True)
            await turn.finish(uow)
            return
    new_person = None
    if action is RequestAction.HAND_OVER:
        new_person, _department = resolve_asked(turn, target or "")
        if new_person is None:
            await turn.answer(t._("Hand it to whom? Name a colleague, e.g. @赵会计."))
            return
    deadline = None
    if action is RequestAction.MOVE:
        calendar = _calendar(turn, request.asked_department)
        try:
            deadline = parse_deadline(text or "", now=turn.ctx.clock.now(), zone=_zone(turn), calendar=calendar,
                                      end_of_day=_closing_time(calendar))
        except DeadlineError:
            await turn.answer(t._("I cannot read the deadline “{words}”.", words=text or "") + " "
                              + t._(DEADLINE_EXAMPLES))
            return

    # A colleague's files with the answer land on the ticket (internal), beside the answer's words.
    taken = await attachments.take(turn) if action is RequestAction.ANSWER else attachments.NOTHING
    text = text if (text or "").strip() or not taken.stored else attachments.files_line(taken)

    @needs_unit
    async def changing(ticket: Ticket, uow: Requests) -> Change:
        current = await uow.get_request(request_id)
        if expected_version is not None and current.version != expected_version:
            raise Refusal(await _stale(turn, uow, ticket, current))
        check_request_permission(turn, current, action)
        before_person = current.asked_person
        now = turn.ctx.clock.now()
        try:
            apply_request(current, action, now)
        except IllegalRequestAction:
            raise Refusal(t._("{number}: {status}; nothing to do.", number=current.number,
                              status=status_text(current, t))) from None
        if action is RequestAction.ANSWER:
            current.answer, current.answered_by = text, turn.person.key
        elif action is RequestAction.HAND_OVER:
            current.asked_person = new_person.key
            current.asked_department = new_person.department
        elif action is RequestAction.MOVE:
            current.deadline = deadline.at
        try:
            saved = await uow.save_request(current)
        except StaleRequest as stale:
            raise Refusal(t._("{number} was just changed; the card now shows the latest state.",
                              number=stale.current.number)) from None
        return Change(Action.NOTE, TimelineKind.REQUEST, after=saved.number, text=text,
                      detail=_detail(action, saved, before_person),
                      followups=[_telling(turn, saved, action, before_person),
                                 attachments.landing(turn, taken, TimelineKind.REQUEST)],
                      confirm=_confirmation(turn, saved, action))

    @needs_unit
    async def back_to_work(ticket: Ticket, uow: Requests) -> Change:
        # After the request's change above, in the same transaction: is anything still open on this ticket?
        settled = action in (RequestAction.ANSWER, RequestAction.DECLINE, RequestAction.CANCEL)
        if not settled or ticket.status is not Status.WAITING_COLLEAGUE or await uow.ticket_requests(
                ticket.id, open_only=True):
            return Change(Action.NOTE, TimelineKind.NOTE, unchanged=True)
        return Change(Action.RESUME, TimelineKind.STATUS, ticket.status.value, Status.IN_PROGRESS.value,
                      followups=[_tell_assignee_back(turn)])
    await change_ticket(turn, request.ticket_id, [changing, back_to_work], from_button=from_button)


async def _stale(turn: Turn, uow, ticket: Ticket, request: Request) -> str:
    """What a press or form that saw an older request is told: who changed it since (its last timeline step)."""
    steps = [entry for entry in await uow.recent_timeline(ticket.id, 50)
             if entry.kind == TimelineKind.REQUEST and entry.after == request.number]
    who = turn.ctx.directory.person(steps[-1].actor) if steps else None
    if who is None:
        return turn.t._("{number} was just changed; the card now shows the latest state.", number=request.number)
    return turn.t._("{number} was just changed by {name}; nothing was done. The card now shows the latest state.",
                    number=request.number, name=who.name)


def check_request_permission(turn: Turn, request: Request, action: RequestAction) -> None:
    """The asked colleague (or their department) acts on the colleague's side; the asker on theirs; leads on both."""
    person, t = turn.person, turn.t
    if person.is_customer:
        raise Refusal(t._("Only the support team can do that."))
    if person.has("lead", "manager"):
        return
    if action in ASKER_ACTIONS:
        if person.key != request.asker:
            raise Refusal(t._("Only whoever asked can cancel or move {number}.", number=request.number))
        return
    if person.key != request.asked_person and not (request.asked_department and
                                                   person.department == request.asked_department):
        raise Refusal(t._("{number} is asked of someone else.", number=request.number))


def _detail(action: RequestAction, request: Request, before_person: str | None) -> dict[str, str]:
    """What the timeline keeps of a request change (rendered in the reader's words by handlers.queries)."""
    detail = {"event": {RequestAction.ACCEPT: "accepted", RequestAction.ANSWER: "answered",
                        RequestAction.DECLINE: "declined", RequestAction.HAND_OVER: "handed_over",
                        RequestAction.CANCEL: "cancelled", RequestAction.MOVE: "moved"}[action]}
    if action is RequestAction.HAND_OVER:
        detail.update({"from": before_person or "", "to": request.asked_person or ""})
    if action is RequestAction.MOVE and request.deadline is not None:
        detail["deadline"] = request.deadline.isoformat()
    return detail


def _confirmation(turn: Turn, request: Request, action: RequestAction) -> str:
    t = turn.t
    return {
        RequestAction.ACCEPT: t._("You are on {number}; {asker} will be told.", number=request.number,
                                  asker=_name(turn, request.asker)),
        RequestAction.ANSWER: t._("Your answer to {number} is on {ticket}; {asker} will be told.",
                                  number=request.number, ticket=format_number(request.ticket_id),
                                  asker=_name(turn, request.asker)),
        RequestAction.DECLINE: t._("{number} declined; {asker} will be told.", number=request.number,
                                   asker=_name(turn, request.asker)),
        RequestAction.HAND_OVER: t._("{number} handed to {name}.", number=request.number,
                                     name=_name(turn, request.asked_person)),
        RequestAction.CANCEL: t._("{number} cancelled.", number=request.number),
        RequestAction.MOVE: t._("{number} is now due {deadline}.", number=request.number,
                                deadline=deadline_text(request.deadline, _zone(turn), t)),
    }[action]


def _name(turn: Turn, key: str | None) -> str:
    person = turn.ctx.directory.person(key)
    return person.name if person else (key or "?")


def _telling(turn: Turn, request: Request, action: RequestAction, before_person: str | None):
    """After the save: the other side is told, in their own language, and every copy of the card follows."""
    directory, actor = turn.ctx.directory, turn.person.name

    async def tell(uow: UnitOfWork, ticket: Ticket) -> None:
        await refresh_cards(uow, request)
        if action in ASKER_ACTIONS:
            # The asker cancelled or moved it: the colleague hears of it.
            when = deadline_text(request.deadline, _zone(turn), turn.t)
            await tell_person(uow, directory, request.asked_person, lambda t: (
                t._("{actor} cancelled {number} on {ticket}.", actor=actor, number=request.number,
                    ticket=ticket.number) if action is RequestAction.CANCEL else
                t._("{actor} moved the deadline of {number} to {deadline}.", actor=actor, number=request.number,
                    deadline=when)), prefer=turn.platform)
            return
        if action is RequestAction.HAND_OVER:
            new = directory.person(request.asked_person)
            target = dm_target(new, turn.platform) if new else None
            if target is not None:
                await post_card(uow, request, target, viewer=Viewer.STAFF, language=directory.language_of(new))

        def news(t) -> str:
            match action:
                case RequestAction.ACCEPT:
                    return t._("{actor} is on {number} ({ticket}).", actor=actor, number=request.number,
                               ticket=ticket.number)
                case RequestAction.ANSWER:
                    return t._("{actor} answered {number} on {ticket}: {answer}", actor=actor,
                               number=request.number, ticket=ticket.number, answer=request.answer or "")
                case RequestAction.DECLINE:
                    return t._("{actor} declined {number} on {ticket}.", actor=actor, number=request.number,
                               ticket=ticket.number) + (f" “{request.answer}”" if request.answer else "")
                case _:
                    return t._("{actor} handed {number} on {ticket} to {name}.", actor=actor,
                               number=request.number, ticket=ticket.number, name=_name(turn, request.asked_person))
        await _tell_asker(uow, turn, request, news)
    return tell


async def _tell_asker(uow: UnitOfWork, turn: Turn, request: Request, news) -> None:
    """Where the asker asked (a ticket thread, a channel, a DM); else their DM."""
    directory = turn.ctx.directory
    asker = directory.person(request.asker)
    if request.asked_from is not None and asker is not None:
        t = translator(directory.language_of(asker))
        await uow.enqueue(Outgoing(OutgoingKind.TEXT, request.asked_from, text=news(t), language=t.language))
        return
    await tell_person(uow, directory, request.asker, news, prefer=turn.platform)


def _tell_assignee_back(turn: Turn):
    async def tell(uow: UnitOfWork, ticket: Ticket) -> None:
        await tell_person(uow, turn.ctx.directory, ticket.assignee, lambda t: t._(
            "Colleagues answered every request on {number}: it is back in progress — {title}",
            number=ticket.number, title=ticket.title), prefer=ticket.source.platform)
    return tell


async def list_requests(turn: Turn, *, mine: bool = False) -> None:
    """`requests`: what is asked of me (and my department), most urgent first; `requests mine`: what I asked."""
    t, person = turn.t, turn.person
    async with turn.ctx.store.snapshot() as uow:
        if person.is_customer:
            found, total = [], 0
        elif mine:
            found, total = await uow.requests_page(asker=person.key)
        else:
            found, total = await uow.requests_page(asked_person=person.key,
                                                   asked_department=person.department or None)
        tickets = await uow.get_tickets(sorted({r.ticket_id for r in found}))
    now = turn.ctx.clock.now()
    async with turn.ctx.store.unit() as uow:
        if person.is_customer:
            await turn.reply(uow, t._("Only the support team can do that."), private=True)
        elif not found:
            await turn.reply(uow, t._("You asked nobody anything that is still open.") if mine
                             else t._("Nothing is asked of you right now."), private=True)
        else:
            head = (t._("Your open requests to colleagues ({count}):", count=total) if mine
                    else t._("Asked of you and your department ({count}), most urgent first:", count=total))
            lines = [head]
            for request in found:
                ticket = tickets.get(request.ticket_id)
                due = deadline_text(request.deadline, _zone(turn), t)
                flag = " ⚠ " + t._("overdue") if request.overdue(now) else ""
                who = _name(turn, request.asker if not mine else request.asked_person)
                lines.append(f"• {request.number} · {ticket.number if ticket else '?'} · {who} · {due}{flag} — "
                             f"{request.question}")
            if total > len(found):
                lines.append(t._("… and {count} more", count=total - len(found)))
            await turn.reply(uow, "\n".join(lines), private=True)
        await turn.finish(uow)


async def answer_in_dm(turn: Turn, text: str) -> bool:
    """A colleague writing plainly to the bot answers the one request open for them; False when that is not it."""
    if turn.person.is_customer:
        return False
    async with turn.ctx.store.snapshot() as uow:
        found, total = await uow.requests_page(asked_person=turn.person.key, limit=2)
    if total == 0:
        return False
    if total > 1:
        async with turn.ctx.store.unit() as uow:
            numbers = ", ".join(r.number for r in found)
            await turn.reply(uow, turn.t._("Several requests wait for you ({numbers}…): answer one with {command}",
                                           numbers=numbers, command=turn.t._("/ticket answer {number} <text>",
                                                                             number=found[0].number)),
                             private=True)
            await turn.finish(uow)
        return True
    await act(turn, found[0].id, RequestAction.ANSWER, text=text)
    return True

