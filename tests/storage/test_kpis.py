"""The managers' figures over a hand-built fortnight of tickets, each right answer worked out here by hand.

Calendar: the default one (Asia/Shanghai, Mon–Fri 09:00–18:00, China's holidays). Targets: the defaults
(P0 15 min / 4 h and P1 1 h / 24 h around the clock; P2 4 / 27 business hours (3 days); P3 8 h / none).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import AppConfig
from bot.events import Conversation, ConversationKind, Platform
from bot.kpis import Period, PeriodKind, Scope, as_json
from bot.sla import SlaPolicy
from bot.tickets import Action, Identity, Priority, Ticket, TimelineEntry, TimelineKind, apply

SH = ZoneInfo("Asia/Shanghai")
DM = Conversation(platform=Platform.SLACK, id="D1", kind=ConversationKind.DM)
POLICY = SlaPolicy(AppConfig())
FORTNIGHT = Period(PeriodKind.RANGE, datetime(2026, 11, 16).date(), datetime(2026, 11, 29).date(), "Asia/Shanghai")
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def sh(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A Shanghai wall-clock instant of 2026 (in UTC, as stored)."""
    return datetime(2026, month, day, hour, minute, tzinfo=SH).astimezone(UTC)


class Story:
    """One ticket driven through the lifecycle as the handlers drive it, with its timeline lines."""

    def __init__(self, at: datetime, priority: Priority, *, assignee: str | None = "alice", category: str = "bug",
                 customer: str = "ACME"):
        self.ticket = Ticket(title=f"{priority} at {at:%m-%d %H:%M}", requester=Identity(Platform.SLACK, "U1"),
                             source=DM, customer_conversation=DM, priority=priority, assignee=assignee,
                             department="support", category=category, customer_name=customer,
                             created_at=at, updated_at=at)
        POLICY.refresh(self.ticket, at)
        self.lines: list[tuple[TimelineKind, datetime, str | None, str | None]] = []

    def act(self, action: Action, at: datetime) -> Story:
        """Apply `action` at `at`; a reply is the first response when it is the first one."""
        if action is Action.REPLY:
            self.ticket.first_response_at = self.ticket.first_response_at or at
            self.lines.append((TimelineKind.REPLY, at, None, None))
        before = apply(self.ticket, action, at, sla=POLICY)
        if before is not self.ticket.status:
            self.lines.append((TimelineKind.STATUS, at, before.value, self.ticket.status.value))
        return self

    async def save(self, store) -> Ticket:
        async with store.unit() as uow:
            ticket = await uow.add_ticket(self.ticket)
            for kind, at, before, after in self.lines:
                await uow.append_timeline(TimelineEntry(ticket.id, kind, "alice", Platform.SLACK, at, before, after))
        return ticket


@pytest.fixture
async def fortnight(store):
    """Six tickets around 2026-11-16..29; what each contributes is worked out beside it."""
    # A — business-time FRT across a weekend: opened Fri 17:00, answered Mon 10:00 = Fri 1 h + Mon 1 h = 7200 s
    # (due Mon 12:00: met); resolved Mon 11:00 = 3 business hours, 10800 s (due Wed 17:00: met). One reply: FCR.
    a = Story(sh(20, 17), Priority.P2).act(Action.REPLY, sh(23, 10)).act(Action.RESOLVE, sh(23, 11))
    # B — paused: P1 (24x7) opened Tue 10:00, claimed 10:05, waiting on the customer 10:20–12:20, answered 12:50:
    # FRT 2 h 50 min − 2 h = 3000 s, due 10:00 + 1 h + 2 h paused = 13:00 (met). Resolved Wed 11:00:
    # 25 h − 2 h = 82800 s, due Wed 12:00 (met). Closed Fri. FCR.
    b = (Story(sh(17, 10), Priority.P1).act(Action.CLAIM, sh(17, 10, 5)).act(Action.WAIT_CUSTOMER, sh(17, 10, 20))
         .act(Action.CUSTOMER_MESSAGE, sh(17, 12, 20)).act(Action.REPLY, sh(17, 12, 50))
         .act(Action.RESOLVE, sh(18, 11)).act(Action.CLOSE, sh(20, 9)))
    # C — reopened: P1 opened Wed 09:00, answered 09:30 (1800 s, met), resolved 12:00, reopened Thu 10:00,
    # resolved again Thu 15:00: 30 h = 108000 s, due Thu 09:00: missed. Not FCR; counts in the reopen rate.
    c = (Story(sh(18, 9), Priority.P1).act(Action.REPLY, sh(18, 9, 30)).act(Action.RESOLVE, sh(18, 12))
         .act(Action.REOPEN, sh(19, 10)).act(Action.REPLY, sh(19, 11)).act(Action.RESOLVE, sh(19, 15)))
    # D — breached and open: P0 opened Thu 26th 10:00 for bob, never answered: response (10:15) and
    # resolution (14:00) both missed. Backlog at the end (29th 24:00): 3.6 days old.
    d = Story(sh(26, 10), Priority.P0, assignee="bob", category="billing").act(Action.CLAIM, sh(26, 10, 5))
    # E — opened before the period, unassigned, still open: backlog > 7 days, unassigned. P3: no resolution target.
    e = Story(sh(10, 10), Priority.P3, assignee=None, customer="Umbrella")
    # F — opened Fri 27th 09:00, answered 09:10 (600 s, due 13:00: met), resolved after the period (Dec 1st):
    # in the backlog at the period's end, 2.6 days old.
    f = Story(sh(27, 9), Priority.P2).act(Action.REPLY, sh(27, 9, 10)).act(Action.RESOLVE, sh(1, 10, month=12))
    return {name: await story.save(store) for name, story in zip("abcdef", (a, b, c, d, e, f), strict=True)}


