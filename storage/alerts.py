"""Alerts in SQL: raised once per (rule, subject, window) by an insert that ignores a conflict, acknowledged with a
version check, the open ones listed from a partial index. The counts the rules look at are storage/alert_counts.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts import Alert, Rule, StaleAlert
from storage.alert_tables import OPEN_ALERT_PREDICATE, AlertRow
from storage.db import insert_ignoring_conflicts


def alert_from_row(row) -> Alert:
    """The domain alert of a row."""
    return Alert(rule=Rule(row.rule), subject_key=row.subject_key, window=row.window_key, raised_at=row.raised_at,
                 evidence=dict(row.evidence), recipients=list(row.recipients), id=row.id, version=row.version,
                 acked_by=row.acked_by, acked_at=row.acked_at)


class SqlAlerts:
    """bot.alerts.Alerts over one session."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def raise_alert(self, alert: Alert) -> Alert | None:
        """Insert the alert unless its key was raised before (here, on another replica, before a restart)."""
        values = dict(version=1, rule=alert.rule.value, subject_key=alert.subject_key, window_key=alert.window,
                      raised_at=alert.raised_at, evidence=alert.evidence, recipients=alert.recipients)
        inserted = await self.session.execute(
            insert_ignoring_conflicts(self.session, AlertRow).values(**values).returning(AlertRow.id))
        alert_id = inserted.scalar()
        if alert_id is None:
            return None
        alert.id, alert.version = alert_id, 1
        return alert

    async def raised_since(self, rule: Rule, subject_key: str, since: datetime) -> bool:
        """True when `rule` raised an alert about `subject_key` at or after `since` (the unique key's prefix)."""
        found = await self.session.execute(
            select(AlertRow.id).where(AlertRow.rule == rule.value, AlertRow.subject_key == subject_key,
                                      AlertRow.raised_at >= since).limit(1))
        return found.first() is not None

    async def find(self, rule: Rule, subject_key: str, window: str) -> Alert | None:
        """The alert of that key, if raised."""
        row = (await self.session.execute(
            select(AlertRow).where(AlertRow.rule == rule.value, AlertRow.subject_key == subject_key,
                                   AlertRow.window_key == window))).scalar_one_or_none()
        return alert_from_row(row) if row else None

    async def load(self, ids: Sequence[int]) -> dict[int, Alert]:
        """Several alerts by id (the dispatcher renders their cards)."""
        if not ids:
            return {}
        rows = (await self.session.execute(select(AlertRow).where(AlertRow.id.in_(list(ids)))
                                           .execution_options(populate_existing=True))).scalars()
        return {row.id: alert_from_row(row) for row in rows}

    async def acknowledge(self, alert: Alert, *, by: str, at: datetime) -> Alert:
        """Record the acknowledgement if the alert is as it was read (StaleAlert otherwise)."""
        result = await self.session.execute(
            update(AlertRow).where(AlertRow.id == alert.id, AlertRow.version == alert.version)
            .values(version=alert.version + 1, acked_by=by, acked_at=at))
        if result.rowcount != 1:
            raise StaleAlert(alert.id)
        alert.version, alert.acked_by, alert.acked_at = alert.version + 1, by, at
        return alert

    async def set_evidence(self, alert: Alert) -> None:
        """Save the alert's evidence as it now is."""
        await self.session.execute(update(AlertRow).where(AlertRow.id == alert.id).values(evidence=alert.evidence))

    async def open_alerts(self, limit: int) -> tuple[list[Alert], int]:
        """The newest open alerts (ix_alerts_open: its predicate repeated so it serves) and how many are open."""
        rows = (await self.session.execute(
            select(AlertRow).where(OPEN_ALERT_PREDICATE).order_by(AlertRow.raised_at.desc(), AlertRow.id.desc())
            .limit(limit))).scalars().all()
        total = len(rows)
        if total == limit:
            total = int((await self.session.execute(
                select(func.count()).select_from(AlertRow).where(OPEN_ALERT_PREDICATE))).scalar() or 0)
        return [alert_from_row(row) for row in rows], total
