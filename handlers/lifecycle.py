"""Changing a ticket: permissions, the lifecycle via tickets.apply, the version check, its timeline and answers."""

from __future__ import annotations

import asyncio
import random
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from bot.i18n.labels import action_label, status_label
from bot.permissions import denial
from bot.ports import StaleTicket, Timeline
from bot.tickets import (
    Action,
    IllegalTransition,
    ReopenExpired,
    Status,
    Ticket,
    TimelineEntry,
    TimelineKind,
    Visibility,
    apply,
    format_number,
)
from handlers.notify import refresh_cards
from handlers.turn import Turn


@dataclass
class Change:
    """What one action does to a ticket: the edit, its timeline line, and what follows after saving."""

    action: Action
    kind: TimelineKind
    before: str | None = None
    after: str | None = None
    text: str | None = None
    visibility: Visibility = Visibility.INTERNAL
    detail: dict[str, str] | None = None  # why, as data (bot/reasons.py)
    confirm: str | None = None  # text for the actor (commands only; a button's answer is the card)
    followups: list = field(default_factory=list)  # async callables (uow, ticket) run after the save
    # Asked for what already is (the same priority, one's own ticket): nothing is saved or recorded, and
    # `confirm` says so politely.
    unchanged: bool = False


def needs_unit(build):
    """Mark a builder that reads the unit of work: it is called as `await build(ticket, uow)` (e.g. to pick an agent)."""
    build.needs_unit = True
    return build


class Refusal(Exception):
    """The change was refused; `message` tells the actor why, and nothing changes."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def illegal_message(turn: Turn, ticket: Ticket, exc: IllegalTransition) -> str:
    """'T-000001 is resolved; you can: close, reopen, …' in the actor's language."""
    t = turn.t
    # The catalog builds the sentence and joins the list ("、" in Chinese): no English word order glued around it.
    allowed = t._(", ").join(action_label(a, t) for a in exc.allowed if a is not Action.CUSTOMER_MESSAGE)
    return t._(
        "{number} is {status}: “{action}” is not possible now. Allowed now: {allowed}.",
        number=ticket.number,
        status=status_label(ticket.status, t),
        action=action_label(exc.action, t),
        allowed=allowed or "—",
    )


# How long a command keeps trying against concurrent saves of its ticket before it reports a conflict.
COMMAND_PATIENCE = 30.0
_FIRST_BACKOFF, _MAX_BACKOFF = 0.005, 0.25


async def change_ticket(turn: Turn, ticket_id: int, build, *, expected_version: int | None = None,
                        from_button: bool = False) -> Ticket | None:
    """Apply `build(ticket) -> Change` (or a list of builds, together) under the lifecycle table, permissions and
    the version check.

    A press on a card carries the version the person saw: if the ticket moved on, they are told who changed
    it. A command or message does not depend on what was seen, so a concurrent save just means: try again
    on the fresh ticket, after a jittered pause (so racing commands spread out instead of colliding in step),
    until it applies or COMMAND_PATIENCE has passed.
    """
    loop = asyncio.get_running_loop()
    give_up, backoff = loop.time() + COMMAND_PATIENCE, _FIRST_BACKOFF
    while True:
        try:
            async with _one_at_a_time(turn.ctx.store, ticket_id):
                return await _change_once(turn, ticket_id, build, expected_version, from_button)
        except StaleTicket as stale:
            if expected_version is not None or loop.time() >= give_up:
                await _tell_conflict(turn, stale)
                return None
        await asyncio.sleep(random.uniform(0, backoff))
        backoff = min(backoff * 2, _MAX_BACKOFF)


_turnstiles: dict[tuple[int, int], tuple[asyncio.Lock, int]] = {}


@asynccontextmanager
async def _one_at_a_time(store, ticket_id: int):
    """Changes of one ticket take turns within this process, so racing commands queue instead of colliding.

    Other replicas can still save in between; the version check and the retries above cover that.
    """
    key = (id(store), ticket_id)
    lock, users = _turnstiles.get(key) or (asyncio.Lock(), 0)
    _turnstiles[key] = (lock, users + 1)
    try:
        async with lock:
            yield
    finally:
        lock, users = _turnstiles[key]
        if users == 1:
            del _turnstiles[key]  # nobody waits: forget it, so the table holds only tickets being changed
        else:
            _turnstiles[key] = (lock, users - 1)


