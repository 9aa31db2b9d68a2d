"""Managers' figures: what each KPI means, periods and scopes as pure code, and the stored facts they are read from.

Every figure is an aggregate over stored facts of the tickets and their timeline (see README, *Figures*):
the SQL lives in storage/kpis.py, the meaning here. A ticket's outcome facts (its first-response deadline kept
after the answer, and its first response and resolution times on the clock of its SLA target) are written by
`record_outcomes` on every change, so the aggregates are sums and ranges over indexed columns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter

from bot.business_hours import ALWAYS_OPEN, Calendar
from bot.tickets import Priority, Status, Ticket, Tier

# Backlog age buckets (upper bounds, in days): <1 d, 1–3 d, 3–7 d, >7 d.
AGE_BUCKETS = (("lt_1d", 1), ("d1_3", 3), ("d3_7", 7), ("gt_7d", None))
TOP_N = 5  # categories, modules, customers and agents shown on a card
BREACHED_SHOWN = 10  # breached (and at-risk) tickets listed (the breached count is exact)
AT_RISK_CAP = 1000  # at-risk tickets counted up to this many ("1000+"): a range of an index, never a scan


class Timed(Protocol):
    """What record_outcomes needs of an SLA target (bot.sla.Target)."""

    calendar: Calendar

    def deadline(self, start: datetime, shift: timedelta) -> datetime: ...


def record_outcomes(ticket: Ticket, respond: Timed | None, resolve: Timed | None,
                    paused: Callable[[Calendar], timedelta]) -> None:
    """Write the ticket's outcome facts: response deadline, first response and resolution time on its clocks.

    FRT counts from creation to the first reply the customer could see; time to resolution from creation to
    resolved (or closed, when closed unresolved). Both count on the calendar of the ticket's SLA target (business
    hours for business clocks, the wall clock for 24x7 ones or without a target), without the paused time.
    """
    created = ticket.created_at
    if created is None:
        return
    if ticket.first_response_at is None:
        ticket.response_due_at = ticket.respond_by
        ticket.frt_seconds = None
    elif ticket.frt_seconds is None:
        calendar = respond.calendar if respond else ALWAYS_OPEN
        # The promise in force when the answer came: respond_by is cleared once answered, this is kept.
        ticket.response_due_at = respond.deadline(created, paused(calendar)) if respond else None
        ticket.frt_seconds = _seconds(calendar, created, ticket.first_response_at, paused)
    done = ticket.resolved_at or (ticket.closed_at if ticket.status is Status.CLOSED else None)
    if done is None:
        ticket.ttr_seconds = None  # open again (a reopen) or never finished
    elif ticket.ttr_seconds is None:
        ticket.ttr_seconds = _seconds(resolve.calendar if resolve else ALWAYS_OPEN, created, done, paused)


def _seconds(calendar: Calendar, start: datetime, end: datetime, paused: Callable[[Calendar], timedelta]) -> int:
    return max(int((calendar.elapsed(start, end) - paused(calendar)).total_seconds()), 0)


# ---- periods -------------------------------------------------------------------------------------------------


class PeriodKind(StrEnum):
    """The named periods (and a date range)."""

    TODAY = "today"
    YESTERDAY = "yesterday"
    WEEK = "week"
    LAST_WEEK = "last-week"
    MONTH = "month"
    LAST_MONTH = "last-month"
    RANGE = "range"


PERIOD_WORDS: dict[str, PeriodKind] = {
    "today": PeriodKind.TODAY, "今天": PeriodKind.TODAY, "今日": PeriodKind.TODAY,
    "yesterday": PeriodKind.YESTERDAY, "昨天": PeriodKind.YESTERDAY, "昨日": PeriodKind.YESTERDAY,
    "week": PeriodKind.WEEK, "this-week": PeriodKind.WEEK, "本周": PeriodKind.WEEK, "这周": PeriodKind.WEEK,
    "last-week": PeriodKind.LAST_WEEK, "上周": PeriodKind.LAST_WEEK,
    "month": PeriodKind.MONTH, "this-month": PeriodKind.MONTH, "本月": PeriodKind.MONTH,
    "last-month": PeriodKind.LAST_MONTH, "上月": PeriodKind.LAST_MONTH, "上个月": PeriodKind.LAST_MONTH,
}
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?$")
MAX_RANGE_DAYS = 366


def _(msgid: str) -> str:
    """Mark a msgid for extraction; the handler translates it."""
    return msgid


class PeriodError(ValueError):
    """A period word or range that names no period (the message is a msgid with {token})."""

    def __init__(self, problem: str, token: str):
        super().__init__(problem)
        self.problem = problem
        self.token = token


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, for local days first..last in the workspace time zone."""

    kind: PeriodKind
    first: date
    last: date
    timezone: str

    @property
    def start(self) -> datetime:
        """The first instant (UTC)."""
        return datetime.combine(self.first, time(), ZoneInfo(self.timezone)).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The instant after the last day (UTC)."""
        return datetime.combine(self.last + timedelta(days=1), time(), ZoneInfo(self.timezone)).astimezone(UTC)

    @property
    def days(self) -> int:
        """How many local days it spans."""
        return (self.last - self.first).days + 1

    @property
    def key(self) -> str:
        """Stable text: `2026-12-04` for a day, `2026-11-30..2026-12-06` for longer."""
        return self.first.isoformat() if self.first == self.last else f"{self.first}..{self.last}"

    def previous(self) -> Period:
        """The period just before, of the same length (the previous month for a month)."""
        if self.kind in (PeriodKind.MONTH, PeriodKind.LAST_MONTH):
            last = self.first - timedelta(days=1)
            return Period(self.kind, last.replace(day=1), last, self.timezone)
        return Period(self.kind, self.first - timedelta(days=self.days), self.first - timedelta(days=1), self.timezone)


def is_period(token: str) -> bool:
    """True when `token` looks like a period (a word, a day or a range); parse_period still checks the dates."""
    return token.strip().lower() in PERIOD_WORDS or _RANGE.match(token.strip()) is not None


def parse_period(token: str | None, now: datetime, timezone: str) -> Period:
    """The period a word (`today`, `本周`, `last-month`) or a range (`2026-11-01..2026-11-30`) names."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    word = (token or "today").strip().lower()
    kind = PERIOD_WORDS.get(word)
    monday = today - timedelta(days=today.weekday())
    match kind:
        case PeriodKind.TODAY:
            return Period(kind, today, today, timezone)
        case PeriodKind.YESTERDAY:
            return Period(kind, today - timedelta(days=1), today - timedelta(days=1), timezone)
        case PeriodKind.WEEK:
            return Period(kind, monday, today, timezone)
        case PeriodKind.LAST_WEEK:
            return Period(kind, monday - timedelta(days=7), monday - timedelta(days=1), timezone)
        case PeriodKind.MONTH:
            return Period(kind, today.replace(day=1), today, timezone)
        case PeriodKind.LAST_MONTH:
            last = today.replace(day=1) - timedelta(days=1)
            return Period(kind, last.replace(day=1), last, timezone)
    match = _RANGE.match(word)
    if not match:
        raise PeriodError(_("'{token}' is not a period; use today, yesterday, week, last-week, month, last-month "
                          "or YYYY-MM-DD..YYYY-MM-DD."), token or "")
    try:
        first = date.fromisoformat(match.group(1))
        last = date.fromisoformat(match.group(2) or match.group(1))
    except ValueError:
        raise PeriodError(_("'{token}' is not a date."), word) from None
    if last < first or (last - first).days >= MAX_RANGE_DAYS:
        raise PeriodError(_("'{token}' must run forward and span at most a year."), word)
    return Period(PeriodKind.RANGE, first, last, timezone)


