"""SLA policy → stored deadlines and a notification schedule; sla_state(ticket, now) is computed, never stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.business_hours import ALWAYS_OPEN, Calendar, build_calendar, parse_duration
from bot.config import AppConfig
from bot.config_sla import BusinessHoursConfig, TargetConfig
from bot.directory import Directory, Role
from bot.kpis import record_outcomes
from bot.tickets import Priority, Status, Ticket

# A ticket is at risk when less than this share of its running promise's window is left (or it is breached).
AT_RISK_SHARE = 0.2


class SlaClock(StrEnum):
    """Which promise a deadline belongs to."""

    RESPOND = "respond"
    RESOLVE = "resolve"


@dataclass(frozen=True)
class Target:
    """One promise: how long, counted on which calendar."""

    days: int
    time: timedelta
    calendar: Calendar

    def deadline(self, start: datetime, shift: timedelta) -> datetime:
        """`start` plus the target plus the paused time `shift`, on the target's calendar."""
        end = self.calendar.add_business_days(start, self.days) if self.days else start
        return self.calendar.add(end, self.time + shift)

    def at_fraction(self, start: datetime, shift: timedelta, fraction: float) -> datetime:
        """The instant `fraction` of the window has passed (for reminders)."""
        window = self.calendar.business_day * self.days + self.time
        return self.calendar.add(start, window * fraction + shift)


class NoticeKind(StrEnum):
    """What an SLA notification is: a reminder before a deadline, or an escalation level after it."""

    REMIND = "remind"
    ESCALATE = "escalate"


@dataclass(frozen=True)
class Notification:
    """Something the sweep sends once: a reminder before, or an escalation level after, a deadline."""

    key: str  # unique per ticket and deadline, e.g. "respond:2026-11-20T03:00:00+00:00:remind:80"
    clock: SlaClock
    kind: NoticeKind
    fire_at: datetime
    deadline: datetime
    level: int = 0  # escalation level index, or the reminder percentage
    to: str | None = None  # escalation target (role or person key)


@dataclass(frozen=True)
class SlaState:
    """The running promise: which clock, when due, how much is left (negative once breached)."""

    clock: SlaClock | None
    due: datetime | None
    remaining: timedelta | None
    paused: bool = False

    @property
    def breached(self) -> bool:
        """True once the running promise's deadline has passed."""
        return self.remaining is not None and self.remaining < timedelta(0)


def _calendar(config: BusinessHoursConfig, name: str) -> Calendar:
    return build_calendar(name=name, timezone=config.timezone, hours=config.hours, lunch=config.lunch,
                          weekdays=config.weekdays, country=config.country, extra_holidays=config.extra_holidays,
                          extra_workdays=config.extra_workdays)


