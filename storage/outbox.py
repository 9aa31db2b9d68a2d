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

    def _due(self, now: datetime):
        blocked = self._blocked()
        return and_(
            or_(and_(OutboxRow.status == PENDING, OutboxRow.next_attempt_at <= now),
                and_(OutboxRow.status == SENDING, OutboxRow.lease_until < now)),
            ~blocked,
        )

    async def claim_outbox(self, now: datetime, *, limit: int = 20, lease_seconds: float = 60) -> list[OutboxItem]:
        """Claim due rows by a conditional UPDATE, so two dispatchers never take the same row."""
        lease = now + timedelta(seconds=lease_seconds)
        claimed: list[OutboxItem] = []
        async with self.sessions() as session, session.begin():
            ids = (await session.execute(
                select(OutboxRow.id).where(self._due(now)).order_by(OutboxRow.id).limit(limit)
            )).scalars().all()
            for row_id in ids:
                result = await session.execute(
                    update(OutboxRow).where(OutboxRow.id == row_id, self._due(now))
                    .values(status=SENDING, lease_until=lease).execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:
                    row = await session.get(OutboxRow, row_id)
                    claimed.append(OutboxItem(row.id, _outgoing(row), row.attempts))
        return claimed

    async def outbox_sent(self, item_id: int, *, message_ref: str | None, now: datetime) -> None:
        """Mark a row sent; a posted card becomes a placement to re-render on every change."""
        async with self.sessions() as session, session.begin():
            row = await session.get(OutboxRow, item_id)
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
