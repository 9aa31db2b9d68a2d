"""Opening tickets: by command, by form, or from a customer's message; routing and auto-assignment."""

from __future__ import annotations

from dataclasses import dataclass

from bot.events import ConversationKind, Platform
from bot.ports import UnitOfWork, Urgency
from bot.reasons import How, LinkDirection, assigned, linked, routed
from bot.routing import route
from bot.tickets import (
    Action,
    Identity,
    Impact,
    Priority,
    Ticket,
    Tier,
    TimelineEntry,
    TimelineKind,
    Visibility,
    apply,
)
from cards.ticket import CUSTOMER_VIEW, STAFF_VIEW
from handlers import alerts
from handlers.assignment import pick_agent, strategy
from handlers.notify import post_card, tell_person
from handlers.turn import Turn

TITLE_LIMIT = 80
TITLE_MAX = 200  # a title typed in a command or form; the rest belongs in the description or a note


@dataclass
class Intake:
    """What a new ticket starts with, however it was opened."""

    title: str
    description: str = ""
    priority: Priority | None = None
    category: str | None = None
    assignee: str | None = None
    product_module: str | None = None
    impact: Impact = Impact.ONE_USER
    customer: str | None = None
    follows: Ticket | None = None  # the customer's closed ticket this one continues, if any


def title_from_message(text: str) -> str:
    """A ticket title from the first line of a customer's message."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= TITLE_LIMIT else first[: TITLE_LIMIT - 1] + "…"


def triage_target(turn: Turn):
    """The triage channel on the event's platform (the console has one by default)."""
    from bot.events import Conversation

    channel = turn.ctx.config.triage_channels.get(turn.platform)
    if channel is None and turn.platform is Platform.CONSOLE:
        channel = "triage"
    return Conversation(platform=turn.platform, id=channel, kind=ConversationKind.CHANNEL) if channel else None


async def open_ticket(turn: Turn, uow: UnitOfWork, intake: Intake, *, from_customer: bool) -> Ticket:
    """Create, route and announce a ticket inside `uow`; returns the saved ticket."""
    ctx, person, now = turn.ctx, turn.person, turn.ctx.clock.now()
    config = ctx.config
    is_customer = person.is_customer
    ticket = Ticket(
        title=intake.title,
        description=intake.description,
        requester=Identity(turn.platform, turn.event.actor.user_id),
        source=turn.conversation,
        priority=intake.priority or config.intake.default_priority,
        category=intake.category or "other",
        product_module=intake.product_module,
        impact=intake.impact,
        customer_name=intake.customer or person.name,  # staff opening one for themselves: their name, not an id
        customer_tier=person.tier if is_customer else Tier.NORMAL,
        customer_language=turn.t.language if is_customer else None,
        department=config.intake.default_department if config.departments else None,
        customer_conversation=turn.conversation if is_customer else None,
        last_customer_message_at=now if from_customer else None,
        created_at=now,
        updated_at=now,
    )
    decision = route(ticket, config.routing)
    explicit = {"priority": intake.priority, "category": intake.category}
    if decision.category and not explicit["category"]:
        ticket.category = decision.category
    if decision.priority and not explicit["priority"]:
        ticket.priority = decision.priority
    if decision.department:
        ticket.department = decision.department
    assignee, how = intake.assignee, assigned(How.REQUESTER)
    if assignee is None and decision.assignee:
        assignee, how = decision.assignee, assigned(How.RULE, rule=decision.rule)
    if assignee is None and ticket.department:
        assignee = await pick_agent(uow, ctx.directory, ticket.department)
        how = assigned(How(strategy(ctx.directory, ticket.department)), department=ticket.department)
    if assignee:
        ticket.assignee = assignee
        apply(ticket, Action.ASSIGN, now)
    if ctx.sla is not None:
        ctx.sla.refresh(ticket, now)
    saved = await uow.add_ticket(ticket)

    async def line(kind: TimelineKind, *, before=None, after=None, text=None, visibility=Visibility.INTERNAL,
                   detail=None):
        await uow.append_timeline(TimelineEntry(saved.id, kind, turn.actor_key, turn.platform, now, before=before,
                                                after=after, text=text, visibility=visibility, detail=detail))

    await line(TimelineKind.CREATED, after=saved.status.value, text=intake.description or intake.title,
               visibility=Visibility.PUBLIC if from_customer else Visibility.INTERNAL)
    if intake.follows is not None:
        # Linked both ways, so either timeline leads to the other.
        await line(TimelineKind.LINKED, after=intake.follows.number, detail=linked(LinkDirection.FOLLOWS))
        await uow.append_timeline(TimelineEntry(intake.follows.id, TimelineKind.LINKED, turn.actor_key, turn.platform,
                                                now, after=saved.number, detail=linked(LinkDirection.CONTINUED)))
    if decision.rule:
        await line(TimelineKind.ROUTED, detail=routed(
            decision.rule, category=decision.category, department=decision.department,
            priority=decision.priority and decision.priority.value, assignee=decision.assignee))
    if assignee:
        await line(TimelineKind.ASSIGNED, after=assignee, detail=how)
    await _announce(turn, uow, saved, decision, from_customer=from_customer, follows=intake.follows)
    await alerts.on_created(turn, uow, saved)  # a P0, a customer's repeat tickets: in this same transaction
    return saved