class SlaPolicy:
    """The configured promises, calendars, reminders and escalation chain."""

    def __init__(self, config: AppConfig):
        self.config = config.sla
        self.default_calendar = _calendar(config.business_hours, "default")
        self.calendars = {name: _calendar(c, name) for name, c in self.config.calendars.items()}
        for target in [*self.config.targets.values(), *(t for o in self.config.overrides for t in o.targets.values())]:
            for text in (target.first_response, target.resolution):
                if text:
                    parse_duration(text)  # fail at start-up, not at the first ticket
        self.escalation_delays = [timedelta(days=days) + time
                                  for days, time in (parse_duration(level.after) for level in self.config.escalation)]

    # ---- targets ---------------------------------------------------------------------------------------
    def business_calendar(self, ticket: Ticket) -> Calendar:
        """The calendar of the ticket's department (or the default one)."""
        name = self.config.department_calendars.get(ticket.department or "")
        return self.calendars.get(name, self.default_calendar) if name else self.default_calendar

    def _target_config(self, ticket: Ticket) -> TargetConfig | None:
        chosen = self.config.targets.get(ticket.priority)
        for override in self.config.overrides:
            if override.tier and override.tier != ticket.customer_tier:
                continue
            if override.department and override.department != ticket.department:
                continue
            chosen = override.targets.get(ticket.priority, chosen)
        return chosen

    def targets(self, ticket: Ticket) -> dict[SlaClock, Target]:
        """The promises that apply to the ticket now (by priority, tier and department)."""
        config = self._target_config(ticket)
        if config is None:
            return {}
        calendar = ALWAYS_OPEN if config.clock == "24x7" else self.business_calendar(ticket)
        found = {}
        for clock, text in ((SlaClock.RESPOND, config.first_response), (SlaClock.RESOLVE, config.resolution)):
            if text:
                days, time = parse_duration(text)
                found[clock] = Target(days, time, calendar)
        return found

    # ---- state changes -------------------------------------------------------------------------------
    def refresh(self, ticket: Ticket, now: datetime) -> None:
        """Open or close a pause as the status says, recompute the deadlines, and ask the sweep to look."""
        paused_now = ticket.status in self.config.paused_statuses
        if paused_now and ticket.sla_paused_at is None:
            ticket.sla_paused_at = now
        elif not paused_now and ticket.sla_paused_at is not None:
            ticket.sla_pauses = [*ticket.sla_pauses, (ticket.sla_paused_at, now)]
            ticket.sla_paused_at = None
        targets = self.targets(ticket)
        respond, resolve = targets.get(SlaClock.RESPOND), targets.get(SlaClock.RESOLVE)
        ticket.respond_by = (respond.deadline(ticket.created_at, self._shift(ticket, respond, now))
                             if respond and ticket.first_response_at is None else None)
        ticket.resolve_by = resolve.deadline(ticket.created_at, self._shift(ticket, resolve, now)) if resolve else None
        record_outcomes(ticket, respond, resolve, lambda calendar: self._paused(ticket, calendar, now))
        running = ticket.status not in (Status.RESOLVED, Status.CLOSED) and ticket.sla_paused_at is None
        ticket.next_due_at = now if running and (ticket.respond_by or ticket.resolve_by) else None

    def _shift(self, ticket: Ticket, target: Target, now: datetime) -> timedelta:
        return self._paused(ticket, target.calendar, now)

    @staticmethod
    def _paused(ticket: Ticket, calendar: Calendar, now: datetime) -> timedelta:
        pauses = [*ticket.sla_pauses, *([(ticket.sla_paused_at, now)] if ticket.sla_paused_at else [])]
        return sum((calendar.elapsed(start, end) for start, end in pauses), timedelta(0))

    # ---- what fires when -----------------------------------------------------------------------------
    def schedule(self, ticket: Ticket, now: datetime) -> list[Notification]:
        """Every reminder and escalation for the ticket's current deadlines, in firing order."""
        if ticket.status in (Status.RESOLVED, Status.CLOSED) or ticket.sla_paused_at is not None:
            return []
        targets = self.targets(ticket)
        quiet = ticket.priority in self.config.quiet_priorities
        business = self.business_calendar(ticket)
        found: list[Notification] = []
        for clock, deadline in ((SlaClock.RESPOND, ticket.respond_by), (SlaClock.RESOLVE, ticket.resolve_by)):
            target = targets.get(clock)
            if deadline is None or target is None:
                continue
            stamp = escalation_key(clock, deadline)
            shift = self._shift(ticket, target, now)
            for fraction in self.config.reminders:
                fire = target.at_fraction(ticket.created_at, shift, fraction)
                if quiet:
                    fire = business.next_open(fire)
                percent = round(fraction * 100)
                found.append(Notification(f"{stamp}:remind:{percent}", clock, NoticeKind.REMIND, fire, deadline,
                                          percent))
            for index, (level, delay) in enumerate(zip(self.config.escalation, self.escalation_delays, strict=True)):
                fire = deadline + delay
                if quiet:
                    fire = business.next_open(fire)
                found.append(Notification(f"{stamp}:escalate:{index}", clock, NoticeKind.ESCALATE, fire, deadline,
                                          index,
                                          level.to))
        return sorted(found, key=lambda n: (n.fire_at, n.key))

    def escalated(self, ticket: Ticket, now: datetime) -> bool:
        """True while the running promise is breached and nobody said "I'm on it" to this breach."""
        state = self.state(ticket, now)
        return bool(state.breached and not state.paused
                    and ticket.escalation_acked != escalation_key(state.clock, state.due))

    @staticmethod
    def acknowledged(ticket: Ticket, notification: Notification) -> bool:
        """True for an escalation level of a breach someone said "I'm on it" to (the next levels stay quiet)."""
        return (notification.kind is NoticeKind.ESCALATE
                and ticket.escalation_acked == escalation_key(notification.clock, notification.deadline))

    def state(self, ticket: Ticket, now: datetime) -> SlaState:
        """The running promise of the ticket at `now` (first response first, then resolution)."""
        if ticket.status in (Status.RESOLVED, Status.CLOSED):
            return SlaState(None, None, None)
        paused = ticket.sla_paused_at is not None
        if ticket.respond_by is not None and ticket.first_response_at is None:
            clock, due = SlaClock.RESPOND, ticket.respond_by
        elif ticket.resolve_by is not None:
            clock, due = SlaClock.RESOLVE, ticket.resolve_by
        else:
            return SlaState(None, None, None, paused)
        if paused:
            # The clock stands still: what is left is what was left when the pause began.
            return SlaState(clock, due, due - ticket.sla_paused_at, True)
        return SlaState(clock, due, due - now, False)


def escalation_key(clock: SlaClock, deadline: datetime) -> str:
    """Names one breach (a clock and its deadline): notification keys start with it, "I'm on it" stores it."""
    return f"{clock.value}:{deadline.isoformat()}"


def at_risk(state: SlaState, ticket: Ticket) -> bool:
    """Breached, or less than AT_RISK_SHARE of the running promise's window remains."""
    if state.remaining is None or state.due is None:
        return False
    if state.breached:
        return True
    return ticket.created_at is not None and state.remaining <= (state.due - ticket.created_at) * AT_RISK_SHARE


def escalation_targets(ticket: Ticket, to: str | None, directory: Directory) -> list[str]:
    """Directory keys an escalation level goes to: a role relative to the ticket, or a person's key."""
    department = ticket.department or ""
    match to:
        case "assignee":
            return [ticket.assignee] if ticket.assignee else [p.key for p in directory.members(department, Role.LEAD)]
        case "lead":
            return [p.key for p in directory.members(department, Role.LEAD)]
        case "department_head":
            head = directory.departments.get(department)
            return [head.head] if head and head.head else []
        case "manager":
            managers = directory.members(department, Role.MANAGER) or [
                p for p in directory.people() if p.has(Role.MANAGER)]
            return [p.key for p in managers]
        case None:
            return []
        case _:
            return [to]


def humanize(delta: timedelta) -> tuple[int, str]:
    """(amount, unit) for a duration, rounded the way a person says it: 35 min, 3 h, 2 d."""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 90:
        return max(minutes, 1), "min"
    hours = round(minutes / 60)
    if hours < 48:
        return hours, "h"
    return round(hours / 24), "d"


__all__ = ["AT_RISK_SHARE", "NoticeKind", "Notification", "Priority", "SlaClock", "SlaPolicy", "SlaState", "Target", "at_risk",
           "escalation_key", "escalation_targets", "humanize", "parse_duration"]