async def _report(store, period=FORTNIGHT, scope: Scope | None = None):
    async with store.snapshot() as reads:
        return await reads.kpis().report(period, scope or Scope(), NOW)


async def test_the_fortnight_figures_are_the_ones_worked_out_by_hand(store, fortnight):
    report = await _report(store)
    t = fortnight
    assert (t["a"].frt_seconds, t["b"].frt_seconds, t["c"].frt_seconds, t["f"].frt_seconds) == (7200, 3000, 1800, 600)
    assert (t["a"].ttr_seconds, t["b"].ttr_seconds, t["c"].ttr_seconds) == (10800, 82800, 108000)
    assert (report.new, report.resolved, report.closed, report.reopened) == (5, 3, 1, 1)
    assert (report.backlog, report.unassigned) == (3, 1)
    assert report.backlog_ages == {"lt_1d": 0, "d1_3": 1, "d3_7": 1, "gt_7d": 1}
    # FRT of the tickets opened in the period, sorted 600, 1800, 3000, 7200: nearest-rank median = the 2nd.
    assert (report.frt.median, report.frt.p90, report.frt.count) == (1800, 7200, 4)
    assert (report.ttr.median, report.ttr.p90) == (82800, 108000)
    # Response promises due in the period: A, B, C, D, F (E's fell before it); D missed. Resolution: A, B, C, D
    # (F's falls after it, E has none); C and D missed.
    assert (report.sla_response.part, report.sla_response.whole, report.sla_response.pct) == (4, 5, 80.0)
    assert (report.sla_resolution.part, report.sla_resolution.whole, report.sla_resolution.pct) == (2, 4, 50.0)
    assert report.breached_count == 3
    assert [(b.id, b.clock) for b in report.breached] == [(t["c"].id, "resolve"), (t["d"].id, "respond"),
                                                         (t["d"].id, "resolve")]
    assert (report.fcr.part, report.fcr.whole, report.fcr.pct) == (2, 3, 66.7)
    assert report.reopen_rate.pct == 33.3
    assert report.csat_avg is None and report.csat_response.pct is None
    assert report.by_category == (("bug", 4), ("billing", 1))
    assert report.by_customer == (("ACME", 5),)
    # Open now: D (bob), E (nobody); resolved in the period: A, B, C (alice).
    assert [(a.agent, a.open, a.resolved) for a in report.agents] == [("bob", 1, 0), ("alice", 0, 3)]


async def test_a_scope_counts_only_its_tickets(store, fortnight):
    bob = await _report(store, scope=Scope(agent="bob"))
    assert (bob.new, bob.resolved, bob.backlog, bob.sla_response.whole, bob.breached_count) == (1, 0, 1, 1, 2)
    p1 = await _report(store, scope=Scope(priority=Priority.P1))
    assert (p1.new, p1.resolved, p1.reopened, p1.ttr.median, p1.fcr.pct) == (2, 2, 1, 82800, 50.0)


async def test_an_empty_period_has_zeros_and_no_percentages(store, fortnight):
    golden_week = Period(PeriodKind.RANGE, datetime(2026, 10, 1).date(), datetime(2026, 10, 7).date(), "Asia/Shanghai")
    report = await _report(store, period=golden_week)
    figures = as_json(report)
    assert (figures["new"], figures["resolved"], figures["reopened"], figures["backlog"]) == (0, 0, 0, 0)
    assert figures["frt_median_s"] is None and figures["ttr_median_s"] is None
    assert figures["sla_response_pct"] is None and figures["fcr_pct"] is None and figures["csat_avg"] is None
    assert figures["breached"] == [] and figures["period"] == "2026-10-01..2026-10-07"


async def test_the_daily_series_counts_each_local_day(store, fortnight):
    async with store.snapshot() as reads:
        days = await reads.kpis().daily(FORTNIGHT, Scope(), NOW)
    assert len(days) == 14
    by_day = {p.day.day: p for p in days}
    assert (by_day[17].new, by_day[18].new, by_day[18].resolved, by_day[19].resolved) == (1, 1, 1, 1)
    # Response promises due on the 26th: D's, missed.
    assert by_day[26].sla_pct == 0.0 and by_day[27].sla_pct == 100.0 and by_day[16].sla_pct is None


async def test_the_promises_at_risk_now_are_listed_soonest_first_and_follow_the_scope(store, fortnight):
    # P1 answers within an hour around the clock; its last fifth (at risk) starts at 48 min.
    minutes = {"g": 55, "h": 30, "j": 50}
    saved = {}
    for name, age in minutes.items():
        story = Story(NOW - timedelta(minutes=age), Priority.P1, assignee="bob" if name == "j" else "alice")
        saved[name] = await story.save(store)
    report = await _report(store)
    # G (due in 5 min) then J (due in 10); H is not in its last fifth; D and E are breached, not at risk.
    assert report.at_risk_count == 2
    assert [(b.id, b.clock, b.assignee) for b in report.at_risk] == [(saved["g"].id, "respond", "alice"),
                                                                      (saved["j"].id, "respond", "bob")]
    assert [b.id for b in (await _report(store, scope=Scope(agent="bob"))).at_risk] == [saved["j"].id]
    assert as_json(report)["at_risk_count"] == 2
