"""Alerts: what an alert is, its once-only key, who is told, and the week arithmetic of volume_growth.

An alert is raised once per (rule, subject, window): the subject is what it is about (a ticket, a customer, a
product module, the backlog, a survey), the window the stretch of time it covers (none for a ticket's P0, the
day the streak began for a repeat customer, the ISO week for growth, the local day for the backlog). Storage keeps
that triple unique, so restarts, retried deliveries and replicas raise it once. The rules' config is
bot/config_alerts.py; raising and acknowledging is handlers/alerts.py; the periodic rules are schedules/alerts.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.directory import Directory, Person, Role
from bot.events import Platform
from bot.subjects import Subject, SubjectKind

MAX_ALERT_ID = 2**31 - 1  # the id column's range: only a forged press names a larger one
LISTED = 10  # `/ticket alerts` shows this many, newest first, then "and N more"
EVIDENCE_TICKETS = 10  # tickets named on a card at most


class Rule(StrEnum):
    """The alert rules of the config's `alerts:` section."""

    P0_CREATED = "p0_created"
    REPEAT_CUSTOMER = "repeat_customer"
    VOLUME_GROWTH = "volume_growth"
    BACKLOG = "backlog"
    LOW_CSAT = "low_csat"


NO_WINDOW = "-"  # a rule that fires once per subject ever (a ticket's P0, a survey's low score)


@dataclass
class Alert:
    """One raised alert: its key, the evidence as data (rendered in each reader's words), who was told, who acked."""

    rule: Rule
    subject_key: str
    window: str
    raised_at: datetime
    evidence: dict[str, Any]
    recipients: list[str] = field(default_factory=list)
    id: int | None = None
    version: int = 1
    acked_by: str | None = None
    acked_at: datetime | None = None

    @property
    def subject(self) -> Subject:
        """The alert's card subject."""
        return Subject(SubjectKind.ALERT, self.id or 0)

    @property
    def number(self) -> str:
        """How people name it: A-000012."""
        return format_alert_number(self.id or 0)


def format_alert_number(alert_id: int) -> str:
    """'A-000012'."""
    return f"A-{alert_id:06d}"


class StaleAlert(Exception):
    """The alert changed since it was read (two presses at once): this one changes nothing."""


class Alerts(Protocol):
    """A transaction's alerts (storage.alerts.SqlAlerts)."""

    async def raise_alert(self, alert: Alert) -> Alert | None:
        """Insert the alert unless its (rule, subject, window) was raised before: the stored alert, or None."""
        ...

    async def raised_since(self, rule: Rule, subject_key: str, since: datetime) -> bool:
        """True when an alert of `rule` about `subject_key` was raised at or after `since`."""
        ...

    async def load(self, ids: Sequence[int]) -> dict[int, Alert]: ...

    async def acknowledge(self, alert: Alert, *, by: str, at: datetime) -> Alert:
        """Record who acknowledged it, if nobody changed it since it was read (StaleAlert otherwise)."""
        ...

    async def set_evidence(self, alert: Alert) -> None:
        """Save the alert's evidence (a comment that came after the score)."""
        ...

    async def find(self, rule: Rule, subject_key: str, window: str) -> Alert | None: ...

    async def open_alerts(self, limit: int) -> tuple[list[Alert], int]:
        """The newest unacknowledged alerts (at most `limit`) and how many are open in all."""
        ...


class AlertCounts(Protocol):
    """The aggregates the rules look at (storage.alert_counts.SqlAlertCounts)."""

    async def customer_tickets(self, identities: Sequence[tuple[Platform, str]], since: datetime,
                               limit: int) -> tuple[int, list[tuple[int, str]]]: ...

    async def weekly_counts(self, by: str, groups: Sequence[str],
                            weeks: Sequence[tuple[datetime, datetime]]) -> dict[str, list[int]]: ...

    async def open_count(self) -> int: ...

    async def unassigned_before(self, before: datetime, limit: int) -> tuple[int, list[tuple[int, str]]]: ...


class HasAlerts(Protocol):
    """A unit of work that offers its alerts and the counts behind them."""

    def alerts(self) -> Alerts: ...

    def alert_counts(self) -> AlertCounts: ...


def leads_of(directory: Directory, department: str | None) -> list[Person]:
    """The leads of `department`; without one there (or a department), every lead."""
    found = directory.members(department, Role.LEAD) if department else []
    return found or [p for p in directory.people() if p.has(Role.LEAD)]


def resolve_recipients(to: Sequence[str], *, directory: Directory, department: str | None = None,
                       roles: dict[str, str | None] | None = None) -> list[str]:
    """The people keys `to` names, roles resolved (`lead`, `department_head`, and the rule's own `roles`), each
    once and in order; a role nobody holds here names nobody."""
    found: list[str] = []
    for who in to:
        if who == "lead":
            found += [p.key for p in leads_of(directory, department)]
        elif who == "department_head":
            dept = directory.departments.get(department or "")
            found += [dept.head] if dept and dept.head else []
        elif roles is not None and who in roles:
            found += [roles[who]] if roles[who] else []
        else:
            found.append(who)
    return list(dict.fromkeys(key for key in found if directory.person(key) is not None))


# ---- weeks (volume_growth) ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Week:
    """An ISO week in the workspace's zone: its key ('2026-W53'), its UTC bounds and how many business days it has."""

    key: str
    start: datetime
    end: datetime
    business_days: int


def iso_week_key(day: date) -> str:
    """'2026-W53' (the ISO year, which differs from the calendar year around New Year)."""
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def complete_weeks(now: datetime, timezone: str, count: int, *, business_days, limit: int = 12) -> list[Week]:
    """The last `count` complete ISO weeks before the one `now` is in, oldest first, leaving out weeks without a
    business day (a whole week of holiday is no evidence either way); `business_days(day) -> bool`."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    weeks: list[Week] = []
    for back in range(1, count + limit + 1):
        first = monday - timedelta(weeks=back)
        days = sum(1 for offset in range(7) if business_days(first + timedelta(days=offset)))
        if days == 0:
            continue
        weeks.append(Week(iso_week_key(first), _midnight(first, zone), _midnight(first + timedelta(weeks=1), zone),
                          days))
        if len(weeks) == count:
            break
    return list(reversed(weeks))


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def growth_streak(counts: Sequence[int], weeks: Sequence[Week], growth_pct: float) -> list[float] | None:
    """Each week's growth in % over the one before, per business day, when every one of them exceeds `growth_pct`
    (a week after a short holiday week is compared by tickets per business day, so neither looks like a trend);
    None when the streak is broken (or starts from an empty week)."""
    rates = [count / week.business_days for count, week in zip(counts, weeks, strict=True)]
    growths = []
    for before, after in zip(rates, rates[1:], strict=False):
        if before <= 0:
            return None
        growth = (after - before) / before * 100
        if growth <= growth_pct:
            return None
        growths.append(round(growth, 1))
    return growths
