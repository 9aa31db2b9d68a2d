"""The periodic alert rules: volume_growth and backlog, looked at every `alerts.check_every` by one job.

Each look computes the rule's window from the time (growth: the last complete ISO week; backlog: the local day),
so every replica and every restart computes the same (rule, subject, window) and the first insert wins, in the
same transaction as the cards for its recipients. Looking often costs a few indexed aggregates and nothing is
missed while the bot was down: the next look after a start raises what is due.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.alerts import EVIDENCE_TICKETS, Alert, Rule, complete_weeks, growth_streak, resolve_recipients
from bot.business_hours import build_calendar, parse_duration
from bot.config import AppConfig
from bot.directory import Directory
from bot.events import Platform
from bot.ports import Clock
from handlers.alerts import raise_alert
from schedules.scheduler import JobSpec

log = logging.getLogger(__name__)


def _seconds(duration: str) -> float:
    days, time = parse_duration(duration)
    return (timedelta(days=days) + time).total_seconds()


class AlertRunner:
    """Evaluates the periodic rules and raises what they find, once per (rule, subject, window)."""

    def __init__(self, *, store, config: AppConfig, directory: Directory, clock: Clock,
                 platforms: Mapping[Platform, object], wake=None):
        self.store, self.config, self.directory, self.clock = store, config, directory, clock
        self.platforms = platforms  # the enabled platforms (the dispatcher's live mapping): DMs go to one of them
        self.wake = wake
        bh = config.business_hours
        self.timezone = bh.timezone
        self.calendar = build_calendar(name="alerts", timezone=bh.timezone, hours=bh.hours, lunch=bh.lunch,
                                       weekdays=bh.weekdays, country=bh.country, extra_holidays=bh.extra_holidays,
                                       extra_workdays=bh.extra_workdays)

    def jobs(self) -> list[JobSpec]:
        """One interval job when a periodic rule is on (stable id `alerts`)."""
        rules = self.config.alerts
        if rules.volume_growth is None and rules.backlog is None:
            return []
        return [JobSpec("alerts", self.tick, every_seconds=_seconds(rules.check_every))]

    async def tick(self) -> list[Alert]:
        """Look at every periodic rule now; the alerts raised by this look (none when raised before)."""
        now = self.clock.now()
        raised = await self.volume_growth(now) + await self.backlog(now)
        if raised and self.wake is not None:
            self.wake()
        return raised

    async def _raise(self, alerts: list[Alert]) -> list[Alert]:
        if not alerts:
            return []
        raised = []
        async with self.store.unit() as uow:
            for alert in alerts:
                stored = await raise_alert(uow, alert, directory=self.directory, among=self.platforms)
                if stored is not None:
                    log.info("alert %s raised: %s %s %s", stored.number, alert.rule, alert.subject_key, alert.window)
                    raised.append(stored)
        return raised

    async def volume_growth(self, now: datetime) -> list[Alert]:
        """Groups whose tickets per business day grew more than growth_pct % in each of the last `weeks` weeks."""
        rule = self.config.alerts.volume_growth
        if rule is None:
            return []
        weeks = complete_weeks(now, self.timezone, rule.weeks + 1, business_days=self._business_day)
        if len(weeks) < rule.weeks + 1:
            return []
        latest = weeks[-1].key
        async with self.store.snapshot() as reads:
            alerts = reads.alerts()
            due = [group for group in rule.owners
                   if await alerts.find(Rule.VOLUME_GROWTH, f"{rule.by}:{group}", latest) is None]
            if not due:
                return []  # this week's look was done (here or on another replica): no counting at all
            counts = await reads.alert_counts().weekly_counts(rule.by, due, [(w.start, w.end) for w in weeks])
        found = []
        for group in due:
            growths = growth_streak(counts[group], weeks, rule.growth_pct)
            if growths is None or counts[group][-1] < rule.min_tickets:
                continue
            owner = rule.owners[group]
            evidence = {"by": rule.by, "group": group, "owner": owner, "growth_pct": rule.growth_pct,
                        "growths": growths, "weeks": [[w.key, c, w.business_days]
                                                      for w, c in zip(weeks, counts[group], strict=True)]}
            to = resolve_recipients(rule.to, directory=self.directory, roles={"owner": owner},
                                    department=self._department_of(owner))
            found.append(Alert(Rule.VOLUME_GROWTH, f"{rule.by}:{group}", latest, now, evidence, to))
        return await self._raise(found)

    async def backlog(self, now: datetime) -> list[Alert]:
        """Open tickets above open_above, or tickets unassigned longer than unassigned_older_than: once a day."""
        rule = self.config.alerts.backlog
        if rule is None:
            return []
        day = now.astimezone(ZoneInfo(self.timezone)).date().isoformat()
        async with self.store.snapshot() as reads:
            if await reads.alerts().find(Rule.BACKLOG, "backlog", day) is not None:
                return []
            counts = reads.alert_counts()
            open_now = await counts.open_count()
            unassigned, oldest = 0, []
            if rule.unassigned_older_than is not None:
                before = now - timedelta(seconds=_seconds(rule.unassigned_older_than))
                unassigned, oldest = await counts.unassigned_before(before, EVIDENCE_TICKETS)
        over = rule.open_above is not None and open_now > rule.open_above
        if not over and unassigned == 0:
            return []
        evidence = {"open": open_now, "open_above": rule.open_above, "unassigned": unassigned,
                    "older_than": rule.unassigned_older_than, "tickets": [[i, title] for i, title in oldest]}
        to = resolve_recipients(rule.to, directory=self.directory, department=self.config.intake.default_department)
        return await self._raise([Alert(Rule.BACKLOG, "backlog", day, now, evidence, to)])

    def _business_day(self, day) -> bool:
        return bool(self.calendar.intervals(day))

    def _department_of(self, key: str) -> str | None:
        person = self.directory.person(key)
        return person.department if person else None