async def _announce(turn: Turn, uow: UnitOfWork, ticket: Ticket, decision, *, from_customer: bool,
                    follows: Ticket | None = None) -> None:
    """Triage card to the agents, confirmation to the requester, and the people rules ask to tell."""
    ctx, t = turn.ctx, turn.t
    triage = triage_target(turn)
    staff_language = ctx.directory.default_language
    if triage is not None:
        await post_card(uow, ticket, triage, viewer=STAFF_VIEW, language=staff_language)
    if from_customer or turn.person.is_customer:
        if follows is not None:
            await turn.reply(uow, t._("Your ticket {old} was closed, so this message opens a new one: {number}. Our "
                                      "team will answer here.", old=follows.number, number=ticket.number))
        else:
            await turn.reply(uow, t._("Thanks! We opened ticket {number} for you. Our team will answer here.",
                                      number=ticket.number))
        await post_card(uow, ticket, turn.conversation, viewer=CUSTOMER_VIEW, language=t.language)
    elif triage is None or turn.conversation.id != triage.id:
        await post_card(uow, ticket, turn.conversation, viewer=STAFF_VIEW, language=t.language)
    if ticket.assignee and ticket.assignee != turn.person.key:
        await tell_person(uow, ctx.directory, ticket.assignee,
                          lambda pt: pt._("New ticket {number} assigned to you: {title}", number=ticket.number,
                                          title=ticket.title), prefer=turn.platform, urgency=Urgency.NOTICE)
    notify = list(decision.notify)
    if decision.notify_account_manager and turn.person.account_manager:
        notify.append(turn.person.account_manager)
    for key in dict.fromkeys(notify):
        await tell_person(uow, ctx.directory, key,
                          lambda pt: pt._("{tier} customer {customer} opened {number} ({priority}): {title}",
                                          tier=pt._("VIP") if ticket.customer_tier is Tier.VIP else "",
                                          customer=ticket.customer_name, number=ticket.number,
                                          priority=ticket.priority.value, title=ticket.title).strip(),
                          prefer=turn.platform, urgency=Urgency.NOTICE)


async def new_from_command(turn: Turn, intake: Intake) -> Ticket | None:
    """`/ticket new …`: open a ticket and answer with its card."""
    from bot.permissions import CREATE, denial

    async with turn.ctx.store.unit() as uow:
        reason = denial(turn.person, CREATE)
        if reason:
            await turn.reply(uow, turn.t._(reason), private=True)
            await turn.finish(uow)
            return None
        problem = _validate(turn, intake)
        if problem:
            await turn.reply(uow, problem, private=True)
            await turn.finish(uow)
            return None
        if intake.assignee:
            person = turn.ctx.directory.find_person(intake.assignee, turn.platform)
            intake.assignee = person.key if person and person.is_staff else None
        ticket = await open_ticket(turn, uow, intake, from_customer=False)
        await turn.finish(uow)
    return ticket


def _validate(turn: Turn, intake: Intake) -> str | None:
    """A localized problem with the intake fields, or None."""
    t, config = turn.t, turn.ctx.config
    if not intake.title.strip():
        return t._("A ticket needs a title.")
    if len(intake.title) > TITLE_MAX:
        return t._("A title has at most {limit} characters; put the rest in a note.", limit=TITLE_MAX)
    if intake.category and intake.category not in config.categories:
        return t._("Unknown category '{category}'. Choose one of: {allowed}.", category=intake.category,
                   allowed=", ".join(config.categories))
    if intake.assignee and not turn.ctx.directory.find_person(intake.assignee, turn.platform):
        return t._("I don't know anyone or any team called '{name}'.", name=intake.assignee)
    return None
