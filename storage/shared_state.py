"""Small state every replica must see, changed atomically: read, change and write one key in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import insert_ignoring_conflicts
from storage.tables import SharedStateRow

T = TypeVar("T")
EMPTY: dict[str, Any] = {}


class SharedStateStore:
    """Shared-state operations of SqlStore (kept apart so each module stays small)."""

    sessions: async_sessionmaker[AsyncSession]  # provided by SqlStore

    async def change_state(self, key: str, change: Callable[[dict], tuple[dict | None, T]], *, now: datetime,
                           expires_at: datetime) -> T:
        """Apply `change(value) -> (new value or None to delete, result)` to `key` atomically; returns the result.

        A missing or expired key reads as {}. Concurrent changes of one key (other tasks, other replicas) run
        one after another, each seeing the last one's value.
        """
        async with self.sessions() as session, session.begin():
            # Make sure the row exists, so there is something to lock even on the first change.
            await session.execute(insert_ignoring_conflicts(session, SharedStateRow)
                                  .values(key=key, value=EMPTY, expires_at=expires_at))
            row = (await session.execute(
                select(SharedStateRow.value, SharedStateRow.expires_at).where(SharedStateRow.key == key).with_for_update()
            )).one()
            current = dict(row.value) if row.expires_at > now else {}
            new, result = change(current)
            if new is None:
                await session.execute(delete(SharedStateRow).where(SharedStateRow.key == key))
            else:
                await session.execute(update(SharedStateRow).where(SharedStateRow.key == key)
                                      .values(value=new, expires_at=expires_at))
            return result

    async def purge_state(self, now: datetime) -> int:
        """Forget expired keys; returns how many."""
        async with self.sessions() as session, session.begin():
            return (await session.execute(delete(SharedStateRow).where(SharedStateRow.expires_at <= now))).rowcount
