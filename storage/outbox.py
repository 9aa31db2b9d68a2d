"""The outbox: claim due rows with a lease, keep per-conversation order, record sends and failures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.events import Conversation
from bot.ports import OutboxItem, Outgoing, OutgoingKind, Urgency
from bot.subjects import Subject
from storage.mapping import outgoing_from_row, target_key
from storage.tables import CardPlacementRow, OutboxRow

PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"
UNSENT = (PENDING, SENDING)
# Key of the PostgreSQL advisory lock claimers take turns on (any constant; "tbot" in ASCII).
OUTBOX_CLAIM_LOCK = 0x74626F74


def _claimable(row, now: datetime) -> ColumnElement[bool]:
    """Due for (another) attempt: pending and due, or claimed by a dispatcher whose lease ran out."""
    return or_(and_(row.status == PENDING, row.next_attempt_at <= now),
               and_(row.status == SENDING, row.lease_until <= now))


def _folds(message: Outgoing) -> bool:
    """A notice of the sweep about a subject, for everyone in its conversation: plain text, or its card."""
    return (message.urgency is Urgency.NOTICE and message.subject is not None and message.ephemeral_user is None
            and (message.kind is OutgoingKind.CARD or (message.kind is OutgoingKind.TEXT and bool(message.text))))


def _same(kind: str, subject_kind: str | None, subject_id: int | None, target: dict, viewer_role: str,
          language: str) -> tuple:
    return kind, subject_kind, subject_id, json.dumps(target, sort_keys=True), viewer_role, language


async def fold_notices(session: AsyncSession, messages: Sequence[Outgoing]) -> list[Outgoing]:
    """Fold each notice into one of its subject still waiting for its conversation; returns what is left to insert.

    Waiting means pending: not claimed by a dispatcher (e.g. held back by the conversation's pace), so nothing of
    it went out. A text's new lines join the waiting text; a fresh card is dropped when one is waiting (cards are
    drawn at send time: both would show the same). Answers to people never fold.
    Race-free against a claim: the waiting rows are locked as they are read, skipping those a claim has locked
    (PostgreSQL; SQLite's writers take turns), and each fold is an UPDATE … WHERE the row is still pending; a row
    claimed meanwhile is left alone and the message is inserted after all, so no line is lost between the two.
    """
    notices = [m for m in messages if _folds(m)]
    if not notices:
        return list(messages)
    found = (await session.execute(
        select(OutboxRow.id, OutboxRow.kind, OutboxRow.subject_kind, OutboxRow.subject_id, OutboxRow.target,
               OutboxRow.viewer_role, OutboxRow.language, OutboxRow.text)
        .where(OutboxRow.target_key.in_({target_key(m.target) for m in notices}), OutboxRow.status == PENDING,
               OutboxRow.urgency == int(Urgency.NOTICE), OutboxRow.ephemeral_user.is_(None),
               OutboxRow.kind.in_([OutgoingKind.TEXT.value, OutgoingKind.CARD.value]),
               OutboxRow.subject_id.in_({m.subject.id for m in notices}))
        .order_by(OutboxRow.id).with_for_update(skip_locked=True))).all()
    # The newest waiting row of each (kind, subject, conversation, reader): lines keep the order they were said in.
    waiting = {_same(r.kind, r.subject_kind, r.subject_id, r.target, r.viewer_role, r.language): [r.id, r.text or ""]
               for r in found}
    left = []
    for message in messages:
        key = _same(message.kind.value, message.subject.kind.value, message.subject.id,
                    message.target.model_dump(mode="json"), message.viewer_role, message.language) \
            if _folds(message) else None
        row = waiting.get(key)
        if row is not None:
            lines = [line for line in (message.text or "").split("\n") if line and line not in row[1].split("\n")]
            added = "".join("\n" + line for line in lines)
            result = await session.execute(
                update(OutboxRow).where(OutboxRow.id == row[0], OutboxRow.status == PENDING)
                .values(text=OutboxRow.text + added if added else OutboxRow.text)
                .execution_options(synchronize_session=False))
            if result.rowcount == 1:
                row[1] += added
                continue
            del waiting[key]  # claimed after all: this message goes on its own
        left.append(message)
    return left


class OutboxStore:
    """Outbox operations of SqlStore (kept apart so each module stays small)."""

    sessions: async_sessionmaker[AsyncSession]  # provided by SqlStore
    reads: async_sessionmaker[AsyncSession]  # … and its sessions for queries that change nothing

    async def claim_outbox(self, now: datetime, *, limit: int = 20, lease_seconds: float = 60,
                           per_conversation: int | None = None) -> list[OutboxItem]:
        """Claim up to `limit` due rows (at most `per_conversation` of one conversation) by a conditional UPDATE that sets a lease; see the rules below.

        A conversation waits while an older unsent row of it cannot go now (backing off, or leased to another
        dispatcher), so its messages arrive in order. Conversations are taken most urgent first (answers to
        people before card refreshes before reminders), oldest first within an urgency, and each one's run of
        due rows from its oldest, in order; the dispatcher hands back the rest of a run when one fails
        (outbox_release). Two dispatchers never claim the same row. Every read is one indexed, uncorrelated
        query: no per-row NOT EXISTS.
        """
        claimable = _claimable(OutboxRow, now)
        held = select(OutboxRow.target_key).where(OutboxRow.status.in_(UNSENT), not_(claimable)).distinct()
        open_streams = and_(claimable, OutboxRow.target_key.not_in(held))
        async with self.sessions() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                # Claimers take turns: without it two could split one conversation's run (A takes row 1,
                # B, not yet seeing A's claim, takes row 2) and send it out of order. SQLite's writers
                # already take turns (BEGIN IMMEDIATE).
                await session.execute(select(func.pg_advisory_xact_lock(OUTBOX_CLAIM_LOCK)))
            keys = (await session.execute(
                select(OutboxRow.target_key).where(open_streams).group_by(OutboxRow.target_key)
                .order_by(func.min(OutboxRow.urgency), func.min(OutboxRow.id)).limit(limit)
            )).scalars().all()
            if not keys:
                return []
            rank = {key: index for index, key in enumerate(keys)}
            position = func.row_number().over(partition_by=OutboxRow.target_key, order_by=OutboxRow.id)
            runs = select(OutboxRow.id, OutboxRow.target_key, OutboxRow.status, position.label("position")).where(
                claimable, OutboxRow.target_key.in_(keys)).subquery()
            candidates = (await session.execute(
                select(runs.c.id, runs.c.target_key, runs.c.status)
                .where(runs.c.position <= min(per_conversation or limit, max(1, limit // len(keys))))
            )).all()
            # Still 'sending' when claimed again: the previous claim's lease ran out (a crash or a stall between
            # a send and its "sent" mark), so the message may be out already.
            in_doubt = {row.id for row in candidates if row.status == SENDING}
            # Whole conversations first by rank, each from its oldest row: a prefix never leaves a gap in a run.
            ids = [row.id for row in sorted(candidates, key=lambda row: (rank[row.target_key], row.id))][:limit]
            # Still conditional: the row must be claimable at the moment it is written, whatever was read.
            rows = (await session.execute(
                update(OutboxRow).where(OutboxRow.id.in_(ids), _claimable(OutboxRow, now))
                .values(status=SENDING, lease_until=now + timedelta(seconds=lease_seconds))
                .returning(OutboxRow).execution_options(synchronize_session=False)
            )).scalars().all()
            return [OutboxItem(row.id, outgoing_from_row(row), row.attempts, row.created_at, in_doubt=row.id in in_doubt)
                    for row in sorted(rows, key=lambda r: r.id)]

    async def outbox_release(self, item_ids: list[int], *, in_doubt: Sequence[int] = ()) -> None:
        """Hand claimed rows back untouched (an earlier message of their conversation failed); those `in_doubt`
        stay so: claimable at once, and in doubt when claimed again."""
        if not item_ids:
            return
        doubt = set(in_doubt)
        doubtful = [item_id for item_id in item_ids if item_id in doubt]
        certain = [item_id for item_id in item_ids if item_id not in doubt]
        async with self.sessions() as session, session.begin():
            if certain:
                await session.execute(update(OutboxRow).where(OutboxRow.id.in_(certain), OutboxRow.status == SENDING)
                                      .values(status=PENDING, lease_until=None)
                                      .execution_options(synchronize_session=False))
            if doubtful:
                # An expired lease is what marks a row in doubt (claim_outbox): end it at the time the row fell
                # due (already past, so claimable at once) rather than handing it back as pending.
                await session.execute(update(OutboxRow).where(OutboxRow.id.in_(doubtful), OutboxRow.status == SENDING)
                                      .values(lease_until=OutboxRow.next_attempt_at)
                                      .execution_options(synchronize_session=False))

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
                            counts: bool = True, in_doubt: bool = False) -> None:
        """Count a failed attempt (unless `counts` is False: postponed by pacing); retry at `retry_at`, or give up
        (dead) when None; `in_doubt`: it may have gone out all the same, so its next claim is in doubt."""
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
            elif in_doubt:
                # Left 'sending' with a lease that runs out at `retry_at`: claimed then, it is in doubt again.
                row.status, row.next_attempt_at, row.lease_until = SENDING, retry_at, retry_at
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
        # Only the oldest unsent row of each conversation can open its stream; later ones follow it.
        heads = (select(func.min(OutboxRow.id).label("id")).where(OutboxRow.status.in_(UNSENT))
                 .group_by(OutboxRow.target_key).subquery())
        due = case((OutboxRow.status == PENDING, OutboxRow.next_attempt_at), else_=OutboxRow.lease_until)
        async with self.reads() as session:
            return (await session.execute(
                select(func.min(due)).join(heads, heads.c.id == OutboxRow.id)
            )).scalar_one_or_none()

    async def outbox_backlog(self) -> dict[str, int]:
        """Rows per status that are not sent (pending, sending, dead): one grouped count."""
        async with self.reads() as session:
            rows = await session.execute(select(OutboxRow.status, func.count()).where(OutboxRow.status != SENT)
                                         .group_by(OutboxRow.status))
            return dict(rows.all())

    async def outbox_dead(self, *, limit: int = 50) -> tuple[int, list[OutboxRow]]:
        """How many rows were given up, and the newest `limit` of them (for the retry command and diagnostics)."""
        async with self.reads() as session:
            count = (await session.execute(select(func.count()).where(OutboxRow.status == DEAD))).scalar_one()
            rows = (await session.execute(select(OutboxRow).where(OutboxRow.status == DEAD)
                                          .order_by(OutboxRow.id.desc()).limit(limit))).scalars().all()
            return count, list(rows)

    async def outbox_retry_dead(self, now: datetime) -> int:
        """Send every given-up row again (its attempts and wall-clock budget start over); returns how many."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(OutboxRow).where(OutboxRow.status == DEAD)
                .values(status=PENDING, attempts=0, next_attempt_at=now, created_at=now, lease_until=None)
                .execution_options(synchronize_session=False))
            return result.rowcount

    async def outbox_rows(self) -> list[OutboxRow]:
        """Every outbox row (for tests and diagnostics)."""
        async with self.sessions() as session:
            return list((await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars())
