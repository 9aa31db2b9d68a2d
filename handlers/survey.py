"""CSAT surveys in the customer's conversation: asked on resolve, answered by a press or a number, then a comment.

One answer per resolution. Within `csat.change_minutes` of the first answer a second one changes it (and the
customer's next message is the comment); after that it is refused politely. Not solved reopens the ticket through
the lifecycle (the customer may reopen their own) and tells the assignee. Every answer lands on the ticket's
timeline as data (kind `csat`, detail: the event and the score) and on the ticket's card.
"""

from __future__ import annotations

from datetime import timedelta

from bot.csat import NOT_SOLVED, StaleSurvey, Survey, read_number, scores
from bot.events import Actor, ButtonPressed
from bot.ports import UnitOfWork
from bot.ports.surveys import HasSurveys
from bot.subjects import Viewer
from bot.tickets import Action, Status, Ticket, TimelineEntry, TimelineKind, Visibility, format_number
from cards import actions
from cards.survey import pressed_number, score_text
from handlers import alerts
from handlers.lifecycle import Change, Refusal, change_ticket, needs_unit
from handlers.notify import post_card, refresh_cards, tell_person
from handlers.turn import Turn

MAX_SURVEY_ID = 2**31 - 1  # the id column's range


def ask_on_resolve(turn: Turn):
    """A resolve's followup: the requester gets the survey in their own conversation, in their language."""
    async def ask(uow: UnitOfWork, ticket: Ticket) -> None:
        config, directory = turn.ctx.config.csat, turn.ctx.directory
        target = ticket.customer_conversation
        if not config.enabled or target is None or ticket.resolved_at is None:
            return
        requester = directory.resolve_actor(Actor(platform=ticket.requester.platform,
                                                  user_id=ticket.requester.user_id))
        if not requester.is_customer:
            return  # staff who opened a ticket for themselves are not surveyed
        now = turn.ctx.clock.now()
        survey = await uow.surveys().add(Survey(
            ticket_id=ticket.id, resolved_at=ticket.resolved_at, requester_platform=ticket.requester.platform,
            requester_user_id=ticket.requester.user_id, conversation=target,
            language=ticket.customer_language or directory.default_language, scale=config.scale, asked_at=now,
            expires_at=now + timedelta(days=config.expire_days), next_due_at=now + timedelta(days=config.expire_days)))
        if survey is not None:  # None: this resolution was already asked about (a retried delivery)
            await post_card(uow, survey, target, viewer=Viewer.CUSTOMER, language=survey.language)
    return ask


async def press_survey(turn: Turn, event: ButtonPressed, refs: list[actions.ActionRef]) -> None:
    """A press on a survey card: only its customer's, only a number of its scale (or Not solved)."""
    ref = actions.decode(event.action)
    number = pressed_number(ref.action) if ref is not None else None
    async with turn.ctx.store.snapshot() as uow:
        # Only a forged press names an id beyond the column's range: refused below, never sent to the database.
        known = ref is not None and ref.subject_id <= MAX_SURVEY_ID
        survey = await uow.surveys().get(ref.subject_id) if known else None
    if survey is None or not _theirs(turn, survey) or number is None or (
            number != NOT_SOLVED and number not in scores(survey.scale)):
        await turn.answer(turn.t._("That choice is not valid."))
        return
    await answer(turn, survey, number)


def _theirs(turn: Turn, survey: Survey) -> bool:
    return turn.platform == survey.requester_platform and turn.event.actor.user_id == survey.requester_user_id


async def take_message(turn: Turn, text: str) -> bool:
    """A customer's message while a survey of theirs waits: a number is the answer, the next words after a score
    are its comment. False when the message is not about a survey (it goes on to the ticket as usual)."""
    config = turn.ctx.config.csat
    if not config.enabled or not turn.person.is_customer:
        return False
    async with turn.ctx.store.snapshot() as uow:
        survey = await uow.surveys().latest_of(turn.platform, turn.event.actor.user_id)
    if survey is None:
        return False
    now, number = turn.ctx.clock.now(), read_number(text, survey.scale)
    if number is not None and not survey.expired(now):
        await answer(turn, survey, number)  # a first answer, a change, or a polite refusal
        return True
    if (survey.may_change(now, config.change_minutes) and not survey.not_solved and survey.comment is None
            and text.strip()):
        await _comment(turn, survey, text.strip())
        return True
    return False


