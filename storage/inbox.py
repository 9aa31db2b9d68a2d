"""The inbox's writer: delivery ids recorded with group commit, so many acknowledgements share one transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import Platform
from storage.tables import DeliveryRow

log = logging.getLogger(__name__)
MAX_BATCH = 500  # records per INSERT: far below SQLite's limit of bound parameters (4 per row)

Key = tuple[str, str]  # (platform, delivery id)
_INSERT = {name: dialect.insert(DeliveryRow.__table__).on_conflict_do_nothing()
           .returning(DeliveryRow.platform, DeliveryRow.delivery_id)
           for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}


class DeliveryRecorder:
    """Records delivery ids durably; the requests that arrive while a flush is under way share the next one.

    One flush at a time: the first record is written at once, in its own transaction; every record that
    arrives meanwhile waits for that commit and then goes into the next transaction together with the others
    (one `INSERT … ON CONFLICT DO NOTHING RETURNING`). Nobody is acknowledged before their row committed, and
    a burst costs a handful of commits instead of one each.
    """

    def __init__(self, sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]], now: Callable[[], datetime]):
        self.sessions = sessions
        self.now = now
        self._pending: list[tuple[Key, dict, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None
        self.flushes = 0  # transactions committed (a figure for tests and benchmarks)

    async def record(self, platform: Platform, delivery_id: str, payload: dict) -> bool:
        """Remember a delivery; True once its row committed, False when it was recorded before (a retry)."""
        recorded = asyncio.get_running_loop().create_future()
        self._pending.append(((platform.value, delivery_id), payload, recorded))
        if self._flusher is None:
            self._flusher = asyncio.ensure_future(self._flush_all())
        # shield: a caller that goes away does not cancel the flush the others wait for.
        return await asyncio.shield(recorded)

    async def _flush_all(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    await self._commit(batch)
                except Exception as exc:  # the database failed: every caller of this batch hears it (a 5xx, so
                    for _key, _payload, recorded in batch:  # the platform retries), the next batch tries again
                        if not recorded.done():
                            recorded.set_exception(exc)
                    log.warning("recording %s deliveries failed: %s", len(batch), exc)
        finally:
            self._flusher = None

    async def _commit(self, batch: list[tuple[Key, dict, asyncio.Future]]) -> None:
        rows, seen = [], set()
        now = self.now()
        for (platform, delivery_id), payload, _ in batch:
            if (platform, delivery_id) not in seen:
                seen.add((platform, delivery_id))
                rows.append({"platform": platform, "delivery_id": delivery_id, "payload": payload,
                             "received_at": now})
        async with self.sessions() as session:
            async with session.begin():
                connection = await session.connection()
                # One cached Core statement with the rows as executemany parameters: SQLAlchemy sends them as
                # multi-row VALUES batches ("insertmanyvalues") without compiling a new statement per batch size
                # or going through the ORM's bulk path; RETURNING names the rows that were new.
                statement = _INSERT[connection.dialect.name]
                inserted = {(row.platform, row.delivery_id) for row in await connection.execute(statement, rows)}
            self.flushes += 1
            # Committed: wake the callers now, before the turn passes on, so their acks go out first.
            for key, _payload, recorded in batch:
                # The first of a key in the batch (if its row is new) is fresh; a second is a repeat.
                if not recorded.done():
                    recorded.set_result(key in inserted)
                inserted.discard(key)
