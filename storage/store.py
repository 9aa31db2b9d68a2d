"""SqlStore: units of work over tickets, timeline, placements; the inbox of deliveries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import and_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.events import Conversation, Platform
from bot.ports import CardPlacement, Clock, Outgoing, StaleTicket, TicketQuery
from bot.tickets import OPEN_STATUSES, Status, Ticket, TimelineEntry
from storage.db import sessionmaker
from storage.mapping import conversation_key, ticket_from_row, ticket_values, timeline_from_row
from storage.outbox import OutboxStore, outbox_row
from storage.tables import (
    CardPlacementRow,
    DeliveryRow,
    KeyValueRow,
    SlaNotificationRow,
    TicketRow,
    TimelineRow,
)


def dialect_insert(session: AsyncSession, table):
    """INSERT with ON CONFLICT support for the session's database."""
    name = session.get_bind().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(table)


def placement_from_row(row: CardPlacementRow) -> CardPlacement:
    """The domain placement of a row."""
    return CardPlacement(row.id, row.ticket_id, Conversation.model_validate(row.target), row.message_ref,
                         row.viewer_role, row.language)


class SqlUnitOfWork:
    """One transaction over the ticket tables (see bot.ports.UnitOfWork)."""

    def __init__(self, session: AsyncSession, clock: Clock):
        self.session = session
        self.clock = clock

    async def add_ticket(self, ticket: Ticket) -> Ticket:
        """Insert a new ticket; assigns its id and version 1."""
        now = self.clock.now()
        ticket.created_at = ticket.created_at or now
        ticket.updated_at = ticket.updated_at or now
        row = TicketRow(version=1, **ticket_values(ticket))
        self.session.add(row)
        await self.session.flush()
        ticket.id, ticket.version = row.id, 1
        return ticket

    async def get_ticket(self, ticket_id: int) -> Ticket | None:
        """The ticket with `ticket_id`, freshly read."""
        row = (await self.session.execute(select(TicketRow).where(TicketRow.id == ticket_id))).scalar_one_or_none()
        return ticket_from_row(row) if row else None

    async def save_ticket(self, ticket: Ticket) -> Ticket:
        """Conditional UPDATE on the version; StaleTicket when someone else saved first."""
        result = await self.session.execute(
            update(TicketRow)
            .where(TicketRow.id == ticket.id, TicketRow.version == ticket.version)
            .values(version=TicketRow.version + 1, **ticket_values(ticket))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            current = await self.get_ticket(ticket.id)
            entries = await self.timeline(ticket.id)
            raise StaleTicket(current, entries[-1].actor if entries else None)
        ticket.version += 1
        return ticket

    async def list_tickets(self, query: TicketQuery) -> list[Ticket]:
        """Tickets matching `query`, most urgent first, then oldest."""
        stmt = select(TicketRow)
        if query.statuses is not None:
            stmt = stmt.where(TicketRow.status.in_([s.value for s in query.statuses]))
        if query.assignee:
            stmt = stmt.where(TicketRow.assignee == query.assignee)
        if query.unassigned:
            stmt = stmt.where(TicketRow.assignee.is_(None))
        if query.requester_platform:
            stmt = stmt.where(TicketRow.requester_platform == query.requester_platform.value)
        if query.requester_user_id:
            stmt = stmt.where(TicketRow.requester_user_id == query.requester_user_id)
        if query.department:
            stmt = stmt.where(TicketRow.department == query.department)
        rows = (await self.session.execute(stmt.order_by(TicketRow.priority, TicketRow.created_at, TicketRow.id)
                                           .limit(query.limit))).scalars()
        return [ticket_from_row(row) for row in rows]

    async def find_open_ticket(self, *, platform: Platform, user_id: str, since: datetime) -> Ticket | None:
        """The requester's latest open (or resolved) ticket with activity since `since`.

        A ticket waiting on the customer takes their answer whenever it comes: we asked them.
        """
        statuses = [s.value for s in OPEN_STATUSES | {Status.RESOLVED}]
        row = (await self.session.execute(
            select(TicketRow)
            .where(TicketRow.requester_platform == platform.value, TicketRow.requester_user_id == user_id,
                   TicketRow.status.in_(statuses),
                   or_(TicketRow.updated_at >= since, TicketRow.status == Status.WAITING_CUSTOMER.value))
            .order_by(TicketRow.updated_at.desc(), TicketRow.id.desc()).limit(1)
        )).scalar_one_or_none()
        return ticket_from_row(row) if row else None

    async def find_ticket_by_thread(self, conversation: Conversation) -> Ticket | None:
        """The ticket whose thread this is: under one of its cards, or its stored agent/customer thread."""
        key = conversation_key(conversation)
        if conversation.thread_id:
            under_card = f"{conversation.platform.value}|{conversation.id}|{conversation.thread_id}"
            placement = (await self.session.execute(
                select(CardPlacementRow.ticket_id).where(CardPlacementRow.thread_key == under_card)
                .order_by(CardPlacementRow.id.desc()).limit(1)
            )).scalar_one_or_none()
            if placement is not None:
                return await self.get_ticket(placement)
        row = (await self.session.execute(
            select(TicketRow).where(or_(TicketRow.agent_thread_key == key, TicketRow.customer_conv_key == key))
            .order_by(TicketRow.updated_at.desc()).limit(1)
        )).scalar_one_or_none()
        return ticket_from_row(row) if row else None

    async def open_counts(self, assignees: Sequence[str]) -> dict[str, int]:
        """Open tickets per assignee."""
        rows = await self.session.execute(
            select(TicketRow.assignee, func.count()).where(
                TicketRow.assignee.in_(list(assignees)), TicketRow.status.in_([s.value for s in OPEN_STATUSES])
            ).group_by(TicketRow.assignee)
        )
        counts = {key: 0 for key in assignees}
        counts.update({assignee: count for assignee, count in rows})
        return counts

    async def rotate(self, key: str, candidates: Sequence[str]) -> str:
        """The candidate after the last one chosen for `key` (the first one the first time)."""
        row = await self.session.get(KeyValueRow, key, with_for_update=True)
        last = row.value if row else None
        chosen = candidates[(candidates.index(last) + 1) % len(candidates)] if last in candidates else candidates[0]
        if row:
            row.value = chosen
        else:
            self.session.add(KeyValueRow(key=key, value=chosen))
        await self.session.flush()
        return chosen

    async def append_timeline(self, entry: TimelineEntry) -> None:
        """Add one line to a ticket's history."""
        self.session.add(TimelineRow(ticket_id=entry.ticket_id, at=entry.at, kind=entry.kind, actor=entry.actor,
                                     platform=entry.platform.value, before=entry.before, after=entry.after,
                                     text=entry.text, visibility=entry.visibility.value))
        await self.session.flush()

    async def timeline(self, ticket_id: int) -> list[TimelineEntry]:
        """The ticket's history, oldest first."""
        rows = (await self.session.execute(
            select(TimelineRow).where(TimelineRow.ticket_id == ticket_id).order_by(TimelineRow.id)
        )).scalars()
        return [timeline_from_row(row) for row in rows]

    async def enqueue(self, message: Outgoing) -> None:
        """Add a message to the outbox, to be sent after commit."""
        self.session.add(outbox_row(message, self.clock.now()))

    async def placements(self, ticket_id: int) -> list[CardPlacement]:
        """Every place the ticket's card was posted."""
        rows = (await self.session.execute(
            select(CardPlacementRow).where(CardPlacementRow.ticket_id == ticket_id).order_by(CardPlacementRow.id)
        )).scalars()
        return [placement_from_row(row) for row in rows]

    async def claim_notification(self, ticket_id: int, key: str, *, sent: bool = True) -> bool:
        """Record that a reminder/escalation fires; False when it already did (another replica, a restart)."""
        stmt = dialect_insert(self.session, SlaNotificationRow).values(
            ticket_id=ticket_id, key=key, fired_at=self.clock.now(), sent=sent
        ).on_conflict_do_nothing()
        return (await self.session.execute(stmt)).rowcount == 1

    async def fired_notifications(self, ticket_id: int) -> set[str]:
        """Keys of the ticket's notifications that already fired."""
        rows = await self.session.execute(
            select(SlaNotificationRow.key).where(SlaNotificationRow.ticket_id == ticket_id))
        return set(rows.scalars())

    async def fired_for(self, ticket_ids: Sequence[int]) -> dict[int, set[str]]:
        """Fired notification keys for several tickets at once (one query per sweep batch)."""
        found: dict[int, set[str]] = {}
        rows = await self.session.execute(select(SlaNotificationRow.ticket_id, SlaNotificationRow.key)
                                          .where(SlaNotificationRow.ticket_id.in_(list(ticket_ids))))
        for ticket_id, key in rows:
            found.setdefault(ticket_id, set()).add(key)
        return found

    async def claim_notifications(self, claims: Sequence[tuple[int, str, bool]]) -> set[tuple[int, str]]:
        """Claim many (ticket_id, key, sent) at once; returns the (ticket_id, key) pairs this call won."""
        if not claims:
            return set()
        now = self.clock.now()
        stmt = dialect_insert(self.session, SlaNotificationRow).values(
            [{"ticket_id": t, "key": k, "fired_at": now, "sent": sent} for t, k, sent in claims]
        ).on_conflict_do_nothing().returning(SlaNotificationRow.ticket_id, SlaNotificationRow.key)
        return {(ticket_id, key) for ticket_id, key in await self.session.execute(stmt)}

    async def set_next_due_many(self, bookmarks: Sequence[tuple[Ticket, datetime | None]]) -> None:
        """set_next_due for a whole sweep batch in one executemany."""
        if not bookmarks:
            return
        connection = await self.session.connection()
        await connection.execute(
            update(TicketRow.__table__)
            .where(TicketRow.__table__.c.id == bindparam("b_id"), TicketRow.__table__.c.version == bindparam("b_version"))
            .values(next_due_at=bindparam("b_due")),
            [{"b_id": t.id, "b_version": t.version, "b_due": due} for t, due in bookmarks],
        )

    async def placements_for(self, ticket_ids: Sequence[int]) -> dict[int, list[CardPlacement]]:
        """Card placements of several tickets in one query."""
        found: dict[int, list[CardPlacement]] = {}
        rows = (await self.session.execute(select(CardPlacementRow).where(CardPlacementRow.ticket_id.in_(list(ticket_ids)))
                                           .order_by(CardPlacementRow.id))).scalars()
        for row in rows:
            found.setdefault(row.ticket_id, []).append(placement_from_row(row))
        return found

    async def set_next_due(self, ticket: Ticket, next_due_at: datetime | None) -> bool:
        """Move the sweep's bookmark without a version bump, unless the ticket changed meanwhile."""
        result = await self.session.execute(
            update(TicketRow).where(TicketRow.id == ticket.id, TicketRow.version == ticket.version)
            .values(next_due_at=next_due_at).execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    async def mark_delivery_done(self, platform: Platform, delivery_id: str) -> None:
        """Mark a delivery processed, committing with its effects."""
        await self.session.execute(
            update(DeliveryRow).where(and_(DeliveryRow.platform == platform.value, DeliveryRow.delivery_id == delivery_id))
            .values(processed_at=self.clock.now())
        )


class SqlStore(OutboxStore):
    """The persistent store on SQLite or PostgreSQL (see bot.ports.TicketStore)."""

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
        """Insert the delivery id; False when it was recorded before (a retry)."""
        async with self.sessions() as session, session.begin():
            stmt = dialect_insert(session, DeliveryRow).values(
                platform=platform.value, delivery_id=delivery_id, payload=payload, received_at=self.clock.now()
            ).on_conflict_do_nothing()
            result = await session.execute(stmt)
            return result.rowcount == 1

    async def pending_deliveries(self) -> list[tuple[Platform, str, dict]]:
        """Recorded but unprocessed deliveries, oldest first."""
        async with self.sessions() as session:
            rows = (await session.execute(
                select(DeliveryRow).where(DeliveryRow.processed_at.is_(None)).order_by(DeliveryRow.received_at)
            )).scalars()
            return [(Platform(r.platform), r.delivery_id, r.payload) for r in rows]

    async def due_tickets(self, now: datetime, limit: int = 200) -> list[Ticket]:
        """Tickets whose next reminder, escalation or re-evaluation is due (an indexed range scan)."""
        async with self.sessions() as session:
            rows = (await session.execute(
                select(TicketRow).where(TicketRow.next_due_at <= now).order_by(TicketRow.next_due_at).limit(limit)
            )).scalars()
            return [ticket_from_row(row) for row in rows]

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Release the connection pool."""
        await self.engine.dispose()
