"""The outbox: claim due rows with a lease, keep per-conversation order, record sends and failures."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, exists, func, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.events import Conversation
from bot.ports import OutboxItem, OutgoingKind
from bot.subjects import Subject
from storage.mapping import outgoing_from_row
from storage.tables import CardPlacementRow, OutboxRow

PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"
UNSENT = (PENDING, SENDING)
# Key of the PostgreSQL advisory lock claimers take turns on (any constant; "tbot" in ASCII).
OUTBOX_CLAIM_LOCK = 0x74626F74


def _claimable(row, now: datetime) -> ColumnElement[bool]:
    """Due for (another) attempt: pending and due, or claimed by a dispatcher whose lease ran out."""
    return or_(and_(row.status == PENDING, row.next_attempt_at <= now),
               and_(row.status == SENDING, row.lease_until <= now))


class OutboxStore:
    """Outbox operations of SqlStore (kept apart so each module stays small)."""

    sessions: async_sessionmaker[AsyncSession]  # provided by SqlStore
    reads: async_sessionmaker[AsyncSession]  # … and its sessions for queries that change nothing

    async def claim_outbox(self, now: datetime, *, limit: int = 20, lease_seconds: float = 60) -> list[OutboxItem]:
        """Claim due rows, oldest first, by a conditional UPDATE that sets a lease; see the rules below.

        A row waits while an older unsent row of its conversation cannot go now (backing off, or leased
        to another dispatcher), so one conversation's messages arrive in order. Several rows of one
        conversation may be claimed together, in order; the dispatcher hands back the rest of such a run
        when one fails (outbox_release). Two dispatchers never claim the same row.
        """
        older = aliased(OutboxRow)
        held_back = exists().where(older.target_key == OutboxRow.target_key, older.id < OutboxRow.id,
                                   older.status.in_(UNSENT), not_(_claimable(older, now)))
        async with self.sessions() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                # Claimers take turns: without it two could split one conversation's run (A takes row 1,
                # B, not yet seeing A's claim, takes row 2) and send it out of order. SQLite's writers
                # already take turns (BEGIN IMMEDIATE).
                await session.execute(select(func.pg_advisory_xact_lock(OUTBOX_CLAIM_LOCK)))
            ids = (await session.execute(
                select(OutboxRow.id).where(_claimable(OutboxRow, now), ~held_back).order_by(OutboxRow.id).limit(limit)
            )).scalars().all()
            if not ids:
                return []
            # Still conditional: the row must be claimable at the moment it is written, whatever was read.
            rows = (await session.execute(
                update(OutboxRow).where(OutboxRow.id.in_(ids), _claimable(OutboxRow, now))
                .values(status=SENDING, lease_until=now + timedelta(seconds=lease_seconds))
                .returning(OutboxRow).execution_options(synchronize_session=False)
            )).scalars().all()
            return [OutboxItem(row.id, outgoing_from_row(row), row.attempts) for row in sorted(rows, key=lambda r: r.id)]

    async def outbox_release(self, item_ids: list[int]) -> None:
        """Hand claimed rows back untouched (an earlier message of their conversation failed)."""
        if not item_ids:
            return
        async with self.sessions() as session, session.begin():
            await session.execute(update(OutboxRow).where(OutboxRow.id.in_(item_ids), OutboxRow.status == SENDING)
                                  .values(status=PENDING, lease_until=None).execution_options(synchronize_session=False))

    async def outbox_sent(self, item_id: int, *, message_ref: str | None, now: datetime) -> None:
        """Mark a row sent; a posted card becomes a placement to re-render on every change."""
        await self.outbox_sent_many([(item_id, message_ref)], now=now)

    async def outbox_sent_many(self, sent: list[tuple[int, str | None]], *, now: datetime) -> None:
        """outbox_sent for a whole dispatch round, in one transaction."""
        if not sent:
            return
        refs = dict(sent)
        async with self.sessions() as session, session.begin():
            # Rows already sent are skipped, so a repeated call records no second placement.
            rows = (await session.execute(
                select(OutboxRow).where(OutboxRow.id.in_(list(refs)), OutboxRow.status != SENT)
            )).scalars()
            for row in rows:
                message_ref = refs[row.id]
                row.status, row.sent_at, row.message_ref, row.lease_until = SENT, now, message_ref, None
                if row.kind == OutgoingKind.CARD.value and message_ref and row.subject_id is not None:
                    target = Conversation.model_validate(row.target)
                    session.add(CardPlacementRow(
                        subject_kind=row.subject_kind, subject_id=row.subject_id, target=row.target, target_platform=target.platform.value,
                        target_id=target.id, message_ref=message_ref, viewer_role=row.viewer_role,
                        language=row.language, created_at=now,
                    ))

    async def outbox_failed(self, item_id: int, *, error: str, retry_at: datetime | None,
                            counts: bool = True) -> None:
        """Count a failed attempt (unless `counts` is False: postponed by pacing); retry at `retry_at`, or give up
        (dead) when None."""
        async with self.sessions() as session, session.begin():
            row = await session.get(OutboxRow, item_id)
            if row is None:
                return
            if counts:
                row.attempts += 1
            row.last_error = error[:2000]
            row.lease_until = None
            if retry_at is None:
                row.status = DEAD
            else:
                row.status, row.next_attempt_at = PENDING, retry_at

    async def update_placement_ref(self, placement_id: int, message_ref: str) -> None:
        """A platform had to post a card anew (e.g. an expired update code): remember the new message."""
        async with self.sessions() as session, session.begin():
            await session.execute(update(CardPlacementRow).where(CardPlacementRow.id == placement_id)
                                  .values(message_ref=message_ref).execution_options(synchronize_session=False))

    async def renew_placement_ref(self, *, subject: Subject, target: Conversation, card_id: str,
                                  message_ref: str) -> bool:
        """Store the reference a press handed out for the card named `card_id`; False when no such card."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(CardPlacementRow)
                .where(CardPlacementRow.subject_kind == subject.kind.value,
                       CardPlacementRow.subject_id == subject.id,
                       CardPlacementRow.target_platform == target.platform.value,
                       CardPlacementRow.target_id == target.id,
                       or_(CardPlacementRow.message_ref == card_id,
                           CardPlacementRow.message_ref.startswith(card_id + "|", autoescape=True)))
                .values(message_ref=message_ref).execution_options(synchronize_session=False))
            return result.rowcount > 0

    async def next_outbox_due(self) -> datetime | None:
        """When the next row can be claimed: a retry falling due or a lease running out (None: nothing unsent)."""
        older = aliased(OutboxRow)
        # Only the oldest unsent row of each conversation can open its stream; later ones follow it.
        first_of_stream = ~exists().where(older.target_key == OutboxRow.target_key, older.id < OutboxRow.id,
                                          older.status.in_(UNSENT))
        due = case((OutboxRow.status == PENDING, OutboxRow.next_attempt_at), else_=OutboxRow.lease_until)
        async with self.reads() as session:
            return (await session.execute(
                select(func.min(due)).where(OutboxRow.status.in_(UNSENT), first_of_stream)
            )).scalar_one_or_none()

    async def outbox_rows(self) -> list[OutboxRow]:
        """Every outbox row (for tests and diagnostics)."""
        async with self.sessions() as session:
            return list((await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars())
