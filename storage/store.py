"""SqlStore: units of work, the inbox of deliveries, the outbox and the SLA sweep's index, on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.events import Platform
from bot.ports import Clock
from bot.tickets import Ticket
from storage.db import insert_ignoring_conflicts, sessionmaker
from storage.mapping import ticket_from_row
from storage.outbox import OutboxStore
from storage.tables import DeliveryRow, TicketRow
from storage.unit import SqlUnitOfWork

__all__ = ["SqlStore", "SqlUnitOfWork"]


class SqlStore(OutboxStore):
    """The persistent store (see bot.ports.TicketStore)."""

    def __init__(self, engine: AsyncEngine, clock: Clock):
        self.engine = engine
        self.clock = clock
        self.sessions = sessionmaker(engine)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[SqlUnitOfWork]:
        """A transaction: commits on normal exit, rolls back on an exception."""
        async with self.sessions() as session, session.begin():
            yield SqlUnitOfWork(session, self.clock)

    async def record_delivery(self, platform: Platform, delivery_id: str, payload: dict) -> bool:
        """Remember a delivery before acknowledging it; False when it was recorded before (a retry)."""
        # Its own short transaction: the ack must not wait for (or be undone with) the handling.
        async with self.sessions() as session, session.begin():
            result = await session.execute(insert_ignoring_conflicts(session, DeliveryRow).values(
                platform=platform.value, delivery_id=delivery_id, payload=payload, received_at=self.clock.now()
            ))
            return result.rowcount == 1

    async def pending_deliveries(self) -> list[tuple[Platform, str, dict]]:
        """Deliveries recorded but never processed (e.g. a crash after the ack), oldest first."""
        async with self.sessions() as session:
            rows = (await session.execute(
                select(DeliveryRow).where(DeliveryRow.processed_at.is_(None))
                .order_by(DeliveryRow.received_at, DeliveryRow.platform, DeliveryRow.delivery_id)
            )).scalars()
            return [(Platform(row.platform), row.delivery_id, row.payload) for row in rows]

    async def due_tickets(self, now: datetime, limit: int = 200) -> list[Ticket]:
        """Tickets whose SLA bookmark `next_due_at` has come (an indexed range scan)."""
        async with self.sessions() as session:
            rows = (await session.execute(
                select(TicketRow).where(TicketRow.next_due_at <= now)
                .order_by(TicketRow.next_due_at, TicketRow.id).limit(limit)
            )).scalars()
            return [ticket_from_row(row) for row in rows]

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Release the connection pool."""
        await self.engine.dispose()
