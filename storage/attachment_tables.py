"""The attachment tables: one record per file on a ticket, and the bytes by digest (the database content store)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base


class AttachmentRow(Base):
    """A file on a ticket: the timeline entry it came with, who sent it, its digest (one per ticket: a redelivered
    file is not recorded twice)."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("timeline.id"))
    name: Mapped[str] = mapped_column(String(255))
    mime: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(200))
    platform: Mapped[str] = mapped_column(String(16))
    public: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column()

    __table_args__ = (UniqueConstraint("ticket_id", "sha256", name="uq_attachments_ticket_sha256"),
                      Index("ix_attachments_ticket", "ticket_id", "id"))


class AttachmentContentRow(Base):
    """The bytes of attachments in the database (the default content store), kept once per digest."""

    __tablename__ = "attachment_contents"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
