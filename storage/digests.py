"""Figures as sent: claiming a digest's run once per (digest, period), keeping a stats answer, loading either."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.kpis import FiguresRecord, Report, dump_report, load_report
from storage.db import insert_ignoring_conflicts
from storage.digest_tables import DigestRunRow


class SqlDigestRuns:
    """The digest_runs table inside one transaction."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def claim(self, *, name: str, period: str, at: datetime, status: str, report: Report | None = None,
                    previous: Report | None = None, chart: bytes | None = None) -> int | None:
        """Claim the run of `name` for `period`: its id, or None when a replica (or an earlier start) has it."""
        values = dict(name=name, period=period, claimed_at=at, status=status, chart=chart,
                      figures=_figures(report, previous))
        inserted = await self.session.execute(
            insert_ignoring_conflicts(self.session, DigestRunRow).values(**values).returning(DigestRunRow.id))
        return inserted.scalar()

    async def claimed(self, name: str, period: str) -> bool:
        """True when the run of `name` for `period` was claimed (sent or skipped)."""
        found = await self.session.execute(
            select(DigestRunRow.id).where(DigestRunRow.name == name, DigestRunRow.period == period))
        return found.first() is not None

    async def ever_ran(self, name: str) -> bool:
        """True when any run of `name` was ever claimed (a fresh install has none)."""
        found = await self.session.execute(select(DigestRunRow.id).where(DigestRunRow.name == name).limit(1))
        return found.first() is not None

    async def keep_answer(self, *, at: datetime, report: Report, previous: Report | None) -> int:
        """Keep a stats answer's figures (no name: never claimed, never in the way of a digest); its id."""
        row = DigestRunRow(name=None, period=report.period.key, claimed_at=at, status="answer",
                           figures=_figures(report, previous))
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def keep_chart_ref(self, run_id: int, platform: str, ref: str) -> None:
        """Remember the platform's reference of the run's uploaded chart (later copies there reuse it)."""
        row = await self.session.get(DigestRunRow, run_id)
        if row is not None:
            row.chart_refs = {**(row.chart_refs or {}), platform: ref}
            await self.session.flush()

    async def purge_answers(self, before: datetime) -> int:
        """Forget stats answers kept before `before` (their cards were sent long ago); digest runs stay, as claims."""
        result = await self.session.execute(
            delete(DigestRunRow).where(DigestRunRow.status == "answer", DigestRunRow.claimed_at < before)
            .execution_options(synchronize_session=False))
        return result.rowcount

    async def load(self, ids: Sequence[int]) -> dict[int, FiguresRecord]:
        """The kept figures of several runs by id (one read)."""
        if not ids:
            return {}
        rows = (await self.session.execute(select(DigestRunRow).where(DigestRunRow.id.in_(list(ids))))).scalars()
        return {row.id: _record(row) for row in rows if row.figures.get("report")}


def _figures(report: Report | None, previous: Report | None) -> dict:
    return {"report": dump_report(report) if report else None,
            "previous": dump_report(previous) if previous else None}


def _record(row: DigestRunRow) -> FiguresRecord:
    previous = row.figures.get("previous")
    return FiguresRecord(row.id, row.name, load_report(row.figures["report"]),
                         load_report(previous) if previous else None, row.chart, dict(row.chart_refs or {}))
