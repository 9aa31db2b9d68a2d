"""Attachment records in a transaction, and the database content store (bytes in a table, on SQLite or
PostgreSQL: every replica sharing the database sees them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attachments import Attachment, Stored
from bot.events import Platform
from storage.attachment_tables import AttachmentContentRow, AttachmentRow
from storage.db import insert_ignoring_conflicts
from storage.tables import TimelineRow


def _attachment(row: AttachmentRow) -> Attachment:
    return Attachment(id=row.id, ticket_id=row.ticket_id, entry_id=row.entry_id, name=row.name, mime=row.mime,
                      size=row.size, sha256=row.sha256, actor=row.actor, platform=Platform(row.platform),
                      public=row.public, at=row.at)


class SqlAttachmentRecords:
    """bot.attachments.AttachmentRecords on the unit of work's session."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def add_attachments(self, *, ticket_id: int, entry_kind: str, files: Sequence[Stored], actor: str,
                              platform: Platform, public: bool, at: datetime) -> list[Attachment]:
        """Put `files` on the ticket with its latest `entry_kind` entry; a digest already on it is skipped."""
        if not files:
            return []
        # The entry this change just appended: changes of one ticket are serialized (version check), so its latest
        # line of the kind is ours.
        entry_id = (await self.session.execute(
            select(func.max(TimelineRow.id)).where(TimelineRow.ticket_id == ticket_id, TimelineRow.kind == entry_kind)
        )).scalar_one_or_none()
        added = []
        for file in {f.sha256: f for f in files}.values():
            result = await self.session.execute(
                insert_ignoring_conflicts(self.session, AttachmentRow.__table__).values(
                    ticket_id=ticket_id, entry_id=entry_id, name=file.name, mime=file.mime, size=file.size,
                    sha256=file.sha256, actor=actor, platform=platform.value, public=public, at=at)
                .returning(AttachmentRow.__table__.c.id))
            new_id = result.scalar_one_or_none()
            if new_id is not None:
                added.append(Attachment(id=new_id, ticket_id=ticket_id, entry_id=entry_id, name=file.name,
                                        mime=file.mime, size=file.size, sha256=file.sha256, actor=actor,
                                        platform=platform, public=public, at=at))
        return added

    async def attachments_of(self, ticket_id: int, *, public_only: bool = False) -> list[Attachment]:
        """The ticket's attachments, oldest first."""
        query = select(AttachmentRow).where(AttachmentRow.ticket_id == ticket_id)
        if public_only:
            query = query.where(AttachmentRow.public.is_(True))
        rows = (await self.session.execute(query.order_by(AttachmentRow.id))).scalars()
        return [_attachment(row) for row in rows]

    async def get_attachments(self, ids: Sequence[int]) -> dict[int, Attachment]:
        """Several attachments by id."""
        if not ids:
            return {}
        rows = (await self.session.execute(select(AttachmentRow).where(AttachmentRow.id.in_(list(ids))))).scalars()
        return {row.id: _attachment(row) for row in rows}


class DatabaseContent:
    """The default content store: bytes in the `attachment_contents` table, once per digest."""

    def __init__(self, store):
        self.store = store  # storage.store.SqlStore: its units of work and read-only snapshots

    async def put(self, sha256: str, data: bytes) -> None:
        """Keep `data` under `sha256` (a second put of the same bytes changes nothing)."""
        async with self.store.unit() as uow:
            await uow.session.execute(insert_ignoring_conflicts(uow.session, AttachmentContentRow.__table__)
                                      .values(sha256=sha256, size=len(data), data=data))

    async def get(self, sha256: str) -> bytes | None:
        """The bytes under `sha256`, or None."""
        async with self.store.snapshot() as uow:
            return (await uow.session.execute(select(AttachmentContentRow.data)
                                              .where(AttachmentContentRow.sha256 == sha256))).scalar_one_or_none()
