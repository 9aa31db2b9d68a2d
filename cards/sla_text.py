"""How SLA clocks read to people: the card badge and the lines of `/ticket sla`."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.sla import NoticeKind, SlaClock, SlaPolicy, SlaState, at_risk, humanize
from bot.tickets import Ticket
from cards.model import Badge


def _(msgid: str) -> str:
    """Mark a msgid for extraction."""
    return msgid


UNITS = {"min": _("min"), "h": _("h"), "d": _("d")}
WHAT = {SlaClock.RESPOND: _("first response"), SlaClock.RESOLVE: _("resolution")}


def amount(delta: timedelta, t) -> str:
    """'35 min' / '35 分钟'."""
    value, unit = humanize(delta)
    return f"{value} {t._(UNITS[unit])}"


def what(clock: SlaClock, t) -> str:
    """'first response' / '首次响应'."""
    return t._(WHAT[clock])


def badge(state: SlaState, ticket: Ticket, t) -> Badge | None:
    """The card's clock: 'Respond in 35 min', 'Response breached 10 min ago', 'SLA paused'."""
    if state.clock is None:
        return None
    if state.paused:
        return Badge(t._("SLA paused ({left} left)", left=amount(state.remaining, t)), "paused")
    if state.breached:
        text = (t._("Response breached {ago} ago", ago=amount(-state.remaining, t)) if state.clock is SlaClock.RESPOND
                else t._("Resolution breached {ago} ago", ago=amount(-state.remaining, t)))
        return Badge(text, "breached")
    text = (t._("Respond in {left}", left=amount(state.remaining, t)) if state.clock is SlaClock.RESPOND
            else t._("Resolve in {left}", left=amount(state.remaining, t)))
    return Badge(text, "warn" if at_risk(state, ticket) else "ok")


def sla_lines(policy: SlaPolicy, ticket: Ticket, now: datetime, fired: set[str], t, fmt) -> list[str]:
    """Both clocks, the pauses and what fires next, for `/ticket sla`."""
    lines = []
    for clock, due, done_at in ((SlaClock.RESPOND, ticket.respond_by, ticket.first_response_at),
                                (SlaClock.RESOLVE, ticket.resolve_by, ticket.resolved_at)):
        if done_at is not None:
            lines.append(t._("{what}: done at {at}", what=what(clock, t), at=fmt(done_at)))
        elif due is None:
            lines.append(t._("{what}: no target", what=what(clock, t)))
        elif due < now and ticket.sla_paused_at is None:
            lines.append(t._("{what}: due {at}, breached {ago} ago", what=what(clock, t), at=fmt(due),
                             ago=amount(now - due, t)))
        else:
            left = due - (ticket.sla_paused_at or now)
            lines.append(t._("{what}: due {at}, {left} left", what=what(clock, t), at=fmt(due), left=amount(left, t)))
    for start, end in ticket.sla_pauses:
        lines.append(t._("Paused {start} – {end}", start=fmt(start), end=fmt(end)))
    if ticket.sla_paused_at:
        lines.append(t._("Paused since {start} (waiting on the customer)", start=fmt(ticket.sla_paused_at)))
    upcoming = [n for n in policy.schedule(ticket, now) if n.key not in fired and n.fire_at > now]
    if upcoming:
        first = upcoming[0]
        kind = (t._("reminder ({percent}%)", percent=first.level) if first.kind is NoticeKind.REMIND
                else t._("escalation level {level}", level=first.level + 1))
        lines.append(t._("Next: {kind} for {what} at {at}", kind=kind, what=what(first.clock, t), at=fmt(first.fire_at)))
    return lines