# ---- scopes --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which tickets count: all, or one department, agent (assignee key), customer tier or priority."""

    department: str | None = None
    agent: str | None = None
    tier: Tier | None = None
    priority: Priority | None = None

    @property
    def everything(self) -> bool:
        """True when no filter applies."""
        return self == Scope()


# ---- the figures ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """`part` of `whole`; pct is None when nothing was due (shown as "—")."""

    part: int
    whole: int

    @property
    def pct(self) -> float | None:
        """The percentage, one decimal; None with an empty whole."""
        return round(100 * self.part / self.whole, 1) if self.whole else None


@dataclass(frozen=True)
class Spread:
    """Median and 90th percentile of a duration in seconds (None without data), and how many values."""

    median: int | None = None
    p90: int | None = None
    count: int = 0


@dataclass(frozen=True)
class BreachedTicket:
    """A ticket and one of its promises: missed in the period (breached), or about to be (at risk now)."""

    id: int
    title: str
    assignee: str | None
    priority: Priority
    clock: str  # "respond" or "resolve"
    due: datetime


@dataclass(frozen=True)
class AgentLoad:
    """An agent's open tickets now and tickets resolved in the period."""

    agent: str
    open: int
    resolved: int


@dataclass(frozen=True)
class Report:
    """Every figure of one period and scope (see README, *Figures*, for each definition)."""

    period: Period
    scope: Scope
    new: int = 0
    resolved: int = 0
    closed: int = 0
    reopened: int = 0
    backlog: int = 0
    backlog_ages: dict[str, int] = field(default_factory=dict)
    unassigned: int = 0
    frt: Spread = Spread()
    ttr: Spread = Spread()
    sla_response: Share = Share(0, 0)
    sla_resolution: Share = Share(0, 0)
    breached_count: int = 0
    breached: tuple[BreachedTicket, ...] = ()
    at_risk_count: int = 0  # running promises in their last fifth, not yet missed, as the figures are drawn
    at_risk: tuple[BreachedTicket, ...] = ()
    fcr: Share = Share(0, 0)
    reopen_rate: Share = Share(0, 0)
    csat_avg: float | None = None  # the average 1–5 score of the answers given; "—" until there is one
    csat_response: Share = Share(0, 0)  # surveys answered / surveys sent in the period
    # Self-service: tickets whose customer said an offered article solved it, of the new tickets of the period
    # (offers are made as a ticket comes in); and how many were offered articles at all.
    deflection: Share = Share(0, 0)
    offered: int = 0
    by_category: tuple[tuple[str, int], ...] = ()
    by_module: tuple[tuple[str, int], ...] = ()
    by_customer: tuple[tuple[str, int], ...] = ()
    agents: tuple[AgentLoad, ...] = ()


