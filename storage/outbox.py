"""The outbox: claim due rows with a lease, keep per-conversation order, record sends and failures."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from bot.events import Conversation
from bot.ports import OutboxItem, Outgoing, OutgoingKind
from storage.mapping import conversation_key
from storage.tables import CardPlacementRow, OutboxRow

PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"


def outbox_row(message: Outgoing, now: datetime) -> OutboxRow:
    """A pending outbox row for `message`."""
    target = message.target
    return OutboxRow(
        created_at=now, kind=message.kind.value, target=target.model_dump(mode="json"),
        # Order is kept per conversation (threads included), which is what a reader sees as one stream.
        target_key=f"{target.platform.value}|{target.id}", text=message.text, ticket_id=message.ticket_id,
        placement_id=message.placement_id, viewer_role=message.viewer_role, language=message.language,
        ephemeral_user=message.ephemeral_user, status=PENDING, attempts=0, next_attempt_at=now,
    )


def _outgoing(row: OutboxRow) -> Outgoing:
    return Outgoing(
        kind=OutgoingKind(row.kind), target=Conversation.model_validate(row.target), text=row.text,
        ticket_id=row.ticket_id, placement_id=row.placement_id, viewer_role=row.viewer_role,
        language=row.language, ephemeral_user=row.ephemeral_user,
    )


class OutboxStore:
    """Outbox operations of SqlStore (kept apart so the store module stays small)."""

    sessions = None  # provided by SqlStore

    @staticmethod
    def _blocked():
        """An older unsent row for the same conversation exists: this one must wait its turn."""
        older = aliased(OutboxRow)
        return exists().where(older.target_key == OutboxRow.target_key, older.id < OutboxRow.id,
                              older.status.in_([PENDING, SENDING]))

    async def claim_outbox(self, now: datetime, *, limit: int = 50, lease_seconds: float = 60) -> list[OutboxItem]:
        """Claim due rows (a run of several per conversation, in order) by a conditional UPDATE with a lease.

        A row is skipped while an older row of its conversation is still unsent and not itself claimable,
        so one conversation's messages arrive in order; two dispatchers never claim the same row.
        """
        lease = now + timedelta(seconds=lease_seconds)
        claimable = or_(and_(OutboxRow.status == PENDING, OutboxRow.next_attempt_at <= now),
                        and_(OutboxRow.status == SENDING, OutboxRow.lease_until < now))
        async with self.sessions() as session, session.begin():
            candidates = (await session.execute(
                select(OutboxRow.id, OutboxRow.target_key).where(claimable).order_by(OutboxRow.id).limit(limit)
            )).all()
            if not candidates:
                return []
            keys = {key for _id, key in candidates}
            # The oldest unsent row per conversation that we may not send now (backing off, or leased).
            waiting = dict((await session.execute(
                select(OutboxRow.target_key, func.min(OutboxRow.id))
                .where(OutboxRow.target_key.in_(keys), OutboxRow.status.in_([PENDING, SENDING]), ~claimable)
                .group_by(OutboxRow.target_key)
            )).all())
            ids = [row_id for row_id, key in candidates if key not in waiting or row_id < waiting[key]]
            if not ids:
                return []
            rows = (await session.execute(
                update(OutboxRow).where(OutboxRow.id.in_(ids), claimable)
                .values(status=SENDING, lease_until=lease).returning(OutboxRow)
                .execution_options(synchronize_session=False)
            )).scalars().all()
            return [OutboxItem(row.id, _outgoing(row), row.attempts) for row in sorted(rows, key=lambda r: r.id)]

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
            rows = (await session.execute(select(OutboxRow).where(OutboxRow.id.in_(list(refs))))).scalars()
            for row in rows:
                message_ref = refs[row.id]
                row.status, row.sent_at, row.message_ref, row.lease_until = SENT, now, message_ref, None
                if row.kind == OutgoingKind.CARD.value and message_ref and row.ticket_id:
                    target = Conversation.model_validate(row.target)
                    session.add(CardPlacementRow(
                        ticket_id=row.ticket_id, target=row.target, message_ref=message_ref,
                        thread_key=f"{conversation_key(target.thread(None)).rstrip('|')}|{message_ref}",
                        viewer_role=row.viewer_role, language=row.language, created_at=now,
                    ))

    async def outbox_failed(self, item_id: int, *, error: str, retry_at: datetime | None) -> None:
        """Count a failed attempt; retry at `retry_at`, or give up (dead) when None."""
        async with self.sessions() as session, session.begin():
            row = await session.get(OutboxRow, item_id)
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
            row = await session.get(CardPlacementRow, placement_id)
            if row is not None:
                target = Conversation.model_validate(row.target)
                row.message_ref = message_ref
                row.thread_key = f"{conversation_key(target.thread(None)).rstrip('|')}|{message_ref}"

    async def next_outbox_due(self) -> datetime | None:
        """When the next sendable pending row falls due (None when nothing is pending)."""
        async with self.sessions() as session:
            return (await session.execute(
                select(func.min(OutboxRow.next_attempt_at)).where(OutboxRow.status == PENDING, ~self._blocked())
            )).scalar_one_or_none()

    async def outbox_rows(self) -> list[OutboxRow]:
        """Every outbox row (for tests and diagnostics)."""
        async with self.sessions() as session:
            return list((await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars())
