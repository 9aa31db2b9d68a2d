"""A ticket card's presses: a button, a drop-down, or several choices submitted at once, through the same builders as
commands (the press table in handlers/presses.py routes a ticket's presses here)."""

from __future__ import annotations

from bot.directory import department_choice, person_choice
from bot.events import ButtonPressed
from bot.tickets import MAX_TICKET_ID, Action, Priority, Ticket, format_number
from cards import actions
from handlers import changes, lifecycle
from handlers.notify import refresh_cards
from handlers.turn import Turn

CHOICES = (Action.ASSIGN, Action.PRIORITY, Action.CATEGORY)


# What a card offers: the choices and these buttons (a note or a reply needs text, so it is a command).
PRESSABLE = frozenset({*CHOICES, Action.CLAIM, Action.RESOLVE, Action.CLOSE, Action.REOPEN, Action.RESUME})


ASK_PREFIX = "ask:"  # "Ask Finance…" in the assign list: a department that is asked, not assigned


async def _how_to_ask(turn: Turn, ticket_id: int, department: str) -> None:
    """'Ask Finance…' chosen on a card: a request needs a question, so say how to write it (nothing changes)."""
    found = turn.ctx.directory.departments.get(department)
    async with turn.ctx.store.unit() as uow:
        if found is None:
            await turn.reply(uow, turn.t._("That choice is not valid."), private=True)
        else:
            await turn.reply(uow, turn.t._(
                "{team} is asked, not assigned. Write your question with a deadline: {command}",
                team=found.name(turn.t.language),
                command=turn.t._("/ticket ask {number} @{team} <question> [by <deadline>]",
                                 number=format_number(ticket_id), team=found.key)), private=True)
        await turn.finish(uow)


def builder_for(turn: Turn, action: Action | str, value: str):
    """The lifecycle builder for a card control; None when the control or its value is not valid."""
    value = value.strip()
    try:
        action = Action(action)  # the codec carries any kind's action as text
    except ValueError:
        return None
    if action not in PRESSABLE or (action in CHOICES and not value) or value.startswith(ASK_PREFIX):
        return None
    match action:
        case Action.PRIORITY:
            if value.upper() not in Priority.__members__:
                return None
            argument = Priority(value.upper())
        case Action.CATEGORY:
            argument = value.lower()
        case Action.ASSIGN:
            argument = value
        case _:
            argument = None
    return changes.builder(turn, action, argument)


def is_current(ticket: Ticket, action: Action, value: str) -> bool:
    """True when choosing `value` for `action` would change nothing (a drop-down left as it was)."""
    match action:
        case Action.PRIORITY:
            return ticket.priority.value == value.upper()
        case Action.CATEGORY:
            return ticket.category == value.lower()
        case Action.ASSIGN:
            return value == (person_choice(ticket.assignee) if ticket.assignee else department_choice(ticket.department))
    return False


async def press_ticket(turn: Turn, event: ButtonPressed, refs: list[actions.ActionRef]) -> None:
    """Apply a press on a ticket's card: the choices that changed first (one version check), then the button itself.

    `refs` are the press's decoded controls, all naming tickets (the press table checked their kind).
    """
    ctx = turn.ctx
    if any(ref.subject_id > MAX_TICKET_ID for ref in refs):
        # A number no ticket can have (only a forged press names one): nothing to look up.
        await turn.answer(turn.t._("That choice is not valid."))
        return
    ticket_id = refs[0].subject_id if refs else None
    changed, stopped = await _apply_choices(turn, event)
    if stopped:
        return
    ref = actions.decode(event.action)
    if ref is not None and ref.action == actions.ACK:
        await lifecycle.change_ticket(turn, ref.subject_id, changes.acknowledge(turn), from_button=True)
        return
    if ref is not None and (ref.action == actions.VIEW or (ref.action in CHOICES and event.choices
                                                           and event.value is None)):
        ref = None  # a view request, or the key of a drop-down itself (its choice was applied above)
    if ref is None:
        # A view request (or nothing we know): show this copy again, in the layout the press asked for.
        async with ctx.store.unit() as uow:
            ticket = await uow.get_ticket(ticket_id) if ticket_id is not None and not changed else None
            if ticket is not None:
                await refresh_cards(uow, ticket)
            await turn.finish(uow)
        return
    if ref.action == Action.ASSIGN and (event.value or "").startswith(ASK_PREFIX):
        await _how_to_ask(turn, ref.subject_id, event.value.removeprefix(ASK_PREFIX))
        return
    builder = builder_for(turn, ref.action, event.value or "")
    if builder is None:
        await turn.answer(turn.t._("That choice is not valid."))
        return
    # After the press's own choices changed the ticket, the version it was rendered at is ours, not a rival's.
    await lifecycle.change_ticket(turn, ref.subject_id, builder, expected_version=None if changed else ref.version,
                                  from_button=True)


async def _apply_choices(turn: Turn, event: ButtonPressed) -> tuple[bool, bool]:
    """(changed anything, stopped): the submitted choices that differ from the ticket, applied together."""
    picked = [(ref, value) for code, value in event.choices
              if (ref := actions.decode(code)) is not None and ref.action in CHOICES]
    if not picked:
        return False, False
    async with turn.ctx.store.unit() as uow:
        ticket = await uow.get_ticket(picked[0][0].subject_id)
    if ticket is None:
        return False, False
    builds = [build for ref, value in picked
              if not is_current(ticket, ref.action, value) and (build := builder_for(turn, ref.action, value))]
    if not builds:
        return False, False
    # One change, checked against the version the person saw: all the choices or (refused, overtaken) none.
    saved = await lifecycle.change_ticket(turn, ticket.id, builds, expected_version=picked[0][0].version,
                                          from_button=True)
    return saved is not None, saved is None
