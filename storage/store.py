"""SqlStore: units of work (and read-only snapshots), the inbox of deliveries, the outbox, on SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.events import Platform
from bot.ports import Clock
from storage.console_log import ConsoleLogStore
from storage.db import TakingTurns, create_read_engine, create_side_engine, sessionmaker, store_sessions
from storage.inbox import DeliveryRecorder
from storage.outbox import OutboxStore
from storage.shared_state import SharedStateStore
from storage.tables import DeliveryRow
from storage.unit import SqlUnitOfWork

__all__ = ["SqlStore", "SqlUnitOfWork"]


class SqlStore(OutboxStore, SharedStateStore, ConsoleLogStore):
    """The persistent store (see bot.ports.TicketStore)."""

    def __init__(self, engine: AsyncEngine, clock: Clock):
        self.engine = engine
        self.clock = clock
        self.sessions = store_sessions(engine)
        self.read_engine = create_read_engine(engine)
        self.reads = sessionmaker(self.read_engine)  # queries that change nothing (see snapshot())
        # Acknowledgements never wait behind ticket work: on SQLite the recorder's turn goes before queued
        # transactions; on a server database it has a small pool of its own, which processing cannot exhaust.
        if isinstance(self.sessions, TakingTurns):
            self.inbox_engine, inbox_sessions = engine, self.sessions.urgent
        else:
            self.inbox_engine = create_side_engine(engine)
            inbox_sessions = sessionmaker(self.inbox_engine)
        self.inbox = DeliveryRecorder(inbox_sessions, clock.now)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[SqlUnitOfWork]:
        """A transaction: commits on normal exit, rolls back on an exception."""
        async with self.sessions() as session, session.begin():
            yield SqlUnitOfWork(session, self.clock)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[SqlUnitOfWork]:
        """A read-only unit of work: a consistent view that never waits for (or holds up) a writer on SQLite."""
        async with self.reads() as session, session.begin():
            yield SqlUnitOfWork(session, self.clock)

    async def record_delivery(self, platform: Platform, delivery_id: str, payload: dict) -> bool:
        """Remember a delivery before acknowledging it; False when it was recorded before (a retry)."""
        # Its own transaction, shared with the deliveries arriving meanwhile (group commit): the ack must not
        # wait for (or be undone with) the handling.
        return await self.inbox.record(platform, delivery_id, payload)

    async def purge_deliveries(self, before: datetime) -> int:
        """Forget deliveries processed before `before` (older than any platform redelivers); returns how many."""
        # Only processed ones: an unprocessed delivery still waits for its replay at start-up.
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                delete(DeliveryRow).where(DeliveryRow.processed_at.is_not(None), DeliveryRow.processed_at < before)
                .execution_options(synchronize_session=False))
            return result.rowcount

    async def pending_deliveries(self, *, limit: int | None = None,
                                 received_before: datetime | None = None) -> list[tuple[Platform, str, dict]]:
        """Deliveries recorded but never processed (e.g. a crash after the ack), oldest first; at most `limit`,
        only those received before `received_before` when given."""
        query = select(DeliveryRow).where(DeliveryRow.processed_at.is_(None))
        if received_before is not None:
            query = query.where(DeliveryRow.received_at < received_before)
        query = query.order_by(DeliveryRow.received_at, DeliveryRow.platform, DeliveryRow.delivery_id).limit(limit)
        async with self.reads() as session:
            rows = (await session.execute(query)).scalars()
            return [(Platform(row.platform), row.delivery_id, row.payload) for row in rows]

    async def checkpoint(self) -> None:
        """SQLite: copy the WAL back into the database file, beside the writers (a no-op elsewhere)."""
        if self.engine.dialect.name != "sqlite":
            return
        # Its own plain connection in a worker thread: a PASSIVE checkpoint needs no write lock, so it does not
        # take a turn with (or hold up) the store's transactions, and it never waits for readers.
        await asyncio.to_thread(_passive_checkpoint, self.engine.url.database)

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Release the connection pools."""
        await self.engine.dispose()
        for side in {self.read_engine, self.inbox_engine} - {self.engine}:
            await side.dispose()


def _passive_checkpoint(path: str) -> None:
    connection = sqlite3.connect(path, timeout=0)
    try:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        connection.close()

