"""Derived, indexed columns that let SQL find the breaching tickets without loading the open ones.

`sla_due_at` is the deadline of a running (unpaused) promise of an open ticket; `sla_risk_at` the instant
the ticket counts as at risk: for a running promise when a fifth of its window is left, for a paused one
its pause instant when it was already at risk then (a paused clock stands still, so it stays so). Both are
written with every save of the ticket, whose stored deadlines they are derived from; time passing needs no
write, since they are instants. `sla_paused_risk_at` repeats `sla_risk_at` for paused clocks only (NULL
elsewhere), so that a planner's statistics see how few they are.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.sla import AT_RISK_SHARE
from bot.tickets import OPEN_STATUSES, Ticket


def running_deadline(ticket: Ticket) -> datetime | None:
    """The deadline of the promise that runs now (first response first, then resolution), as SlaPolicy.state."""
    if ticket.status not in OPEN_STATUSES:
        return None
    if ticket.respond_by is not None and ticket.first_response_at is None:
        return ticket.respond_by
    return ticket.resolve_by


def sla_marks(ticket: Ticket) -> dict[str, datetime | None]:
    """The `sla_due_at`, `sla_risk_at` and `sla_paused_risk_at` column values of `ticket`."""
    due = running_deadline(ticket)
    if due is None or ticket.created_at is None:
        return {"sla_due_at": None, "sla_risk_at": None, "sla_paused_risk_at": None}
    # min(): a deadline before the ticket's creation (odd data) is breached at once, so at risk too.
    risk = min(due, ticket.created_at + (due - ticket.created_at) * (1 - AT_RISK_SHARE))
    if ticket.sla_paused_at is None:
        return {"sla_due_at": due, "sla_risk_at": risk, "sla_paused_risk_at": None}
    paused_risk = ticket.sla_paused_at if ticket.sla_paused_at >= risk else None
    return {"sla_due_at": None, "sla_risk_at": paused_risk, "sla_paused_risk_at": paused_risk}


def time_left(ticket: Ticket, now: datetime) -> timedelta:
    """What is left of the running promise (negative once breached; frozen while paused)."""
    due = running_deadline(ticket)
    assert due is not None, "only tickets with a running promise have time left"
    return due - (ticket.sla_paused_at or now)
