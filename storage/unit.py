"""SqlUnitOfWork: one transaction over tickets, timeline, placements, round-robin state and SLA bookkeeping."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache

from sqlalchemy import Select, and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import Conversation, Platform
from bot.ports import AlreadyProcessed, CardPlacement, Clock, Outgoing, OutgoingKind, StaleTicket, TicketQuery
from bot.subjects import Subject, SubjectKind
from bot.tickets import OPEN_STATUSES, Priority, Status, Ticket, TimelineEntry, Visibility
from storage.alert_counts import SqlAlertCounts
from storage.alerts import SqlAlerts
from storage.attachments import SqlAttachmentRecords
from storage.db import insert_ignoring_conflicts
from storage.digests import SqlDigestRuns
from storage.kb_card import SqlKbOffers, SqlKbSuggestions
from storage.kb_store import KbStore
from storage.kpis import SqlKpis
from storage.mapping import (
    outbox_values,
    outgoing_from_row,
    placement_from_row,
    same_conversation,
    ticket_from_row,
    ticket_values,
    timeline_from_row,
)
from storage.outbox import UNSENT, fold_notices
from storage.queries import (
    at_risk_count,
    at_risk_paused,
    at_risk_running,
    breached_running,
    not_closed_counts,
    ticket_filter,
)
from storage.requests import SqlRequests
from storage.sla_index import time_left
from storage.surveys import SqlSurveys
from storage.tables import (
    CardPlacementRow,
    DeliveryRow,
    KeyValueRow,
    NotificationClaimRow,
    OutboxRow,
    TicketRow,
    TimelineRow,
)

PENDING = "pending"
TICKET_KIND = SubjectKind.TICKET.value
# Joins a ticket's fired notification keys into one string (a control character no key contains).
KEY_SEPARATOR = "\x1f"


@cache
def _tickets_due() -> Select:
    """The sweep's read, built once: one round trip for what three reads would fetch (parameters now, limit).

    A database round trip is most of a small sweep tick. A ticket comes once per card placement (or once,
    without one); its fired keys come joined into one string.
    """
    tickets, fired, cards = TicketRow.__table__, NotificationClaimRow.__table__, CardPlacementRow.__table__
    due = (select(tickets.c.id).where(tickets.c.next_due_at <= bindparam("now"))
           .order_by(tickets.c.next_due_at, tickets.c.id).limit(bindparam("limit")).subquery())
    fired_keys = (select(func.aggregate_strings(fired.c.key, KEY_SEPARATOR))
                  .where(fired.c.subject_kind == TICKET_KIND, fired.c.subject_id == tickets.c.id).scalar_subquery())
    return (select(tickets, fired_keys.label("fired_keys"), cards.c.id.label("card_id"),
                   cards.c.target.label("card_target"), cards.c.message_ref.label("card_ref"),
                   cards.c.viewer_role.label("card_viewer"), cards.c.language.label("card_language"))
            .join(due, due.c.id == tickets.c.id)
            .outerjoin(cards, and_(cards.c.subject_kind == TICKET_KIND, cards.c.subject_id == tickets.c.id))
            .order_by(tickets.c.next_due_at, tickets.c.id, cards.c.id))


class SqlUnitOfWork(SqlRequests):
    """One transaction (see bot.ports.UnitOfWork); SqlStore.unit() commits or rolls it back."""

    def __init__(self, session: AsyncSession, clock: Clock):
        self.session = session
        self.clock = clock
        self.kb = KbStore(session, clock)  # the knowledge base's port (bot.kb.ArticleStore) in this transaction

    # --- tickets -------------------------------------------------------------------------------------

    def kpis(self) -> SqlKpis:
        """The managers' figures (bot.ports.reports.KpiReads) inside this transaction."""
        return SqlKpis(self.session)

    def digests(self) -> SqlDigestRuns:
        """Figures as sent: digest runs claimed once, stats answers kept (their cards' subjects)."""
        return SqlDigestRuns(self.session)

    def surveys(self) -> SqlSurveys:
        """CSAT surveys (bot.ports.surveys.Surveys) inside this transaction."""
        return SqlSurveys(self.session)

    def alerts(self) -> SqlAlerts:
        """Alerts raised once per (rule, subject, window) (bot.alerts.Alerts) inside this transaction."""
        return SqlAlerts(self.session)

    def alert_counts(self) -> SqlAlertCounts:
        """The aggregates the alert rules look at (bot.alerts.AlertCounts) inside this transaction."""
        return SqlAlertCounts(self.session)

    def kb_suggestions(self) -> SqlKbSuggestions:
        """Articles suggested on triage cards (bot.kb_card.KbSuggestions) inside this transaction."""
        return SqlKbSuggestions(self.session)

    def kb_offers(self) -> SqlKbOffers:
        """Self-service offers to customers (bot.kb_card.KbOffers) inside this transaction."""
        return SqlKbOffers(self.session)

    async def add_ticket(self, ticket: Ticket) -> Ticket:
        """Insert a new ticket; assigns its id, version 1 and (when unset) its timestamps."""
        now = self.clock.now()
        ticket.created_at = ticket.created_at or now
        ticket.updated_at = ticket.updated_at or now
        row = TicketRow(version=1, **ticket_values(ticket))
        self.session.add(row)
        await self.session.flush()
        ticket.id, ticket.version = row.id, 1
        return ticket

    async def get_ticket(self, ticket_id: int) -> Ticket | None:
        """The ticket with `ticket_id`, as the database has it now."""
        # populate_existing: after a lost race the session may still hold the row as first read.
        row = (await self.session.execute(
            select(TicketRow).where(TicketRow.id == ticket_id).execution_options(populate_existing=True)
        )).scalar_one_or_none()
        return ticket_from_row(row) if row else None

    async def get_tickets(self, ticket_ids: Sequence[int]) -> dict[int, Ticket]:
        """Several tickets by id in one query (missing ones are absent)."""
        if not ticket_ids:
            return {}
        rows = (await self.session.execute(
            select(TicketRow).where(TicketRow.id.in_(list(ticket_ids))).execution_options(populate_existing=True)
        )).scalars()
        return {row.id: ticket_from_row(row) for row in rows}

    async def save_ticket(self, ticket: Ticket) -> Ticket:
        """Write `ticket` if its version is still current (bumping it), else raise StaleTicket."""
        if ticket.id is None:
            raise ValueError("save_ticket needs a stored ticket; use add_ticket for a new one")
        # One conditional UPDATE: the database decides the race, so two transactions cannot both win.
        result = await self.session.execute(
            update(TicketRow)
            .where(TicketRow.id == ticket.id, TicketRow.version == ticket.version)
            .values(version=TicketRow.version + 1, **ticket_values(ticket))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            current = await self.get_ticket(ticket.id)
            if current is None:
                raise LookupError(f"ticket {ticket.id} does not exist")
            raise StaleTicket(current, await self._last_actor(ticket.id))
        ticket.version += 1
        return ticket

    async def _last_actor(self, ticket_id: int) -> str | None:
        return (await self.session.execute(
            select(TimelineRow.actor).where(TimelineRow.ticket_id == ticket_id).order_by(TimelineRow.id.desc()).limit(1)
        )).scalar_one_or_none()

    async def list_tickets(self, query: TicketQuery) -> list[Ticket]:
        """Tickets matching `query`, most urgent first (P0 sorts before P1), then oldest."""
        return await self.ticket_page(query)

    async def ticket_page(self, query: TicketQuery, *, priority: Priority | None = None,
                          offset: int = 0) -> list[Ticket]:
        """One page of list_tickets: `query.limit` tickets after the first `offset`, optionally of one priority.

        Ordered by an index (see ix_tickets_open_queue), so a page costs its own rows whatever the table holds.
        """
        stmt = (select(TicketRow).where(*ticket_filter(query, priority))
                .order_by(TicketRow.priority, TicketRow.created_at, TicketRow.id).offset(offset).limit(query.limit))
        return [ticket_from_row(row) for row in (await self.session.execute(stmt)).scalars()]

    async def count_tickets(self, query: TicketQuery, *, priority: Priority | None = None,
                            cap: int | None = None) -> int:
        """How many tickets match `query` (ignoring its limit); counting stops at `cap` when given."""
        matching = select(TicketRow.id).where(*ticket_filter(query, priority))
        if cap is not None:
            matching = matching.limit(cap)
        return (await self.session.execute(select(func.count()).select_from(matching.subquery()))).scalar_one()

    async def ticket_counts(self) -> tuple[dict[Status, int], dict[Priority, int]]:
        """Tickets per status, and open tickets per priority: index-only counts, no rows read."""
        total = (await self.session.execute(select(func.count()).select_from(TicketRow))).scalar_one()
        by_status = dict.fromkeys(Status, 0)
        open_by_priority = dict.fromkeys(Priority, 0)
        for status, priority, count in await self.session.execute(not_closed_counts()):
            by_status[Status(status)] += count
            if Status(status) in OPEN_STATUSES:
                open_by_priority[Priority(priority)] += count
        # The closed ones are the rest: on SQLite a whole-table count only counts index pages (no cells).
        by_status[Status.CLOSED] = total - sum(by_status.values())
        return by_status, open_by_priority

    async def breaching_tickets(self, now: datetime, *, limit: int, offset: int = 0,
                                priority: Priority | None = None) -> list[Ticket]:
        """Open tickets breached or with under a fifth of their window left, least time left first."""
        wanted = offset + limit
        dialect = self.session.get_bind().dialect.name
        found = [ticket_from_row(row) for row in (await self.session.execute(breached_running(now, wanted, priority))).scalars()]
        if len(found) < wanted:  # the not yet breached follow all breached running ones
            found += [ticket_from_row(row)
                      for row in (await self.session.execute(at_risk_running(now, wanted - len(found), priority))).scalars()]
        found += [ticket_from_row(row) for row in
                  (await self.session.execute(at_risk_paused(now, wanted, dialect, priority))).scalars()]
        found.sort(key=lambda ticket: (time_left(ticket, now), ticket.id))
        return found[offset:wanted]

    async def count_breaching(self, now: datetime, *, cap: int | None = None,
                              priority: Priority | None = None) -> int:
        """How many open tickets are breached or at risk (counting stops at `cap` when given)."""
        return (await self.session.execute(at_risk_count(now, cap, priority))).scalar_one()

    async def lock_requester(self, platform: Platform, user_id: str) -> None:
        """Hold a customer's intake until this transaction ends, so two messages of theirs arriving together join
        one ticket instead of opening two (PostgreSQL: a transaction-scoped advisory lock, which every replica
        sees; SQLite: its writers already take turns, whole transaction by whole transaction)."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                                       {"key": f"intake|{platform.value}|{user_id}"})

    async def find_open_ticket(self, *, platform: Platform, user_id: str, since: datetime) -> Ticket | None:
        """The requester's latest open or resolved ticket with activity since `since` (or waiting on them).

        Resolved counts: the customer writing again revives it. A ticket waiting on the customer takes
        their answer whenever it comes: we asked them.
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

    async def find_closed_ticket(self, *, platform: Platform, user_id: str, since: datetime) -> Ticket | None:
        """The requester's most recently closed ticket, if it was closed since `since` (ix_tickets_requester)."""
        row = (await self.session.execute(
            select(TicketRow)
            .where(TicketRow.requester_platform == platform.value, TicketRow.requester_user_id == user_id,
                   TicketRow.status == Status.CLOSED.value, TicketRow.closed_at >= since)
            .order_by(TicketRow.closed_at.desc(), TicketRow.id.desc()).limit(1)
        )).scalar_one_or_none()
        return ticket_from_row(row) if row else None

    async def find_subject_by_thread(self, conversation: Conversation) -> Subject | None:
        """Whose thread this is: the subject of the card it is under (any kind), else the ticket whose agent
        thread or customer conversation it is."""
        if conversation.thread_id:
            under_card = (await self.session.execute(
                select(CardPlacementRow.subject_kind, CardPlacementRow.subject_id)
                .where(CardPlacementRow.target_platform == conversation.platform.value,
                       CardPlacementRow.target_id == conversation.id,
                       CardPlacementRow.message_ref == conversation.thread_id)
                .order_by(CardPlacementRow.id.desc()).limit(1)
            )).first()
            if under_card is not None:
                return Subject(SubjectKind(under_card.subject_kind), under_card.subject_id)
        ticket_id = (await self.session.execute(
            select(TicketRow.id)
            .where(or_(same_conversation("agent_conv", conversation), same_conversation("customer_conv", conversation)))
            .order_by(TicketRow.updated_at.desc(), TicketRow.id.desc()).limit(1)
        )).scalar_one_or_none()
        return Subject.ticket(ticket_id) if ticket_id is not None else None

    async def find_ticket_by_thread(self, conversation: Conversation) -> Ticket | None:
        """The ticket whose thread this is (None when the thread is another kind of subject's)."""
        subject = await self.find_subject_by_thread(conversation)
        return await self.get_ticket(subject.id) if subject is not None and subject.kind is SubjectKind.TICKET else None

    async def open_counts(self, assignees: Sequence[str]) -> dict[str, int]:
        """Open tickets per assignee (0 for those with none)."""
        counts = dict.fromkeys(assignees, 0)
        if not counts:
            return counts
        rows = await self.session.execute(
            select(TicketRow.assignee, func.count())
            .where(TicketRow.assignee.in_(list(counts)), TicketRow.status.in_([s.value for s in OPEN_STATUSES]))
            .group_by(TicketRow.assignee)
        )
        counts.update({assignee: count for assignee, count in rows})
        return counts

    async def rotate(self, key: str, candidates: Sequence[str]) -> str:
        """The candidate after the one chosen last time for `key`; the first when that one is gone."""
        if not candidates:
            raise ValueError("rotate needs at least one candidate")
        # Make sure the row exists, then lock it: concurrent rotations on PostgreSQL take turns.
        await self.session.execute(insert_ignoring_conflicts(self.session, KeyValueRow).values(key=key, value=""))
        last = (await self.session.execute(
            select(KeyValueRow.value).where(KeyValueRow.key == key).with_for_update()
        )).scalar_one()
        chosen = candidates[(candidates.index(last) + 1) % len(candidates)] if last in candidates else candidates[0]
        await self.session.execute(update(KeyValueRow).where(KeyValueRow.key == key).values(value=chosen)
                                   .execution_options(synchronize_session=False))
        return chosen

    # --- history, outbox, placements, inbox ----------------------------------------------------------

    async def append_timeline(self, entry: TimelineEntry) -> None:
        """Add one line to a ticket's history (nothing ever updates or deletes one)."""
        self.session.add(TimelineRow(ticket_id=entry.ticket_id, at=entry.at, kind=entry.kind, actor=entry.actor,
                                     platform=entry.platform.value, before=entry.before, after=entry.after,
                                     text=entry.text, visibility=entry.visibility.value, detail=entry.detail))
        await self.session.flush()

    async def recent_timeline(self, ticket_id: int, limit: int, *, public_only: bool = False) -> list[TimelineEntry]:
        """The ticket's last `limit` history entries (only those the customer may see, when asked), oldest first."""
        stmt = select(TimelineRow).where(TimelineRow.ticket_id == ticket_id)
        if public_only:
            stmt = stmt.where(TimelineRow.visibility == Visibility.PUBLIC.value)
        rows = (await self.session.execute(stmt.order_by(TimelineRow.id.desc()).limit(limit))).scalars()
        return [timeline_from_row(row) for row in reversed(list(rows))]

    async def timeline(self, ticket_id: int) -> list[TimelineEntry]:
        """The ticket's history, oldest first."""
        rows = (await self.session.execute(
            select(TimelineRow).where(TimelineRow.ticket_id == ticket_id).order_by(TimelineRow.id)
        )).scalars()
        return [timeline_from_row(row) for row in rows]

    async def enqueue(self, message: Outgoing) -> None:
        """Add a message to the outbox; the dispatcher sends it once this unit commits."""
        now = self.clock.now()
        self.session.add(OutboxRow(**outbox_values(message), created_at=now, status=PENDING, attempts=0,
                                   next_attempt_at=now))
        # No flush needed: the session inserts rows of one table in the order they were added, so outbox
        # ids (which order a conversation's stream) follow the order of enqueue calls.

    async def enqueue_many(self, messages: Sequence[Outgoing]) -> None:
        """Add several messages to the outbox in one Core executemany, in order (for hot paths like the sweep)."""
        if not messages:
            return
        if self.session.new:
            # Rows from earlier enqueue calls go first, so outbox ids keep following the call order.
            await self.session.flush()
        now = self.clock.now()
        # Plain Core rows, not ORM objects: building and flushing an ORM object per message cost most of
        # a busy sweep tick.
        connection = await self.session.connection()
        await connection.execute(insert(OutboxRow.__table__), [
            {**outbox_values(message), "created_at": now, "status": PENDING, "attempts": 0, "next_attempt_at": now}
            for message in messages
        ])

    async def enqueue_notices(self, messages: Sequence[Outgoing]) -> None:
        """enqueue_many, each notice folded into one of its subject still waiting for its conversation."""
        await self.enqueue_many(await fold_notices(self.session, messages))

    async def unsent_card_posts(self, subject: Subject) -> list[Outgoing]:
        """The subject's card posts not yet sent (waiting or on their way): read among the unsent rows only."""
        rows = (await self.session.execute(select(OutboxRow).where(
            OutboxRow.status.in_(UNSENT), OutboxRow.kind == OutgoingKind.CARD.value,
            OutboxRow.subject_kind == subject.kind.value, OutboxRow.subject_id == subject.id)
            .order_by(OutboxRow.id))).scalars()
        return [outgoing_from_row(row) for row in rows]

    async def placements(self, subject: Subject) -> list[CardPlacement]:
        """Every place the subject's card was posted, oldest first."""
        return (await self.placements_for([subject])).get(subject, [])

    async def placements_for(self, subjects: Sequence[Subject]) -> dict[Subject, list[CardPlacement]]:
        """Card placements of several subjects (of any kinds) in one query."""
        found: dict[Subject, list[CardPlacement]] = {}
        by_kind: dict[str, list[int]] = {}
        for subject in subjects:
            by_kind.setdefault(subject.kind.value, []).append(subject.id)
        if not by_kind:
            return found
        wanted = or_(*(and_(CardPlacementRow.subject_kind == kind, CardPlacementRow.subject_id.in_(ids))
                       for kind, ids in by_kind.items()))
        rows = (await self.session.execute(select(CardPlacementRow).where(wanted).order_by(CardPlacementRow.id))).scalars()
        for row in rows:
            placement = placement_from_row(row)
            found.setdefault(placement.subject, []).append(placement)
        return found

    @property
    def attachments(self) -> SqlAttachmentRecords:
        """The attachment records of this transaction (bot.attachments.AttachmentRecords)."""
        return SqlAttachmentRecords(self.session)

    async def mark_delivery_done(self, platform: Platform, delivery_id: str) -> None:
        """Mark a delivery processed; it commits together with its effects. AlreadyProcessed when another
        worker (a replay, another replica) processed it first: raised so this one's effects roll back."""
        this = (DeliveryRow.platform == platform.value, DeliveryRow.delivery_id == delivery_id)
        result = await self.session.execute(
            update(DeliveryRow).where(*this, DeliveryRow.processed_at.is_(None))
            .values(processed_at=self.clock.now()).execution_options(synchronize_session=False)
        )
        if result.rowcount == 0 and (await self.session.execute(select(DeliveryRow.delivery_id).where(*this))).first():
            raise AlreadyProcessed(f"{platform.value} {delivery_id}")

    # --- SLA bookkeeping -----------------------------------------------------------------------------

    async def claim_notifications(self, claims: Sequence[tuple[Subject, str, bool]]) -> set[tuple[Subject, str]]:
        """Claim many (subject, key, sent) at once; returns the (subject, key) pairs this call won."""
        if not claims:
            return set()
        now = self.clock.now()
        table = NotificationClaimRow.__table__
        # The primary key decides: an INSERT that conflicts was won by someone else. An executemany (which
        # SQLAlchemy batches into multi-row INSERTs) keeps one cached statement whatever the batch size.
        stmt = insert_ignoring_conflicts(self.session, table).returning(
            table.c.subject_kind, table.c.subject_id, table.c.key)
        rows = await (await self.session.connection()).execute(stmt, [
            {"subject_kind": subject.kind.value, "subject_id": subject.id, "key": key, "fired_at": now, "sent": sent}
            for subject, key, sent in claims])
        return {(Subject(SubjectKind(kind), subject_id), key) for kind, subject_id, key in rows}

    async def tickets_due(self, now: datetime, limit: int) -> list[tuple[Ticket, set[str], list[CardPlacement]]]:
        """Tickets whose sweep bookmark has come (oldest first), each with its fired keys and card placements."""
        rows = await (await self.session.connection()).execute(_tickets_due(), {"now": now, "limit": limit})
        found: dict[int, tuple[Ticket, set[str], list[CardPlacement]]] = {}
        for row in rows:
            entry = found.get(row.id)
            if entry is None:
                keys = set(row.fired_keys.split(KEY_SEPARATOR)) if row.fired_keys else set()
                entry = found[row.id] = (ticket_from_row(row), keys, [])
            if row.card_id is not None:
                entry[2].append(CardPlacement(row.card_id, Subject.ticket(row.id), Conversation.model_validate(row.card_target),
                                              row.card_ref, row.card_viewer, row.card_language))
        return list(found.values())

    async def fired_notifications(self, subject: Subject) -> set[str]:
        """Keys of the subject's notifications that already fired."""
        rows = await self.session.execute(select(NotificationClaimRow.key).where(
            NotificationClaimRow.subject_kind == subject.kind.value, NotificationClaimRow.subject_id == subject.id))
        return set(rows.scalars())

    async def set_ticket_bookmarks(self, bookmarks: Sequence[tuple[Ticket, datetime | None]]) -> None:
        """Move the sweep's bookmark of a whole batch in one executemany, skipping tickets changed since read."""
        if not bookmarks:
            return
        table = TicketRow.__table__
        connection = await self.session.connection()
        await connection.execute(
            update(table).where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version"))
            .values(next_due_at=bindparam("b_due")),
            [{"b_id": t.id, "b_version": t.version, "b_due": due} for t, due in bookmarks],
        )
