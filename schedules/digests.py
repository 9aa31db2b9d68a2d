"""Scheduled digests: cron jobs in the job table; each run claimed once per (digest, period) across replicas.

A run's period is computed from its fire time (a `yesterday` digest fired Tuesday 09:00 covers Monday), so the
claim key (digest name, period) is the same on every replica and after a restart: the first insert wins, in the
same transaction as the outbox rows for every recipient, and the others change nothing. The claimed row keeps the
figures as sent and the chart, and is the subject of the cards. At start-up, a run missed while the bot was down
is sent once within the digest's `catch_up_within`; an older one is claimed as skipped, with a log line. A digest
that never ran (a fresh install) catches nothing up: its first run is the next scheduled one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.business_hours import build_calendar, parse_duration
from bot.config import AppConfig, ConfigError
from bot.digest_config import DigestConfig
from bot.directory import Directory
from bot.events import Conversation, ConversationKind, Platform
from bot.kpis import Period, PeriodKind, Report, parse_period
from bot.ports import Clock, Outgoing, OutgoingKind
from bot.subjects import Subject, SubjectKind
from cards import chart
from handlers.notify import dm_target
from schedules.scheduler import JobSpec

log = logging.getLogger(__name__)
CHART_DAYS = 14
SENT, SKIPPED = "sent", "skipped"
ANSWERS_KEPT = timedelta(days=7)  # a stats answer's card is sent within seconds; a week covers any outbox retry


def crontab(digest: DigestConfig) -> str:
    """The digest's cron line; with skip_holidays the weekday field is left to the business calendar (a 调休
    Saturday is a workday, a holiday Monday is not)."""
    fields = digest.schedule.split()
    if digest.skip_holidays:
        fields[4] = "*"
    return " ".join(fields)


class DigestRunner:
    """Builds, claims and sends the configured digests (and previews them for the CLI)."""

    def __init__(self, *, store, config: AppConfig, directory: Directory, clock: Clock,
                 platforms: Mapping[Platform, object], wake=None):
        self.store, self.config, self.directory, self.clock = store, config, directory, clock
        # The enabled platforms (the dispatcher's live mapping of messengers): a person is reached on the first of
        # their platforms that is on.
        self.platforms = platforms
        self.wake = wake
        bh = config.business_hours
        self.calendar = build_calendar(name="digests", timezone=bh.timezone, hours=bh.hours, lunch=bh.lunch,
                                       weekdays=bh.weekdays, country=bh.country, extra_holidays=bh.extra_holidays,
                                       extra_workdays=bh.extra_workdays)

    def timezone(self, digest: DigestConfig) -> str:
        """The digest's time zone (the workspace's unless set)."""
        return digest.timezone or self.config.business_hours.timezone

    def jobs(self) -> list[JobSpec]:
        """One cron job per digest, with a stable id (a cron APScheduler cannot read stops start-up: ConfigError)."""
        for digest in self.config.digests:
            self.trigger(digest)
        return [*(JobSpec(f"digest:{d.name}", self._job(d), cron=crontab(d), timezone=self.timezone(d))
                  for d in self.config.digests),
                JobSpec("stats-answers-purge", self.purge_answers, every_seconds=3600.0)]

    async def purge_answers(self) -> int:
        """Forget `/ticket stats` answers older than ANSWERS_KEPT (their cards went out long ago)."""
        async with self.store.unit() as uow:
            return await uow.digests().purge_answers(self.clock.now() - ANSWERS_KEPT)

    def _job(self, digest: DigestConfig):
        async def run() -> None:
            await self.fire(digest, self.clock.now())
        return run

    def trigger(self, digest: DigestConfig) -> CronTrigger:
        """The APScheduler trigger of the digest (also what catch_up walks)."""
        try:
            return CronTrigger.from_crontab(crontab(digest), timezone=self.timezone(digest))
        except ValueError as exc:
            raise ConfigError(f"digests: {digest.name}: schedule {digest.schedule!r}: {exc}") from None

    # ---- one run --------------------------------------------------------------------------------------------
    def period_of(self, digest: DigestConfig, fired: datetime) -> Period:
        """The period a run fired at `fired` covers."""
        return parse_period(digest.period, fired, self.timezone(digest))

    def workday(self, digest: DigestConfig, fired: datetime) -> bool:
        """True on a business day of the calendar (in the digest's time zone)."""
        return bool(self.calendar.intervals(fired.astimezone(ZoneInfo(self.timezone(digest))).date()))

    async def figures(self, digest: DigestConfig, period: Period, *, language: str | None = None,
                      with_chart: bool = True) -> tuple[Report, Report, bytes | None]:
        """The period's report, the previous one's, and the chart (drawn in a worker thread)."""
        now = self.clock.now()
        scope = digest.scope.scope()
        async with self.store.snapshot() as reads:
            kpis = reads.kpis()
            report = await kpis.report(period, scope, now)
            previous = await kpis.report(period.previous(), scope, now, headline=True)
            days = None
            if with_chart:
                first = period.last - timedelta(days=CHART_DAYS - 1)
                days = await kpis.daily(Period(PeriodKind.RANGE, first, period.last, period.timezone), scope, now)
        png = None
        if days is not None:
            # One chart for every reader of the run: labelled in each of their languages.
            languages = [language or self.config.language] + [lang for _target, lang in self.recipients(digest)]
            png = await asyncio.to_thread(chart.draw, days, languages=languages,
                                          title=f"{digest.name} · {period.key}")
        return report, previous, png

    async def fire(self, digest: DigestConfig, fired: datetime) -> int | None:
        """Run the digest as fired at `fired`: the claimed run's id, or None (claimed elsewhere, or skipped)."""
        period = self.period_of(digest, fired)
        async with self.store.snapshot() as reads:
            if await reads.digests().claimed(digest.name, period.key):
                return None  # another replica (or an earlier start) has it: do not even compute
        if digest.skip_holidays and not self.workday(digest, fired):
            async with self.store.unit() as uow:
                if await uow.digests().claim(name=digest.name, period=period.key, at=self.clock.now(), status=SKIPPED):
                    log.info("digest %s for %s: not a business day, skipped", digest.name, period.key)
            return None
        return await self.send(digest, period)

    async def send(self, digest: DigestConfig, period: Period) -> int | None:
        """Claim (digest, period) and enqueue its card for every recipient in one transaction; None if taken."""
        report, previous, png = await self.figures(digest, period)
        async with self.store.unit() as uow:
            run = await uow.digests().claim(name=digest.name, period=period.key, at=self.clock.now(), status=SENT,
                                            report=report, previous=previous, chart=png)
            if run is None:
                return None
            for target, language in self.recipients(digest):
                await uow.enqueue(Outgoing(OutgoingKind.CARD, target, subject=Subject(SubjectKind.DIGEST, run),
                                           language=language))
        log.info("digest %s for %s: sent (run %s)", digest.name, period.key, run)
        if self.wake is not None:
            self.wake()
        return run

    def recipients(self, digest: DigestConfig) -> list[tuple[Conversation, str]]:
        """Each person's DM on the first of their chat platforms that is on, in their language; then the channels."""
        found = []
        for key in digest.to:
            person = self.directory.person(key)
            # The console (a local try-out surface) only when the person is on no chat platform that is on.
            target = dm_target(person, among=self.platforms) if person else None
            if target is None:
                log.warning("digest %s: %s has no identity on an enabled platform; not sent to them", digest.name, key)
                continue
            found.append((target, self.directory.language_of(person)))
        for platform, channel in digest.channels.items():
            if platform in self.platforms:
                found.append((Conversation(platform=platform, id=channel, kind=ConversationKind.CHANNEL),
                              self.config.language))
        return found

    # ---- start-up ---------------------------------------------------------------------------------------------
    async def catch_up(self) -> list[int]:
        """Send each digest's newest run missed within its grace window, once; claim an older miss as skipped."""
        now = self.clock.now()
        sent = []
        for digest in self.config.digests:
            days, time = parse_duration(digest.catch_up_within)
            grace = timedelta(days=days) + time
            last = self.last_fire(digest, now)
            if last is None:
                continue
            period = self.period_of(digest, last)
            async with self.store.snapshot() as reads:
                if await reads.digests().claimed(digest.name, period.key):
                    continue
                # A digest that never ran (a fresh install, a digest just added) missed nothing anyone waited for:
                # its first run is the next scheduled one, and the start says nothing about it.
                first = not await reads.digests().ever_ran(digest.name)
            if not first and now - last <= grace:
                log.info("digest %s: the run of %s was missed; sending it now", digest.name, last.isoformat())
                run = await self.fire(digest, last)
                if run is not None:
                    sent.append(run)
                continue
            async with self.store.unit() as uow:
                if not await uow.digests().claim(name=digest.name, period=period.key, at=now, status=SKIPPED):
                    continue
            if first:
                log.debug("digest %s: never ran before; the run of %s skipped", digest.name, last.isoformat())
            else:
                log.warning("digest %s: the run of %s was missed by more than %s; skipped", digest.name,
                            last.isoformat(), digest.catch_up_within)
        return sent

    def last_fire(self, digest: DigestConfig, now: datetime) -> datetime | None:
        """The newest fire time at or before `now` within the last 8 days (walked from a window that widens, so an
        every-minute schedule costs a few steps, not a week of minutes)."""
        trigger = self.trigger(digest)
        for within in (timedelta(hours=1), timedelta(days=1), timedelta(days=8)):
            previous, cursor, last = None, now - within, None
            while (fire := trigger.get_next_fire_time(previous, cursor)) is not None and fire <= now:
                last, previous, cursor = fire, fire, fire + timedelta(seconds=1)
            if last is not None:
                return last
        return None
