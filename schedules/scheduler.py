"""APScheduler AsyncIOScheduler with one small table of jobs, each with a stable id."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)


class _OverlapIsExpected(logging.Filter):
    """Drops APScheduler's warning that a tick was skipped because the previous one still ran.

    Skipping is the point of max_instances=1 (the next tick catches up), so on a busy machine the warning
    would only fill the log, many times a second.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


logging.getLogger("apscheduler.scheduler").addFilter(_OverlapIsExpected())


@dataclass(frozen=True)
class JobSpec:
    """One recurring job: a stable id, what to run, and either an interval or a crontab line."""

    id: str
    run: Callable[[], Awaitable[object]]
    every_seconds: float | None = None
    cron: str | None = None
    timezone: str = "UTC"

    def trigger(self):
        """The APScheduler trigger for this spec."""
        if self.cron:
            return CronTrigger.from_crontab(self.cron, timezone=self.timezone)
        return IntervalTrigger(seconds=self.every_seconds or 60)


class Scheduler:
    """Runs the job table on the event loop; sweeps are indexed queries, never one job per ticket."""

    def __init__(self, jobs: list[JobSpec]):
        self.jobs = jobs
        self._scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task] = set()

    def start(self) -> None:
        """Start all jobs (call from inside the running loop)."""
        scheduler = AsyncIOScheduler(timezone="UTC")
        for spec in self.jobs:
            # One instance at a time, and a late tick is merged rather than replayed many times.
            scheduler.add_job(self._tracked(spec.run), spec.trigger(), id=spec.id, replace_existing=True,
                              max_instances=1, coalesce=True, misfire_grace_time=None)
        scheduler.start()
        self._scheduler = scheduler

    def _tracked(self, run: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[object]]:
        # APScheduler runs each coroutine job in a task of its own and forgets it: kept here, so that a stop can
        # let a running tick end before the database closes under it.
        @functools.wraps(run)  # the log names the job as before ("DeadlineSweep.tick")
        async def job():
            task = asyncio.current_task()
            self._running.add(task)
            try:
                return await run()
            finally:
                self._running.discard(task)
        return job

    def shutdown(self) -> None:
        """Stop at once: APScheduler cancels the jobs still running (`stop` lets them end first)."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    async def stop(self, grace: float = 5.0) -> None:
        """Start no job; let running ones end within `grace` seconds; then shut down (cancelling what is left)
        and wait for the cancelled ones to unwind."""
        if self._scheduler is None:
            return
        self._scheduler.pause()
        running = set(self._running)
        if running:
            await asyncio.wait(running, timeout=grace)
        self.shutdown()
        late = [task for task in running if not task.done()]
        for task in late:
            task.cancel()  # APScheduler's executor cancels them too; not relied on
        if late:
            await asyncio.gather(*late, return_exceptions=True)

    @property
    def job_ids(self) -> list[str]:
        """Ids of the scheduled jobs (for tests and `check-config`)."""
        return [job.id for job in self._scheduler.get_jobs()] if self._scheduler else [s.id for s in self.jobs]