async def answer(turn: Turn, survey: Survey, number: int) -> None:
    """Record `number` (0: not solved) as the survey's answer, or say politely why it cannot be."""
    t, config, now = turn.t, turn.ctx.config.csat, turn.ctx.clock.now()
    refusal = None
    if survey.answered and not survey.may_change(now, config.change_minutes):
        refusal = t.ngettext("You already rated {number}: {score}. An answer can be changed only within {minutes} "
                             "minute of giving it. Thank you!", "You already rated {number}: {score}. An answer can "
                             "be changed only within {minutes} minutes of giving it. Thank you!",
                             config.change_minutes, number=_number(survey), score=score_text(survey, t),
                             minutes=config.change_minutes)
    elif not survey.answered and survey.expired(now):
        refusal = t._("This survey has closed. If you need more help, just write here.")
    elif survey.number() == number:
        refusal = t._("Your answer {score} is already recorded. Thank you!", score=score_text(survey, t))
    if refusal is not None:
        async with turn.ctx.store.unit() as uow:
            await turn.reply(uow, refusal)  # in the customer's own conversation: every platform shows it
            await refresh_cards(uow, survey)
            await turn.finish(uow)
        return
    if number == NOT_SOLVED:
        await _not_solved(turn, survey)
        return
    before = survey.score
    survey.score, survey.not_solved = scores(survey.scale)[number], False
    survey.rated_at = survey.rated_at or now
    async with turn.ctx.store.unit() as uow:
        if not await _saved(uow, survey, turn.ctx.config.csat.change_minutes):
            await turn.reply(uow, t._("That choice is not valid."), private=True)
            await turn.finish(uow)
            return
        await _on_timeline(turn, uow, survey, "changed" if before is not None else "rated",
                           before=str(before) if before is not None else None)
        await alerts.on_rated(turn, uow, survey)  # a low score: the lead and the assignee hear of it
        if survey.comment is None:  # the comment is still to come: invite it
            thanks = t.ngettext("Thank you! You rated {number}: {score}. Anything to add? Just write it here within "
                                "{minutes} minute.", "Thank you! You rated {number}: {score}. Anything to add? Just "
                                "write it here within {minutes} minutes.", config.change_minutes,
                                number=_number(survey), score=score_text(survey, t), minutes=config.change_minutes)
        else:
            thanks = t._("Thank you! You rated {number}: {score}.", number=_number(survey),
                         score=score_text(survey, t))
        await turn.reply(uow, thanks)
        await turn.finish(uow)


async def _comment(turn: Turn, survey: Survey, text: str) -> None:
    survey.comment = text
    async with turn.ctx.store.unit() as uow:
        if await _saved(uow, survey, turn.ctx.config.csat.change_minutes):
            await _on_timeline(turn, uow, survey, "commented", text=text)
            await alerts.on_commented(uow, survey)
            await turn.reply(uow, turn.t._("Thank you for your feedback!"))
        await turn.finish(uow)


async def _not_solved(turn: Turn, survey: Survey) -> None:
    """Reopen the ticket through the lifecycle, as its customer; the assignee is told; the survey says so."""
    t = turn.t

    @needs_unit
    async def reopening(ticket: Ticket, uow: UnitOfWork) -> Change:
        survey.not_solved, survey.score = True, None
        survey.rated_at = survey.rated_at or turn.ctx.clock.now()
        if ticket.status not in (Status.RESOLVED, Status.CLOSED):  # already reopened: only the answer is new
            await _saved(uow, survey, turn.ctx.config.csat.change_minutes)
            return Change(Action.REOPEN, TimelineKind.CSAT, unchanged=True, followups=[],
                          confirm=t._("Thank you — {number} is already being worked on again.",
                                      number=ticket.number))
        window = timedelta(days=turn.ctx.config.lifecycle.reopen_window_days)
        if ticket.status is Status.CLOSED and ticket.closed_at and turn.ctx.clock.now() - ticket.closed_at > window:
            # Said before anything is saved: a refused reopen leaves the survey waiting, as it was.
            raise Refusal(t._("{number} was closed too long ago to reopen. Just write here and we will open a new "
                              "ticket for you.", number=ticket.number))
        await _saved(uow, survey, turn.ctx.config.csat.change_minutes)

        async def recorded(uow: UnitOfWork, saved: Ticket) -> None:
            await _on_timeline(turn, uow, survey, "not_solved")

        async def tell_assignee(uow: UnitOfWork, saved: Ticket) -> None:
            await tell_person(uow, turn.ctx.directory, saved.assignee, lambda pt: pt._(
                "The customer of {number} says it is not solved: the ticket is reopened — {title}",
                number=saved.number, title=saved.title), prefer=saved.source.platform)
        return Change(Action.REOPEN, TimelineKind.STATUS, ticket.status.value, Status.TRIAGED.value,
                      detail={"by": "csat"}, followups=[recorded, tell_assignee],
                      confirm=t._("Sorry it is not solved yet. {number} is reopened and our team will look again.",
                                  number=ticket.number))
    await change_ticket(turn, survey.ticket_id, reopening)


async def _saved(uow: HasSurveys, survey: Survey, change_minutes: int) -> bool:
    """Save the answer; False when a racing press saved first (this one then changes nothing)."""
    survey.next_due_at = survey.card_changes_at(change_minutes)  # the card loses its buttons then (the sweep)
    try:
        await uow.surveys().save(survey)
    except StaleSurvey:
        return False
    return True


async def _on_timeline(turn: Turn, uow: UnitOfWork, survey: Survey, event: str, *, before: str | None = None,
                       text: str | None = None) -> None:
    """The answer as data on the ticket's timeline; the ticket's and the survey's cards follow."""
    detail = {"event": event, "scale": survey.scale}
    if survey.score is not None:
        detail["score"] = str(survey.score)
    if before is not None:
        detail["before"] = before
    await uow.append_timeline(TimelineEntry(
        ticket_id=survey.ticket_id, kind=TimelineKind.CSAT, actor=turn.actor_key, platform=turn.platform,
        at=turn.ctx.clock.now(), after=detail.get("score"), text=text, visibility=Visibility.PUBLIC, detail=detail))
    ticket = await uow.get_ticket(survey.ticket_id)
    if ticket is not None:
        await refresh_cards(uow, ticket)
    await refresh_cards(uow, survey)


def _number(survey: Survey) -> str:
    return format_number(survey.ticket_id)
