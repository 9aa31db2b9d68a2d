"""The counts the alert rules look at, each an aggregate or a top-N over an indexed range (never all tickets).

repeat_customer: one customer's identities × ix_tickets_requester_created; volume_growth: a GROUP BY per week over
ix_tickets_created_at; backlog: the open tickets' partial indexes (ix_tickets_open_queue, _open_assignee).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import Platform
from storage.tables import OPEN_PREDICATE, TicketRow

T = TicketRow


class SqlAlertCounts:
    """bot.alerts.AlertCounts over one session."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def customer_tickets(self, identities: Sequence[tuple[Platform, str]], since: datetime,
                               limit: int) -> tuple[int, list[tuple[int, str]]]:
        """How many tickets the customer (any of their identities) opened since `since`, and the newest `limit`
        of them as (id, title)."""
        if not identities:
            return 0, []
        whose = or_(*(and_(T.requester_platform == str(platform), T.requester_user_id == user_id)
                      for platform, user_id in identities))
        count = int((await self.session.execute(
            select(func.count()).select_from(T).where(whose, T.created_at >= since))).scalar() or 0)
        rows = await self.session.execute(select(T.id, T.title).where(whose, T.created_at >= since)
                                          .order_by(T.created_at.desc(), T.id.desc()).limit(limit))
        return count, [(row.id, row.title) for row in rows]

    async def weekly_counts(self, by: str, groups: Sequence[str],
                            weeks: Sequence[tuple[datetime, datetime]]) -> dict[str, list[int]]:
        """Tickets created per group (product module or category) in each week: one GROUP BY per week."""
        column = T.product_module if by == "product_module" else T.category
        counts = {group: [0] * len(weeks) for group in groups}
        for index, (start, end) in enumerate(weeks):
            rows = await self.session.execute(
                select(column, func.count()).where(T.created_at >= start, T.created_at < end,
                                                   column.in_(list(groups))).group_by(column))
            for group, count in rows:
                counts[group][index] = int(count)
        return counts

    async def open_count(self) -> int:
        """Tickets open now (neither resolved nor closed)."""
        return int((await self.session.execute(select(func.count()).select_from(T).where(OPEN_PREDICATE))).scalar()
                   or 0)

    async def unassigned_before(self, before: datetime, limit: int) -> tuple[int, list[tuple[int, str]]]:
        """Open tickets without an assignee created before `before`: how many, and the oldest `limit`."""
        terms = (OPEN_PREDICATE, T.assignee.is_(None), T.created_at < before)
        count = int((await self.session.execute(select(func.count()).select_from(T).where(*terms))).scalar() or 0)
        rows = await self.session.execute(select(T.id, T.title).where(*terms).order_by(T.created_at, T.id)
                                          .limit(limit))
        return count, [(row.id, row.title) for row in rows]
