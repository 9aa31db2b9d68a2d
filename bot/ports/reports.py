"""The managers' figures as a capability: KPI aggregates and the kept figures of digests and stats answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.kpis import DailyPoint, FiguresRecord, Period, Report, Scope


class KpiReads(Protocol):
    """The aggregates the figures come from (storage.kpis implements it, on a read-only snapshot)."""

    async def report(self, period: Period, scope: Scope, now: datetime, *, headline: bool = False) -> Report: ...

    async def daily(self, period: Period, scope: Scope, now: datetime) -> list[DailyPoint]: ...


class DigestRuns(Protocol):
    """Figures as sent: a digest's run claimed once per (digest, period), or a stats answer (storage.digests)."""

    async def claim(self, *, name: str, period: str, at: datetime, status: str, report: Report | None = None,
                    previous: Report | None = None, chart: bytes | None = None) -> int | None: ...

    async def claimed(self, name: str, period: str) -> bool: ...

    async def keep_answer(self, *, at: datetime, report: Report, previous: Report | None) -> int: ...

    async def keep_chart_ref(self, run_id: int, platform: str, ref: str) -> None: ...

    async def purge_answers(self, before: datetime) -> int: ...

    async def load(self, ids: Sequence[int]) -> dict[int, FiguresRecord]: ...


class Reports(Protocol):
    """A unit of work (or snapshot) as the figures need it."""

    def kpis(self) -> KpiReads: ...

    def digests(self) -> DigestRuns: ...
