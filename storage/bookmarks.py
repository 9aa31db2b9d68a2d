"""What the deadline sweep reads of any subject kind with a bookmark: the due rows, oldest first, each with the
notice keys already claimed for it and the places its card was posted (three queries, whatever the batch size)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ports import CardPlacement
from storage.mapping import placement_from_row
from storage.tables import CardPlacementRow, NotificationClaimRow

T = TypeVar("T")


async def due_with_claims(session: AsyncSession, row_type: Any, kind: str, now: datetime, limit: int,
                          from_row: Callable[[Any], T]) -> list[tuple[T, list[CardPlacement]]]:
    """Rows of `row_type` (a subject of `kind`) whose `next_due_at` has come, as `from_row` maps them, with their
    fired keys (set on `.fired`) and card placements."""
    rows = (await session.execute(
        select(row_type).where(row_type.next_due_at <= now).order_by(row_type.next_due_at, row_type.id)
        .limit(limit))).scalars().all()
    if not rows:
        return []
    ids = [row.id for row in rows]
    fired: dict[int, set[str]] = {}
    for subject_id, key in await session.execute(
            select(NotificationClaimRow.subject_id, NotificationClaimRow.key)
            .where(NotificationClaimRow.subject_kind == kind, NotificationClaimRow.subject_id.in_(ids))):
        fired.setdefault(subject_id, set()).add(key)
    cards: dict[int, list[CardPlacement]] = {}
    for row in (await session.execute(
            select(CardPlacementRow).where(CardPlacementRow.subject_kind == kind, CardPlacementRow.subject_id.in_(ids))
            .order_by(CardPlacementRow.id))).scalars():
        cards.setdefault(row.subject_id, []).append(placement_from_row(row))
    found = []
    for row in rows:
        subject = from_row(row)
        subject.fired = fired.get(row.id, set())
        found.append((subject, cards.get(row.id, [])))
    return found


async def set_bookmarks(session: AsyncSession, row_type: Any, bookmarks: Sequence[tuple[Any, datetime | None]]) -> None:
    """The subjects' next bookmarks in one executemany; a subject changed since it was read (another version)
    keeps the newer bookmark its change set."""
    if not bookmarks:
        return
    table = row_type.__table__
    stmt = (update(table).where(table.c.id == bindparam("subject"), table.c.version == bindparam("seen"))
            .values(next_due_at=bindparam("due")))
    await (await session.connection()).execute(
        stmt, [{"subject": subject.id, "seen": subject.version, "due": due} for subject, due in bookmarks])