async def _change_once(turn: Turn, ticket_id: int, build, expected_version: int | None,
                       from_button: bool) -> Ticket | None:
    t, store = turn.t, turn.ctx.store
    async with store.unit() as uow:
        ticket = await uow.get_ticket(ticket_id)
        if ticket is None:
            await turn.reply(uow, t._("There is no ticket {number}.", number=format_number(ticket_id)), private=True)
            await turn.finish(uow)
            return None
        if expected_version is not None and ticket.version != expected_version:
            raise StaleTicket(ticket, await _last_actor(uow, ticket))
        changes = []
        try:
            # Several builds (choices submitted together) apply as one change: all of them or none.
            for one in build if isinstance(build, list) else [build]:
                change = await one(ticket, uow) if getattr(one, "needs_unit", False) else one(ticket)
                _apply(turn, ticket, change)
                changes.append(change)
        except Refusal as refusal:
            await turn.reply(uow, refusal.message, private=True)
            if from_button:
                await refresh_cards(uow, ticket)
            await turn.finish(uow)
            return None
        applied = [change for change in changes if not change.unchanged]
        saved = await uow.save_ticket(ticket) if applied else ticket
        for change in applied:
            await uow.append_timeline(
                TimelineEntry(
                    ticket_id=saved.id, kind=change.kind, actor=turn.actor_key, platform=turn.platform,
                    at=turn.ctx.clock.now(), before=change.before, after=change.after, text=change.text,
                    visibility=change.visibility, detail=change.detail,
                )
            )
            for followup in change.followups:
                await followup(uow, saved)
        if applied or from_button:
            await refresh_cards(uow, saved)
        for change in changes:
            if change.confirm and (change.unchanged or not from_button):
                await turn.reply(uow, change.confirm, private=change.unchanged)
        await turn.finish(uow)
    _wake(turn)
    return saved


async def _last_actor(uow: Timeline, ticket: Ticket) -> str | None:
    entries = await uow.timeline(ticket.id)
    return entries[-1].actor if entries else None


async def _tell_conflict(turn: Turn, stale: StaleTicket) -> None:
    """The loser of a race is told who won, and every card is refreshed — never a silent overwrite."""
    who = turn.ctx.directory.person(stale.changed_by)
    name = who.name if who else (stale.changed_by or "?")
    async with turn.ctx.store.unit() as uow:
        await turn.reply(
            uow,
            turn.t._("{number} was just changed by {name}; nothing was done. The card now shows the latest state.",
                     number=stale.current.number, name=name),
            private=True,
        )
        await refresh_cards(uow, stale.current)
        await turn.finish(uow)
    _wake(turn)


def _wake(turn: Turn) -> None:
    if turn.ctx.wake_outbox:
        turn.ctx.wake_outbox()


def check_permission(turn: Turn, ticket: Ticket, action: Action, *, new_assignee: str | None = None) -> None:
    """Raise Refusal, saying why in the actor's language, when they may not do `action` to `ticket`."""
    reason = denial(turn.person, action, ticket, new_assignee=new_assignee)
    if reason:
        assignee = turn.ctx.directory.person(ticket.assignee)
        raise Refusal(turn.t._(reason, assignee=assignee.name if assignee else ticket.assignee or ""))


def _apply(turn: Turn, ticket: Ticket, change: Change) -> None:
    """Check permission, then let the core move the status with its side effects (SLA clocks included)."""
    t, ctx = turn.t, turn.ctx
    check_permission(turn, ticket, change.action,
                     new_assignee=change.after if change.action is Action.ASSIGN else None)
    if change.unchanged:
        return
    try:
        before = apply(ticket, change.action, ctx.clock.now(),
                       reopen_window=timedelta(days=ctx.config.lifecycle.reopen_window_days), sla=ctx.sla)
    except IllegalTransition as exc:
        raise Refusal(illegal_message(turn, ticket, exc)) from None
    except ReopenExpired as exc:
        raise Refusal(t.ngettext("{number} was closed more than {days} day ago and cannot be reopened; open a new "
                                 "ticket.", "{number} was closed more than {days} days ago and cannot be reopened; "
                                 "open a new ticket.", exc.window.days, number=ticket.number,
                                 days=exc.window.days)) from None
    if ticket.status is not before and change.kind is not TimelineKind.STATUS:
        change.followups.append(_status_line(turn, before, ticket.status))


def _status_line(turn: Turn, before: Status, after: Status):
    async def write(uow: Timeline, ticket: Ticket) -> None:
        await uow.append_timeline(
            TimelineEntry(ticket_id=ticket.id, kind=TimelineKind.STATUS, actor=turn.actor_key, platform=turn.platform,
                          at=turn.ctx.clock.now(), before=before.value, after=after.value)
        )
    return write
