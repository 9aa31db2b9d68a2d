"""The local console's messages: posted, updated in place, read by pages polling with a change counter."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.ports import Clock
from storage.db import insert_ignoring_conflicts
from storage.tables import ConsoleMessageRow, KeyValueRow

# Key of the PostgreSQL advisory lock console writers take turns on ("tbcl" in ASCII): a change counter handed
# out in commit order, so a page that has read up to n never misses a change numbered below n.
CONSOLE_LOCK = 0x7462636C
EPOCH_KEY = "console.epoch"


class ConsoleLogStore:
    """Console-message operations of SqlStore (kept apart so each module stays small)."""

    sessions: async_sessionmaker[AsyncSession]  # provided by SqlStore
    reads: async_sessionmaker[AsyncSession]
    clock: Clock

    async def _next_seq(self, session: AsyncSession) -> int:
        # On SQLite writers take turns already (BEGIN IMMEDIATE); on PostgreSQL the lock makes them.
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(select(func.pg_advisory_xact_lock(CONSOLE_LOCK)))
        return (await session.execute(select(func.coalesce(func.max(ConsoleMessageRow.seq), 0)))).scalar_one() + 1

    async def console_post(self, message: dict, *, keep: int) -> str:
        """Store a message (conversation, thread, html, card, ephemeral_user, author, bot); returns its ref."""
        # Only the newest `keep` messages stay: the console is a chat view, not an archive.
        async with self.sessions() as session, session.begin():
            row = ConsoleMessageRow(seq=await self._next_seq(session), posted_at=self.clock.now(), **message)
            session.add(row)
            await session.flush()
            await session.execute(delete(ConsoleMessageRow).where(ConsoleMessageRow.id <= row.id - keep))
            return f"c{row.id}"

    async def console_update(self, ref: str, html: str) -> bool:
        """Replace a message's html under a new change number; False when there is no such message."""
        number = _number(ref)
        if number is None:
            return False
        async with self.sessions() as session, session.begin():
            seq = await self._next_seq(session)
            result = await session.execute(update(ConsoleMessageRow).where(ConsoleMessageRow.id == number)
                                           .values(html=html, seq=seq))
            return result.rowcount == 1

    async def console_read(self, *, viewer: str, conversations: list[str], since: int,
                           limit: int) -> tuple[list[dict], int]:
        """`viewer`'s messages in `conversations` changed after `since` (oldest first), and the newest seq."""
        # The newest change number of the whole log: below a page's own, it tells the page its log is gone.
        async with self.reads() as session, session.begin():
            rows = (await session.execute(
                select(ConsoleMessageRow)
                .where(ConsoleMessageRow.seq > since, ConsoleMessageRow.conversation.in_(conversations),
                       or_(ConsoleMessageRow.ephemeral_user.is_(None), ConsoleMessageRow.ephemeral_user == viewer))
                .order_by(ConsoleMessageRow.seq).limit(limit)
            )).scalars().all()
            latest = (await session.execute(select(func.coalesce(func.max(ConsoleMessageRow.seq), 0)))).scalar_one()
        return [_message(row) for row in rows], latest

    async def console_epoch(self) -> str:
        """The log's identity: made once per database, so a page can tell a new log from the one it read."""
        async with self.sessions() as session, session.begin():
            await session.execute(insert_ignoring_conflicts(session, KeyValueRow)
                                  .values(key=EPOCH_KEY, value=uuid.uuid4().hex))
            return (await session.execute(select(KeyValueRow.value).where(KeyValueRow.key == EPOCH_KEY))).scalar_one()


def _number(ref: str) -> int | None:
    digits = ref[1:] if ref.startswith("c") else ""
    return int(digits) if digits.isdigit() and len(digits) < 10 else None  # an INTEGER column's range


def _message(row: ConsoleMessageRow) -> dict:
    return {"ref": f"c{row.id}", "seq": row.seq, "conversation": row.conversation, "thread": row.thread,
            "html": row.html, "card": row.card, "ephemeral_user": row.ephemeral_user, "author": row.author,
            "bot": row.bot, "at": row.posted_at.isoformat()}