@dataclass(frozen=True)
class DailyPoint:
    """One local day of the chart: tickets opened, resolved, and response SLA attainment (None: nothing due)."""

    day: date
    new: int
    resolved: int
    sla_pct: float | None


def as_json(report: Report) -> dict:
    """The figures under the stable keys of `ticketbot digest --format json` (durations in seconds)."""
    return {
        "period": report.period.key, "new": report.new, "resolved": report.resolved, "closed": report.closed,
        "reopened": report.reopened, "backlog": report.backlog, "backlog_ages": dict(report.backlog_ages),
        "unassigned": report.unassigned, "frt_median_s": report.frt.median, "frt_p90_s": report.frt.p90,
        "ttr_median_s": report.ttr.median, "ttr_p90_s": report.ttr.p90,
        "sla_response_pct": report.sla_response.pct, "sla_resolution_pct": report.sla_resolution.pct,
        "fcr_pct": report.fcr.pct, "reopen_pct": report.reopen_rate.pct, "csat_avg": report.csat_avg,
        "csat_response_pct": report.csat_response.pct, "deflected": report.deflection.part,
        "deflection_pct": report.deflection.pct, "offered": report.offered, "breached_count": report.breached_count,
        "breached": [{"id": b.id, "title": b.title, "assignee": b.assignee, "priority": b.priority.value,
                      "clock": b.clock, "due": b.due.isoformat()} for b in report.breached],
        "at_risk_count": report.at_risk_count,
        "at_risk": [{"id": b.id, "title": b.title, "assignee": b.assignee, "priority": b.priority.value,
                     "clock": b.clock, "due": b.due.isoformat()} for b in report.at_risk],
        "by_category": dict(report.by_category), "by_module": dict(report.by_module),
        "by_customer": dict(report.by_customer),
        "agents": [{"agent": a.agent, "open": a.open, "resolved": a.resolved} for a in report.agents],
    }


def percentile_offset(count: int, fraction: float) -> int:
    """The 0-based index of the `fraction` percentile among `count` sorted values (nearest rank)."""
    return min(max(math.ceil(count * fraction) - 1, 0), max(count - 1, 0))


@dataclass(frozen=True)
class FiguresRecord:
    """Figures as they were sent (a digest run or a stats answer): the subject a figures card is drawn from."""

    id: int
    name: str | None
    report: Report
    previous: Report | None
    chart: bytes | None = None
    chart_refs: dict[str, str] = field(default_factory=dict)  # platform → the uploaded chart's reference


def dump_report(report: Report) -> dict:
    """The whole report as JSON-ready data (kept with a run, so its card shows the figures as sent)."""
    return _REPORT.dump_python(report, mode="json")


def load_report(data: dict) -> Report:
    """The report `dump_report` wrote."""
    return _REPORT.validate_python(data)


_REPORT = TypeAdapter(Report)
